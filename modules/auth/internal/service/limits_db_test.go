package service_test

import (
	stderrors "errors"
	"fmt"
	"testing"
	"time"

	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/modules/auth/internal/service"
)

const (
	victimIP   = "198.51.100.10"
	strangerIP = "203.0.113.66"
	victim     = "ana@example.com"
)

// guessFrom makes one wrong guess at victim's sign-in from ip.
func (f *dbFixture) guessFrom(t *testing.T, ip string) error {
	t.Helper()

	_, err := f.svc.CompleteLogin(fromIP(t, ip), completeByEmail(victim, otherCode(f.sent.last())))

	return err
}

// wantLocked fails unless err refuses a check for a cool-down of want.
func wantLocked(t *testing.T, what string, err error, want time.Duration) {
	t.Helper()

	var de *errors.DomainError
	if !stderrors.As(err, &de) || de.Type != errors.TypeRateLimited || de.RetryAfter != want {
		t.Fatalf("%s = %v, want RATE_LIMITED for %s", what, err, want)
	}
}

// attackerIP is the n-th address of an attacker with as many as it wants.
func attackerIP(n int) string { return fmt.Sprintf("10.%d.%d.%d", n>>16&0xff, n>>8&0xff, n&0xff) }

// TestLockoutEscalatesAcrossCodesOnPostgres guesses from a new IP each
// time, so no per-client limit applies, across several codes: every 20
// failures in a window lock the identity out for a cool-down that doubles
// (15m, 30m, 1h), during which even the right code is refused. The
// owner's sign-in clears the failures but not the doubling.
func TestLockoutEscalatesAcrossCodesOnPostgres(t *testing.T) {
	t.Parallel()

	f := newDBFixture(t)
	ip := 0

	for _, coolDown := range []time.Duration{15 * time.Minute, 30 * time.Minute, time.Hour} {
		// A fresh code for each round: the failures span codes.
		if _, err := f.svc.RequestLogin(fromIP(t, victimIP), loginByEmail(victim)); err != nil {
			t.Fatalf("RequestLogin() = %v", err)
		}

		for i := range 20 {
			ip++
			if err := f.guessFrom(t, attackerIP(ip)); !errors.HasCode(err, errors.CodeAuthCodeInvalid) {
				t.Fatalf("guess %d = %v, want AUTH_CODE_INVALID", i+1, err)
			}
		}

		ip++
		wantLocked(t, "a guess from a new IP after 20 failures", f.guessFrom(t, attackerIP(ip)), coolDown)

		_, err := f.svc.CompleteLogin(fromIP(t, victimIP), completeByEmail(victim, f.sent.last()))
		wantLocked(t, "the right code during the cool-down", err, coolDown)

		f.clock.Advance(coolDown)
	}

	// The owner signs in, which clears the failures: 19 more are checked,
	// the 20th locks for the next cool-down, not the first one again.
	f.signIn(t, victimIP)

	for i := range 20 {
		ip++
		if err := f.guessFrom(t, attackerIP(ip)); !errors.HasCode(err, errors.CodeAuthCodeInvalid) {
			t.Fatalf("guess %d after the sign-in = %v, want AUTH_CODE_INVALID", i+1, err)
		}
	}

	ip++
	wantLocked(t, "a guess after the sign-in", f.guessFrom(t, attackerIP(ip)), 2*time.Hour)
}

// TestLockoutCapsManyIPsOnPostgres: an attacker with 200 addresses gets 20
// guesses checked per identity, however it spreads them.
func TestLockoutCapsManyIPsOnPostgres(t *testing.T) {
	t.Parallel()

	f := newDBFixture(t)
	if _, err := f.svc.RequestLogin(fromIP(t, victimIP), loginByEmail(victim)); err != nil {
		t.Fatalf("RequestLogin() = %v", err)
	}

	checked := 0

	for n := range 200 {
		err := f.guessFrom(t, attackerIP(n))

		switch {
		case errors.HasCode(err, errors.CodeAuthCodeInvalid):
			checked++
		case !errors.IsType(err, errors.TypeRateLimited):
			t.Fatalf("guess from %s = %v", attackerIP(n), err)
		}
	}

	if checked != 20 {
		t.Errorf("%d of 200 guesses were checked, want 20 (AUTH_LOCKOUT_FAILURES)", checked)
	}
}

// TestStrangerCannotLockOutVictimOnPostgres: a stranger on one IP spends
// their whole budget for the victim's identity (code requests and
// guesses); the victim's pending code survives, and the victim on their
// own client still completes sign-in, and can ask for a new code.
func TestStrangerCannotLockOutVictimOnPostgres(t *testing.T) {
	t.Parallel()

	f := newDBFixture(t)

	if _, err := f.svc.RequestLogin(fromIP(t, victimIP), loginByEmail(victim)); err != nil {
		t.Fatalf("victim's RequestLogin() = %v", err)
	}

	victimCode := f.sent.last()

	// The stranger asks for codes until refused (each one goes to the
	// victim's inbox, but none revokes the victim's code)...
	untilLimited(t, "stranger's RequestLogin()", 5, "", func() error {
		_, err := f.svc.RequestLogin(fromIP(t, strangerIP), loginByEmail(victim))

		return err
	})

	// ...and guesses until refused, at their own code and then the
	// victim's: a wrong guess from another client costs a code nothing.
	untilLimited(t, "stranger's guess", 8, errors.CodeAuthCodeInvalid, func() error {
		_, err := f.svc.CompleteLogin(fromIP(t, strangerIP), completeByEmail(victim, otherCode(victimCode)))

		return err
	})

	if _, err := f.svc.CompleteLogin(fromIP(t, victimIP), completeByEmail(victim, victimCode)); err != nil {
		t.Fatalf("victim's CompleteLogin(their code) after the stranger = %v, want success", err)
	}

	f.signIn(t, victimIP) // a new code, requested and used
}

// untilLimited calls try until it is RATE_LIMITED, which must happen after
// exactly limit calls that ended with code (success when "").
func untilLimited(t *testing.T, what string, limit int, code errors.Code, try func() error) {
	t.Helper()

	for i := range limit {
		if err := try(); (code == "" && err != nil) || (code != "" && !errors.HasCode(err, code)) {
			t.Fatalf("%s #%d = %v, want %q", what, i+1, err, code)
		}
	}

	if err := try(); !errors.IsType(err, errors.TypeRateLimited) {
		t.Fatalf("%s #%d = %v, want RATE_LIMITED", what, limit+1, err)
	}
}

const ownerNewIP = "198.51.100.77" // a device of the owner's that never signed in

// coolDownByStrangers makes 20 wrong guesses at victim's sign-in, each from
// a new IP, which starts the identity's first cool-down.
func (f *dbFixture) coolDownByStrangers(t *testing.T) {
	t.Helper()

	for n := range 20 {
		if err := f.guessFrom(t, attackerIP(n)); !errors.HasCode(err, errors.CodeAuthCodeInvalid) {
			t.Fatalf("guess from %s = %v, want AUTH_CODE_INVALID", attackerIP(n), err)
		}
	}

	wantLocked(t, "a guess from a new IP after 20 failures", f.guessFrom(t, attackerIP(20)), 15*time.Minute)
}

// completeFrom requests a code for victim from ip and checks it.
func (f *dbFixture) completeFrom(t *testing.T, ip string) error {
	t.Helper()

	if _, err := f.svc.RequestLogin(fromIP(t, ip), loginByEmail(victim)); err != nil {
		t.Fatalf("RequestLogin() from %s = %v", ip, err)
	}

	_, err := f.svc.CompleteLogin(fromIP(t, ip), completeByEmail(victim, f.sent.last()))

	return err
}

// TestKnownClientPassesCoolDownOnPostgres: strangers with many IPs start a
// cool-down; the owner's client that signed in before still requests a
// code and signs in, while a client that never did is refused, and so is
// the known one once its last sign-in is older than AUTH_KNOWN_CLIENT_TTL.
func TestKnownClientPassesCoolDownOnPostgres(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		ip     string
		idle   time.Duration // since the owner's last sign-in from ip
		passes bool
	}{
		{name: "known client", ip: victimIP, passes: true},
		{name: "known client, last sign-in almost at the TTL", ip: victimIP, idle: 90*24*time.Hour - time.Hour, passes: true},
		{name: "known client, last sign-in past the TTL", ip: victimIP, idle: 90*24*time.Hour + time.Minute},
		{name: "unknown client", ip: ownerNewIP},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := newDBFixture(t)
			f.signIn(t, victimIP)
			f.clock.Advance(tt.idle)
			f.coolDownByStrangers(t)

			err := f.completeFrom(t, tt.ip)
			if tt.passes {
				if err != nil {
					t.Fatalf("CompleteLogin(the right code) from %s during the cool-down = %v, want success", tt.ip, err)
				}

				return
			}

			wantLocked(t, "CompleteLogin(the right code) from "+tt.ip+" during the cool-down", err, 15*time.Minute)
		})
	}
}

// TestKnownClientFailuresCountOnPostgres: a known client is not refused by
// the cool-down, but its wrong guesses still count toward the identity's
// failures, and its own budget of checks still applies.
func TestKnownClientFailuresCountOnPostgres(t *testing.T) {
	t.Parallel()

	f := newDBFixture(t)
	f.signIn(t, victimIP) // one of victimIP's 8 checks a day

	for n := range 13 {
		if err := f.guessFrom(t, attackerIP(n)); !errors.HasCode(err, errors.CodeAuthCodeInvalid) {
			t.Fatalf("stranger's guess %d = %v, want AUTH_CODE_INVALID", n+1, err)
		}
	}

	// 7 wrong guesses from the known client (its budget: 8 checks, one
	// spent on the sign-in) bring the failures to 20: a cool-down.
	for i := range 7 {
		if err := f.guessFrom(t, victimIP); !errors.HasCode(err, errors.CodeAuthCodeInvalid) {
			t.Fatalf("known client's guess %d = %v, want AUTH_CODE_INVALID", i+1, err)
		}
	}

	wantLocked(t, "a stranger's guess after the known client's failures", f.guessFrom(t, attackerIP(13)), 15*time.Minute)

	// The known client's 9th check of the day is refused by its budget,
	// until the day's end, not by the cool-down.
	wantLocked(t, "the known client's 9th check", f.guessFrom(t, victimIP), 24*time.Hour-testNow.Sub(dayStart))
}

// TestKnownClientPassesRequestCeilingOnPostgres: strangers on many IPs use
// up the identity's code requests from all clients; a client that never
// signed in is refused a code, the owner's known client still gets one and
// signs in with it.
func TestKnownClientPassesRequestCeilingOnPostgres(t *testing.T) {
	t.Parallel()

	f := newDBFixture(t)
	f.signIn(t, victimIP)

	for n := 0; ; n++ {
		_, err := f.svc.RequestLogin(fromIP(t, attackerIP(n)), loginByEmail(victim))
		if errors.IsType(err, errors.TypeRateLimited) {
			break
		}

		if err != nil || n == 20 {
			t.Fatalf("stranger's RequestLogin() #%d = %v, want RATE_LIMITED by the 20th", n+1, err)
		}
	}

	if _, err := f.svc.RequestLogin(fromIP(t, ownerNewIP), loginByEmail(victim)); !errors.IsType(err, errors.TypeRateLimited) {
		t.Fatalf("RequestLogin() from an unknown client after the ceiling = %v, want RATE_LIMITED", err)
	}

	if err := f.completeFrom(t, victimIP); err != nil {
		t.Fatalf("sign-in from the known client after the ceiling = %v, want success", err)
	}
}

// wrongGuesses makes n guesses from ip, each a wrong code.
func (f *dbFixture) wrongGuesses(t *testing.T, ip string, n int) {
	t.Helper()

	for i := range n {
		if err := f.guessFrom(t, ip); !errors.HasCode(err, errors.CodeAuthCodeInvalid) {
			t.Fatalf("guess %d = %v, want AUTH_CODE_INVALID", i+1, err)
		}
	}
}

// hits is how many requests the rate counters of key hold.
func (f *dbFixture) hits(t *testing.T, key string) int {
	t.Helper()

	var n int
	if err := f.db.Pool.QueryRow(t.Context(), `SELECT coalesce(sum(hits), 0) FROM auth.rate_limits WHERE key = $1`, key).Scan(&n); err != nil {
		t.Fatal(err)
	}

	return n
}

// TestThrottledAttemptsCostNoWrite passes a client's limit of checks, then
// keeps guessing: the refusals are the same (RATE_LIMITED until the
// window ends) but no longer counted, since a spent window cannot recover;
// a second replica counts once before it knows, and the next window counts
// again.
func TestThrottledAttemptsCostNoWrite(t *testing.T) {
	t.Parallel()

	const limit = 3

	f := newDBFixture(t, func(c *service.Config, _ *service.Deps) { c.VerificationsPerIP = limit })
	if _, err := f.svc.RequestLogin(fromIP(t, victimIP), loginByEmail(victim)); err != nil {
		t.Fatalf("RequestLogin() = %v", err)
	}

	ip := attackerIP(7)
	hits := func() int { return f.hits(t, "verify:ip:"+ip) }
	windowEnd := f.clock.Now().Truncate(time.Minute * 15).Add(15 * time.Minute)

	f.wrongGuesses(t, ip, limit)

	for i := range 10 {
		f.clock.Advance(time.Second)
		wantLocked(t, fmt.Sprintf("guess %d over the limit", i+1), f.guessFrom(t, ip), windowEnd.Sub(f.clock.Now()))
	}

	if n := hits(); n != limit+1 {
		t.Errorf("%d hits counted, want %d: the limit's and the one that found it passed", n, limit+1)
	}

	replica, err := service.New(f.cfg, f.deps)
	if err != nil {
		t.Fatal(err)
	}

	for range 3 {
		_, err := replica.CompleteLogin(fromIP(t, ip), completeByEmail(victim, otherCode(f.sent.last())))
		wantLocked(t, "a guess on another replica", err, windowEnd.Sub(f.clock.Now()))
	}

	if n := hits(); n != limit+2 {
		t.Errorf("%d hits counted after the other replica's guesses, want %d", n, limit+2)
	}

	f.clock.Advance(windowEnd.Sub(f.clock.Now()))
	f.wrongGuesses(t, ip, 1) // the next window counts again
}
