package examples

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/modulith/modulith/cmd/server/commands"
	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/redistest"
	"github.com/modulith/modulith/modules"
)

// TestSessionCacheRevocationOnEveryReplica runs two replicas on one
// database, each keeping session checks in memory (SESSION_CACHE_TTL):
// a session that ends through replica A (logout, revocation of one
// session by another, logout everywhere, a refresh token replayed) is
// refused by replica B on the very next request, though B had just
// answered it from its cache. Many times over, with invalidations over
// PostgreSQL and over Redis (CACHE_URL).
func TestSessionCacheRevocationOnEveryReplica(t *testing.T) {
	t.Parallel()

	for _, backend := range []string{"postgres", "redis"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()

			env := envWith(harnessEnv(freshDSN(t)), "SESSION_CACHE_TTL", "10m",
				// Every round signs in from 127.0.0.1.
				"AUTH_RATE_REQUESTS_PER_IP", "100000", "AUTH_RATE_VERIFICATIONS_PER_IP", "100000",
				// A refresh token replayed at once is theft, not two tabs.
				"AUTH_REFRESH_REUSE_GRACE", "0s")
			if backend == "redis" {
				env = envWith(env, "CACHE_URL", redistest.URL(t), "CACHE_PREFIX", redistest.Prefix(t))
			}

			logs := newLogs()
			prog := commands.Server(modules.All(), modules.GraphQL)
			a := runProgram(t, prog, envWith(env, "SERVICE_NAME", "replica-a"), logs)
			b := runProgram(t, prog, envWith(env, "SERVICE_NAME", "replica-b"), logs)

			const rounds = 8

			for i := range rounds {
				endAndRefuse(t, a.server, b.server, i)
			}

			if hits := counter(t, b.server, "cache_hits_total", `cache="authn.sessions"`); hits < rounds*4 {
				t.Errorf("replica B answered %v session checks from its cache, want at least %d: the test proves nothing without the cache", hits, rounds*4)
			}
		})
	}
}

// endAndRefuse ends a session through replica a in every way, each time
// right after replica b cached its check, and checks b refuses it at once.
func endAndRefuse(t *testing.T, a, b *server, round int) {
	t.Helper()

	for _, end := range sessionEndings(t, a) {
		who := fmt.Sprintf("%s-%d@example.com", end.name, round)
		victim := end.run(t, who, func(access string) { warm(t, b, access) })

		b.do(t, http.MethodGet, pathProfile, nil, victim).wantError(t, http.StatusUnauthorized, errors.CodeAuthTokenInvalid)
	}
}

// sessionEnding ends a session through replica A: run signs in as who,
// calls warm with the access token of the session it is about to end
// while it is live, ends it, and returns that token.
type sessionEnding struct {
	name string
	run  func(t *testing.T, who string, warm func(access string)) string
}

func sessionEndings(t *testing.T, a *server) []sessionEnding {
	t.Helper()

	in := func(who, agent string) signedIn {
		return signIn(t, a, map[string]string{"email": who}, who, agent)
	}

	return []sessionEnding{
		{"logout", func(t *testing.T, who string, warm func(string)) string {
			s := in(who, "laptop/1")
			warm(s.Access)
			a.do(t, http.MethodPost, pathLogout, map[string]any{}, s.Access).wantOK(t)

			return s.Access
		}},
		{"revoke", func(t *testing.T, who string, warm func(string)) string {
			lost, kept := in(who, "phone/1"), in(who, "laptop/1")
			warm(lost.Access)

			sid, _ := claimsOf(t, lost.Access)["sid"].(string)
			a.do(t, http.MethodDelete, pathSessions+"/"+sid, nil, kept.Access).wantOK(t)

			return lost.Access
		}},
		{"logout-all", func(t *testing.T, who string, warm func(string)) string {
			other, s := in(who, "phone/1"), in(who, "laptop/1")
			warm(other.Access)
			a.do(t, http.MethodPost, pathLogout, map[string]bool{"all_sessions": true}, s.Access).wantOK(t)

			return other.Access
		}},
		{"refresh-reuse", func(t *testing.T, who string, warm func(string)) string {
			s := in(who, "laptop/1")
			refresh(t, a, s.Refresh).wantOK(t)
			warm(s.Access)
			// Replayed (no grace here): theft, which revokes the session.
			refresh(t, a, s.Refresh)

			return s.Access
		}},
	}
}

// warm makes replica s check the session of access twice: the second
// answer comes from its cache.
func warm(t *testing.T, s *server, access string) {
	t.Helper()

	for range 2 {
		s.do(t, http.MethodGet, pathProfile, nil, access).wantOK(t)
	}
}

// counter returns the sum of the series of a counter on s's /metrics
// whose labels contain label.
func counter(t *testing.T, s *server, name, label string) float64 {
	t.Helper()

	r := s.admin(t, "/metrics")

	var sum float64

	for line := range strings.Lines(string(r.Body)) {
		if !strings.HasPrefix(line, name+"{") || !strings.Contains(line, label) {
			continue
		}

		fields := strings.Fields(line)

		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			t.Fatalf("/metrics line %q: %v", line, err)
		}

		sum += v
	}

	return sum
}
