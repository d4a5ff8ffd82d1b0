package service_test

import (
	stderrors "errors"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/modules/auth/internal/repository/mocks"
)

func TestCheckSession(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name     string
		role     string
		repoErr  error
		wantRole string
		wantType errors.Type
		wantCode errors.Code
	}{
		{name: "live session", role: "admin", wantRole: "admin"},
		{name: "ended or unknown", repoErr: errors.NotFound("session not found"), wantType: errors.TypeUnauthorized, wantCode: errors.CodeAuthTokenInvalid},
		{name: "store down", repoErr: errStore, wantType: errors.TypeUnavailable, wantCode: errors.CodeUnavailable},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := newFixture(t)
			f.repo.EXPECT().CheckSession(gomock.Any(), callerSession, callerID, testNow).Return(tt.role, tt.repoErr)

			role, err := f.svc.CheckSession(t.Context(), callerSession, callerID)
			if tt.wantCode != "" {
				wantDomainErr(t, "CheckSession", err, tt.wantType, tt.wantCode)
			} else if err != nil {
				t.Fatalf("CheckSession() = %v", err)
			}

			if role != tt.wantRole {
				t.Errorf("CheckSession() role = %q, want %q", role, tt.wantRole)
			}
		})
	}
}

func TestCleanupSessions(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		n       int64
		repoErr error
	}{
		{name: "deleted", n: 4},
		{name: "store down", repoErr: errStore},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := newFixture(t)
			f.repo.EXPECT().DeleteEndedSessions(gomock.Any(), testNow.Add(-7*24*time.Hour)).Return(tt.n, tt.repoErr)

			n, err := f.svc.CleanupSessions(t.Context())
			if n != tt.n || !stderrors.Is(err, tt.repoErr) {
				t.Errorf("CleanupSessions() = %d, %v; want %d, %v", n, err, tt.n, tt.repoErr)
			}
		})
	}
}

func TestCleanupMagicCodes(t *testing.T) {
	t.Parallel()

	codeCutoff := testNow.Add(-7 * 24 * time.Hour)
	rateCutoff := testNow.Add(-24 * time.Hour)       // the longest window: AUTH_LOCKOUT_WINDOW
	knownCutoff := testNow.Add(-90 * 24 * time.Hour) // AUTH_KNOWN_CLIENT_TTL

	// The deletions, in order; each returns what it deleted and err.
	steps := []func(r *mocks.MockRepository, err error){
		func(r *mocks.MockRepository, err error) {
			r.EXPECT().DeleteExpiredMagicCodes(gomock.Any(), codeCutoff).Return(int64(3), err)
		},
		func(r *mocks.MockRepository, err error) {
			r.EXPECT().DeleteRateLimitsBefore(gomock.Any(), rateCutoff).Return(int64(9), err)
		},
		func(r *mocks.MockRepository, err error) {
			r.EXPECT().DeleteLoginLockoutsBefore(gomock.Any(), codeCutoff).Return(int64(2), err)
		},
		func(r *mocks.MockRepository, err error) {
			r.EXPECT().DeleteLoginKnownClientsBefore(gomock.Any(), knownCutoff).Return(int64(4), err)
		},
		func(r *mocks.MockRepository, err error) {
			r.EXPECT().DeleteExpiredOAuthStates(gomock.Any(), testNow).Return(int64(5), err)
		},
		func(r *mocks.MockRepository, err error) {
			r.EXPECT().DeleteExpiredOAuthExchangeCodes(gomock.Any(), testNow).Return(int64(6), err)
		},
	}

	tests := []struct {
		name    string
		failAt  int // the step that fails; len(steps) for none
		want    int64
		wantErr error
	}{
		{name: "deleted", failAt: len(steps), want: 3},
		{name: "codes fail", failAt: 0, wantErr: errStore},
		{name: "rate limits fail", failAt: 1, want: 3, wantErr: errStore},
		{name: "lockouts fail", failAt: 2, want: 3, wantErr: errStore},
		{name: "known clients fail", failAt: 3, want: 3, wantErr: errStore},
		{name: "oauth states fail", failAt: 4, want: 3, wantErr: errStore},
		{name: "oauth exchange codes fail", failAt: 5, want: 3, wantErr: errStore},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := newFixture(t)

			for i, step := range steps[:min(tt.failAt+1, len(steps))] {
				if i == tt.failAt {
					step(f.repo, errStore)
				} else {
					step(f.repo, nil)
				}
			}

			n, err := f.svc.CleanupMagicCodes(t.Context())
			if n != tt.want || !stderrors.Is(err, tt.wantErr) {
				t.Errorf("CleanupMagicCodes() = %d, %v; want %d, %v", n, err, tt.want, tt.wantErr)
			}
		})
	}
}
