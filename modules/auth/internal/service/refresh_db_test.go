package service_test

import (
	"sync"
	"testing"
	"time"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/internal/errors"
)

// tabs is how many exchanges of one refresh token run at once.
const tabs = 4

// refreshAtOnce signs in on a real database and exchanges the refresh
// token from tabs goroutines at once, like tabs of one browser waking
// together; it returns the refresh tokens of the exchanges that succeeded,
// failing the test on any error other than AUTH_TOKEN_REUSED.
func refreshAtOnce(t *testing.T, f *dbFixture) []string {
	t.Helper()

	first := f.signIn(t, testIP).GetTokens().GetRefreshToken()

	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		results [tabs]*authv1.RefreshTokenResponse
		errs    [tabs]error
	)

	for i := range tabs {
		wg.Go(func() {
			<-start

			results[i], errs[i] = f.svc.RefreshToken(fromIP(t, testIP), &authv1.RefreshTokenRequest{RefreshToken: first})
		})
	}

	close(start)
	wg.Wait()

	var succeeded []string

	for i := range tabs {
		switch {
		case errs[i] == nil:
			succeeded = append(succeeded, results[i].GetTokens().GetRefreshToken())
		case !errors.HasCode(errs[i], errors.CodeAuthTokenReused):
			t.Fatalf("tab %d: RefreshToken() = %v, want success or AUTH_TOKEN_REUSED", i, errs[i])
		}
	}

	return succeeded
}

// TestRefreshTokenConcurrentOnPostgres: with a grace, every concurrent
// exchange gets the same successor and the session goes on with it.
func TestRefreshTokenConcurrentOnPostgres(t *testing.T) {
	t.Parallel()

	f := newDBFixture(t, withGrace(grace))

	succeeded := refreshAtOnce(t, f)
	if len(succeeded) != tabs {
		t.Fatalf("%d of %d exchanges succeeded, want all", len(succeeded), tabs)
	}

	for i, r := range succeeded {
		if r != succeeded[0] {
			t.Fatalf("tab %d got refresh token %q, tab 0 %q; want the same successor", i, r, succeeded[0])
		}
	}

	// The successor works: the session is live and rotates on.
	next, err := f.svc.RefreshToken(fromIP(t, testIP), &authv1.RefreshTokenRequest{RefreshToken: succeeded[0]})
	if err != nil {
		t.Fatalf("RefreshToken(successor) = %v, want a new pair", err)
	}

	if next.GetTokens().GetRefreshToken() == succeeded[0] {
		t.Errorf("RefreshToken(successor) returned it again, want its own successor")
	}
}

// TestRefreshTokenConcurrentWithoutGraceOnPostgres: with AUTH_REFRESH_REUSE_GRACE=0
// it behaves as before the grace: one exchange wins, the others count as
// theft and revoke the session, the winner's tokens included.
func TestRefreshTokenConcurrentWithoutGraceOnPostgres(t *testing.T) {
	t.Parallel()

	f := newDBFixture(t, withGrace(0))

	succeeded := refreshAtOnce(t, f)
	if len(succeeded) != 1 {
		t.Fatalf("%d of %d exchanges succeeded, want 1", len(succeeded), tabs)
	}

	_, err := f.svc.RefreshToken(fromIP(t, testIP), &authv1.RefreshTokenRequest{RefreshToken: succeeded[0]})
	wantDomainErr(t, "RefreshToken(winner's successor)", err, errors.TypeUnauthorized, errors.CodeAuthTokenInvalid)
}

// TestRefreshTokenReuseAfterGraceOnPostgres presents a used refresh token
// within the grace (it yields the successor) and after it (theft: the
// session and every token of it are revoked).
func TestRefreshTokenReuseAfterGraceOnPostgres(t *testing.T) {
	t.Parallel()

	f := newDBFixture(t, withGrace(grace))
	first := f.signIn(t, testIP).GetTokens().GetRefreshToken()
	refresh := func(token string) (string, error) {
		resp, err := f.svc.RefreshToken(fromIP(t, testIP), &authv1.RefreshTokenRequest{RefreshToken: token})

		return resp.GetTokens().GetRefreshToken(), err
	}

	second, err := refresh(first)
	if err != nil {
		t.Fatalf("RefreshToken(first) = %v", err)
	}

	f.clock.Advance(grace)

	if again, err := refresh(first); err != nil || again != second {
		t.Fatalf("RefreshToken(first) at the end of the grace = %q, %v; want %q", again, err, second)
	}

	f.clock.Advance(time.Millisecond)

	_, err = refresh(first)
	wantDomainErr(t, "RefreshToken(first) after the grace", err, errors.TypeUnauthorized, errors.CodeAuthTokenReused)

	_, err = refresh(second)
	wantDomainErr(t, "RefreshToken(second) after the theft", err, errors.TypeUnauthorized, errors.CodeAuthTokenInvalid)
}
