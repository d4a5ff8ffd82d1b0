package service_test

import (
	"context"
	stderrors "errors"
	"log/slog"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/events"
	authevents "github.com/modulith/modulith/modules/auth/events"
	"github.com/modulith/modulith/modules/auth/internal/models"
)

// presented is the refresh token a client sends.
const presented = "old-refresh-token-U29tZSByYW5kb20gYnl0ZXM"

func refreshReq() *authv1.RefreshTokenRequest {
	return &authv1.RefreshTokenRequest{RefreshToken: presented}
}

func logoutReq(all bool) *authv1.LogoutRequest { return &authv1.LogoutRequest{AllSessions: all} }

// anaSession is a live session of anaUser.
func anaSession() models.Session {
	return models.Session{
		ID: "sess_01jpana", UserID: anaUser().ID, CreatedAt: testNow.Add(-time.Hour), ExpiresAt: testNow.Add(24 * time.Hour),
		UserAgent: testUserAgent, IPAddress: testIP,
	}
}

func TestRefreshTokenRotates(t *testing.T) {
	t.Parallel()

	f := newFixture(t)
	user, session := anaUser(), anaSession()

	var stored models.RefreshToken

	f.expectTx()
	gomock.InOrder(
		f.tx.EXPECT().UseRefreshToken(gomock.Any(), sha(presented), testNow).Return(session.ID, nil),
		f.tx.EXPECT().Session(gomock.Any(), session.ID).Return(session, nil),
		f.tx.EXPECT().User(gomock.Any(), user.ID).Return(user, nil),
		f.tx.EXPECT().CreateRefreshToken(gomock.Any(), gomock.Any()).
			Do(func(_ context.Context, rt models.RefreshToken) { stored = rt }),
	)

	resp, err := f.svc.RefreshToken(clientCtx(t), refreshReq())
	if err != nil {
		t.Fatalf("RefreshToken() = %v", err)
	}

	f.txs.WantCommitted(t, true)
	wantTokens(t, f, session, stored, resp.GetTokens(), user)

	if resp.GetTokens().GetRefreshToken() == presented {
		t.Errorf("RefreshToken() returned the presented refresh token, want a new one")
	}
}

// TestRefreshTokenRefuses covers every token that cannot be used.
func TestRefreshTokenRefuses(t *testing.T) {
	t.Parallel()

	usedAt := testNow.Add(-time.Minute)
	revoked := anaSession()
	revoked.RevokedAt = &usedAt
	expired := anaSession()
	expired.ExpiresAt = testNow

	tests := []struct {
		name       string
		expect     func(f *fixture)
		want       outcome
		wantEvents []events.Payload
	}{
		{name: "unknown", want: invalidToken, expect: func(f *fixture) {
			expectUnusable(f)
			f.tx.EXPECT().RefreshToken(gomock.Any(), sha(presented)).Return(models.RefreshToken{}, errors.NotFound("refresh token not found"))
		}},
		{name: "expired", want: invalidToken, expect: func(f *fixture) {
			expectUnusable(f)
			f.tx.EXPECT().RefreshToken(gomock.Any(), sha(presented)).Return(models.RefreshToken{SessionID: "sess_01jpana", ExpiresAt: testNow}, nil)
		}},
		{
			name: "used before", want: reusedToken, wantEvents: []events.Payload{sessionRevoked(anaUser().ID, "sess_01jpana")},
			expect: func(f *fixture) { expectReuse(f, usedAt, true, nil) },
		},
		{name: "used before, session already ended", want: reusedToken, expect: func(f *fixture) {
			expectReuse(f, usedAt, false, nil)
		}},
		{name: "session revoked", want: invalidToken, expect: func(f *fixture) {
			f.tx.EXPECT().UseRefreshToken(gomock.Any(), sha(presented), testNow).Return(revoked.ID, nil)
			f.tx.EXPECT().Session(gomock.Any(), revoked.ID).Return(revoked, nil)
		}},
		{name: "session expired", want: invalidToken, expect: func(f *fixture) {
			f.tx.EXPECT().UseRefreshToken(gomock.Any(), sha(presented), testNow).Return(expired.ID, nil)
			f.tx.EXPECT().Session(gomock.Any(), expired.ID).Return(expired, nil)
		}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			// The strict mock fails on any token issued or session revoked
			// beyond the expectations.
			f := newFixture(t)
			f.expectTx()
			tt.expect(f)

			resp, err := f.svc.RefreshToken(clientCtx(t), refreshReq())
			wantOutcome(t, "RefreshToken", err, tt.want)

			if resp != nil || len(f.tokens.issued()) != 0 {
				t.Errorf("RefreshToken() = %v, issued %v; want nothing", resp, f.tokens.issued())
			}

			f.txs.WantCommitted(t, true)
			f.txs.WantPublished(t, tt.wantEvents...)
		})
	}
}

// expectUnusable expects the presented token to be refused for use.
func expectUnusable(f *fixture) {
	f.tx.EXPECT().UseRefreshToken(gomock.Any(), sha(presented), testNow).Return("", errors.NotFound("refresh token not found"))
}

// expectReuse expects the presented token to turn out used at usedAt and
// its session, anaSession, to be revoked in the transaction (live: it was
// still live); a live session's end is announced, answering publishErr.
func expectReuse(f *fixture, usedAt time.Time, live bool, publishErr error) {
	session := anaSession()
	calls := []any{
		f.tx.EXPECT().UseRefreshToken(gomock.Any(), sha(presented), testNow).Return("", errors.NotFound("refresh token not found")),
		f.tx.EXPECT().RefreshToken(gomock.Any(), sha(presented)).Return(models.RefreshToken{SessionID: session.ID, UsedAt: &usedAt}, nil),
		f.tx.EXPECT().Session(gomock.Any(), session.ID).Return(session, nil),
		f.tx.EXPECT().RevokeSession(gomock.Any(), session.ID, testNow).Return(live, nil),
	}

	if live {
		calls = append(calls, f.expectPublish(publishErr))
	}

	gomock.InOrder(calls...)
}

func sessionRevoked(userID, sessionID string) authevents.SessionRevoked {
	return authevents.SessionRevoked{UserID: userID, SessionID: sessionID}
}

func TestRefreshTokenReuseIsLogged(t *testing.T) {
	t.Parallel()

	usedAt := testNow.Add(-time.Minute)
	f := newFixture(t)
	f.expectTx()
	expectReuse(f, usedAt, true, nil)

	if _, err := f.svc.RefreshToken(clientCtx(t), refreshReq()); err == nil {
		t.Fatal("RefreshToken() = nil error, want AUTH_TOKEN_REUSED")
	}

	logged := f.logs.Entries()
	if len(logged) != 1 || logged[0].Level != slog.LevelWarn || logged[0].String("session_id") != "sess_01jpana" {
		t.Errorf("logged %+v, want one warning naming session sess_01jpana", logged)
	}
}

// TestRefreshTokenStoreErrors checks a failing step's error comes back as
// is and rolls the transaction back.
func TestRefreshTokenStoreErrors(t *testing.T) {
	t.Parallel()

	usedAt := testNow.Add(-time.Minute)
	session := anaSession()

	tests := []struct {
		name   string
		expect func(f *fixture)
	}{
		{name: "use token", expect: func(f *fixture) {
			f.tx.EXPECT().UseRefreshToken(gomock.Any(), gomock.Any(), gomock.Any()).Return("", errStore)
		}},
		{name: "token lookup", expect: func(f *fixture) {
			expectUnusable(f)
			f.tx.EXPECT().RefreshToken(gomock.Any(), gomock.Any()).Return(models.RefreshToken{}, errStore)
		}},
		{name: "session lookup on reuse", expect: func(f *fixture) {
			expectUnusable(f)
			f.tx.EXPECT().RefreshToken(gomock.Any(), gomock.Any()).Return(models.RefreshToken{SessionID: session.ID, UsedAt: &usedAt}, nil)
			f.tx.EXPECT().Session(gomock.Any(), session.ID).Return(models.Session{}, errStore)
		}},
		{name: "revoke on reuse", expect: func(f *fixture) {
			expectUnusable(f)
			f.tx.EXPECT().RefreshToken(gomock.Any(), gomock.Any()).Return(models.RefreshToken{SessionID: session.ID, UsedAt: &usedAt}, nil)
			f.tx.EXPECT().Session(gomock.Any(), session.ID).Return(session, nil)
			f.tx.EXPECT().RevokeSession(gomock.Any(), gomock.Any(), gomock.Any()).Return(false, errStore)
		}},
		{name: "publish on reuse", expect: func(f *fixture) {
			// The revocation rolls back with its event: the next reuse
			// detects the theft again and retries both.
			expectReuse(f, usedAt, true, errStore)
		}},
		{name: "session lookup", expect: func(f *fixture) {
			f.tx.EXPECT().UseRefreshToken(gomock.Any(), gomock.Any(), gomock.Any()).Return(session.ID, nil)
			f.tx.EXPECT().Session(gomock.Any(), gomock.Any()).Return(models.Session{}, errStore)
		}},
		{name: "user lookup", expect: func(f *fixture) {
			f.tx.EXPECT().UseRefreshToken(gomock.Any(), gomock.Any(), gomock.Any()).Return(session.ID, nil)
			f.tx.EXPECT().Session(gomock.Any(), gomock.Any()).Return(session, nil)
			f.tx.EXPECT().User(gomock.Any(), gomock.Any()).Return(models.User{}, errStore)
		}},
		{name: "new token", expect: func(f *fixture) {
			f.tx.EXPECT().UseRefreshToken(gomock.Any(), gomock.Any(), gomock.Any()).Return(session.ID, nil)
			f.tx.EXPECT().Session(gomock.Any(), gomock.Any()).Return(session, nil)
			f.tx.EXPECT().User(gomock.Any(), gomock.Any()).Return(anaUser(), nil)
			f.tx.EXPECT().CreateRefreshToken(gomock.Any(), gomock.Any()).Return(errStore)
		}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := newFixture(t)
			f.expectTx()
			tt.expect(f)

			_, err := f.svc.RefreshToken(clientCtx(t), refreshReq())
			wantOutcome(t, "RefreshToken", err, failedAsIs)
			f.txs.WantCommitted(t, false)
		})
	}
}

func TestRefreshTokenAccessTokenFails(t *testing.T) {
	t.Parallel()

	f := newFixture(t)
	f.tokens.err = errStore
	session := anaSession()

	f.expectTx()
	f.tx.EXPECT().UseRefreshToken(gomock.Any(), gomock.Any(), gomock.Any()).Return(session.ID, nil)
	f.tx.EXPECT().Session(gomock.Any(), gomock.Any()).Return(session, nil)
	f.tx.EXPECT().User(gomock.Any(), gomock.Any()).Return(anaUser(), nil)
	f.tx.EXPECT().CreateRefreshToken(gomock.Any(), gomock.Any())

	_, err := f.svc.RefreshToken(clientCtx(t), refreshReq())
	wantDomainErr(t, "RefreshToken", err, errors.TypeInternal, errors.CodeInternal)
}

// TestLogout checks the caller's session, or all its sessions, end in one
// transaction that announces each session it ended.
func TestLogout(t *testing.T) {
	t.Parallel()

	ids := []string{callerSession, "sess_01jpphone", "sess_01jplaptop"}

	tests := []struct {
		name   string
		all    bool
		expect func(f *fixture)
		want   int32 // sessions revoked, on success
		err    error
		events []events.Payload // published, committed or not
	}{
		{
			name: "this session", want: 1, events: []events.Payload{sessionRevoked(callerID, callerSession)},
			expect: func(f *fixture) { expectLogout(f, true, nil, nil) },
		},
		{name: "this session already ended", expect: func(f *fixture) { expectLogout(f, false, nil, nil) }},
		{name: "this session, store down", err: errStore, expect: func(f *fixture) { expectLogout(f, false, errStore, nil) }},
		{
			name: "this session, publish fails", err: errStore, events: []events.Payload{sessionRevoked(callerID, callerSession)},
			expect: func(f *fixture) { expectLogout(f, true, nil, errStore) },
		},
		{
			name: "all sessions", all: true, want: 3, events: revokedEvents(ids...),
			expect: func(f *fixture) { expectLogoutAll(f, ids, nil, nil, nil, nil) },
		},
		{name: "all sessions, none live", all: true, expect: func(f *fixture) { expectLogoutAll(f, nil, nil) }},
		{name: "all sessions, store down", all: true, err: errStore, expect: func(f *fixture) { expectLogoutAll(f, nil, errStore) }},
		{
			// The first event is stored, the second is not: the whole
			// logout rolls back and the third is never attempted.
			name: "all sessions, second publish fails", all: true, err: errStore, events: revokedEvents(ids[:2]...),
			expect: func(f *fixture) { expectLogoutAll(f, ids, nil, nil, errStore) },
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := newFixture(t)
			f.expectTx()
			tt.expect(f)

			resp, err := f.svc.Logout(asCaller(t, callerID, "user"), logoutReq(tt.all))
			if !stderrors.Is(err, tt.err) || resp.GetRevoked() != tt.want {
				t.Errorf("Logout(all=%t) = %v, %v; want revoked %d, error %v", tt.all, resp, err, tt.want, tt.err)
			}

			f.txs.WantCommitted(t, tt.err == nil)
			f.txs.WantPublished(t, tt.events...)
		})
	}
}

// expectLogout expects the caller's session to be revoked in the
// transaction (live: it was live; revokeErr: the store failed) and, when it
// ended, its end announced, answering publishErr.
func expectLogout(f *fixture, live bool, revokeErr, publishErr error) {
	revoke := f.tx.EXPECT().RevokeSession(gomock.Any(), callerSession, testNow).Return(live, revokeErr)
	if live && revokeErr == nil {
		f.expectPublish(publishErr).After(revoke)
	}
}

// expectLogoutAll expects the caller's sessions to be revoked in the
// transaction, ending live (or failing with revokeErr), then one
// publication per answer in publishErrs, in order.
func expectLogoutAll(f *fixture, live []string, revokeErr error, publishErrs ...error) {
	calls := []any{f.tx.EXPECT().RevokeUserSessions(gomock.Any(), callerID, testNow).Return(live, revokeErr)}
	for _, err := range publishErrs {
		calls = append(calls, f.expectPublish(err))
	}

	gomock.InOrder(calls...)
}

func revokedEvents(sessionIDs ...string) []events.Payload {
	var out []events.Payload
	for _, id := range sessionIDs {
		out = append(out, sessionRevoked(callerID, id))
	}

	return out
}

func TestLogoutRequiresIdentity(t *testing.T) {
	t.Parallel()

	for _, all := range []bool{false, true} {
		f := newFixture(t)

		_, err := f.svc.Logout(clientCtx(t), logoutReq(all))
		wantDomainErr(t, "Logout", err, errors.TypeUnauthorized, errors.CodeAuthRequired)
	}
}
