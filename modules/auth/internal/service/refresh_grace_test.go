package service_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/modules/auth/internal/models"
	"github.com/modulith/modulith/modules/auth/internal/service"
)

// grace is the reuse grace of these tests.
const grace = 10 * time.Second

func withGrace(d time.Duration) func(*service.Config, *service.Deps) {
	return func(c *service.Config, _ *service.Deps) { c.RefreshReuseGrace = d }
}

// TestRefreshTokenReuseGrace covers a used token presented again: within
// the grace, while the successor it was exchanged for is unused, it yields
// that successor and the session goes on; otherwise the session is revoked.
func TestRefreshTokenReuseGrace(t *testing.T) {
	t.Parallel()

	session := anaSession()
	unused := models.RefreshToken{SessionID: session.ID, CreatedAt: testNow.Add(-time.Second), ExpiresAt: session.ExpiresAt}
	usedAt := testNow.Add(-time.Second)
	used := unused
	used.UsedAt = &usedAt
	otherSession := unused
	otherSession.SessionID = "sess_01jpother"

	tests := []struct {
		name      string
		grace     time.Duration
		usedAgo   time.Duration
		successor *models.RefreshToken // nil: not found
		want      outcome
	}{
		{name: "within the grace", grace: grace, usedAgo: 3 * time.Second, successor: &unused, want: succeeded},
		{name: "at the end of the grace", grace: grace, usedAgo: grace, successor: &unused, want: succeeded},
		{name: "after the grace", grace: grace, usedAgo: grace + time.Microsecond, want: reusedToken},
		{name: "grace 0", usedAgo: time.Microsecond, want: reusedToken},
		{name: "successor used too", grace: grace, usedAgo: time.Second, successor: &used, want: reusedToken},
		{name: "successor of another session", grace: grace, usedAgo: time.Second, successor: &otherSession, want: reusedToken},
		{name: "successor unknown", grace: grace, usedAgo: time.Second, want: reusedToken},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := newFixture(t, withGrace(tt.grace))
			f.expectTx()

			asked, wantEvents := expectReplay(f, session, testNow.Add(-tt.usedAgo), tt.grace > 0 && tt.usedAgo <= tt.grace, tt.successor, tt.want == succeeded)

			resp, err := f.svc.RefreshToken(clientCtx(t), refreshReq())
			wantOutcome(t, "RefreshToken", err, tt.want)
			f.txs.WantCommitted(t, true)
			f.txs.WantPublished(t, wantEvents...)

			if tt.want != succeeded {
				return
			}

			// The answer is the successor the first exchange stored (asked
			// for by hash), with a fresh access token for the session.
			if got := resp.GetTokens(); !bytes.Equal(sha(got.GetRefreshToken()), *asked) || got.GetAccessToken() != accessToken(anaUser().ID, session.ID, anaUser().Role) {
				t.Errorf("RefreshToken() tokens = %v, want the successor with hash %x and a fresh access token", got, *asked)
			}
		})
	}
}

// TestRefreshTokenSuccessorIsDerived checks the successor a token is
// exchanged for is the one a replay within the grace asks for, differs
// from the token, and depends on the refresh key.
func TestRefreshTokenSuccessorIsDerived(t *testing.T) {
	t.Parallel()

	exchange := func(key []byte) string {
		f := newFixture(t, func(_ *service.Config, d *service.Deps) { d.RefreshKey = keyring{current: key} })
		session := anaSession()

		f.expectTx()
		f.tx.EXPECT().UseRefreshToken(gomock.Any(), sha(presented), testNow).Return(session.ID, nil)
		f.tx.EXPECT().Session(gomock.Any(), session.ID).Return(session, nil)
		f.tx.EXPECT().User(gomock.Any(), session.UserID).Return(anaUser(), nil)
		f.tx.EXPECT().CreateRefreshToken(gomock.Any(), gomock.Any())

		resp, err := f.svc.RefreshToken(clientCtx(t), refreshReq())
		if err != nil {
			t.Fatalf("RefreshToken() = %v", err)
		}

		return resp.GetTokens().GetRefreshToken()
	}

	first, again, otherKey := exchange(testRefreshKey()), exchange(testRefreshKey()), exchange(bytes.Repeat([]byte{1}, 32))
	if first != again || first == presented || first == otherKey || len(first) < 43 {
		t.Errorf("successors %q, %q (same key), %q (other key) of %q; want equal, new, key-dependent, 256 bits", first, again, otherKey, presented)
	}
}

func expectUnusableCall(f *fixture) *gomock.Call {
	return f.tx.EXPECT().UseRefreshToken(gomock.Any(), sha(presented), testNow).Return("", errors.NotFound("refresh token not found"))
}

// expectReplay expects the presented token, used at usedAt in session, to
// be checked for a replay: its successor looked up when inGrace (found as
// successor, nil for not found), then the session going on when replayed
// or revoked otherwise. It returns where the successor's hash asked for
// will be, and the events the revocation publishes.
func expectReplay(f *fixture, session models.Session, usedAt time.Time, inGrace bool, successor *models.RefreshToken, replayed bool) (*[]byte, []events.Payload) {
	calls := []any{
		expectUnusableCall(f),
		f.tx.EXPECT().RefreshToken(gomock.Any(), sha(presented)).Return(models.RefreshToken{SessionID: session.ID, UsedAt: &usedAt}, nil),
		f.tx.EXPECT().Session(gomock.Any(), session.ID).Return(session, nil),
	}

	asked := new([]byte)

	if inGrace {
		calls = append(calls, f.tx.EXPECT().RefreshToken(gomock.Any(), gomock.Not(sha(presented))).DoAndReturn(
			func(_ context.Context, hash []byte) (models.RefreshToken, error) {
				*asked = hash

				if successor == nil {
					return models.RefreshToken{}, errors.NotFound("refresh token not found")
				}

				return *successor, nil
			}))
	}

	if replayed {
		gomock.InOrder(append(calls, f.tx.EXPECT().User(gomock.Any(), session.UserID).Return(anaUser(), nil))...)

		return asked, nil
	}

	gomock.InOrder(append(calls, f.tx.EXPECT().RevokeSession(gomock.Any(), session.ID, testNow).Return(true, nil), f.expectPublish(nil))...)

	return asked, []events.Payload{sessionRevoked(anaUser().ID, session.ID)}
}
