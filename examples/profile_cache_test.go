package examples

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/modulith/modulith/cmd/server/commands"
	"github.com/modulith/modulith/internal/redistest"
	"github.com/modulith/modulith/modules"
)

// TestPublicProfileCacheOnEveryReplica runs two replicas on one database:
// replica B answers public profiles (what GraphQL's Order.placedBy reads)
// from the auth module's profile cache, and a display name changed through
// replica A is what B answers next. With caches in each replica's memory
// (invalidated over PostgreSQL) and shared in Redis (CACHE_URL).
func TestPublicProfileCacheOnEveryReplica(t *testing.T) {
	t.Parallel()

	for _, backend := range []string{"postgres", "redis"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()

			env := harnessEnv(freshDSN(t))
			if backend == "redis" {
				env = envWith(env, "CACHE_URL", redistest.URL(t), "CACHE_PREFIX", redistest.Prefix(t))
			}

			logs := newLogs()
			prog := commands.Server(modules.All(), modules.GraphQL)
			a := runProgram(t, prog, envWith(env, "SERVICE_NAME", "replica-a"), logs).server
			b := runProgram(t, prog, envWith(env, "SERVICE_NAME", "replica-b"), logs).server

			ada := a.login(t, "ada@example.com")
			id := jsonString(a.do(t, http.MethodGet, pathProfile, nil, ada.Access).JSON(t), "user", "id")

			for _, name := range []string{"Ada", "Ada Lovelace", "Countess of Lovelace"} {
				a.do(t, http.MethodPatch, pathProfile, map[string]string{"display_name": name}, ada.Access).wantOK(t)

				for range 3 { // the first read may load; the others come from the cache
					if got := displayName(t, b, ada.Access, id); got != name {
						t.Fatalf("replica B answered %q after A changed the name to %q", got, name)
					}
				}
			}

			if hits := counter(t, b, "cache_hits_total", `cache="auth.profiles"`); hits < 6 {
				t.Errorf("replica B answered %v profile reads from its cache, want at least 6", hits)
			}
		})
	}
}

// displayName reads the public profile of user id through s.
func displayName(t *testing.T, s *server, access, id string) string {
	t.Helper()

	r := s.do(t, http.MethodGet, "/v1/auth/profiles:batchGet?user_ids="+id, nil, access)
	r.wantOK(t)

	var page struct {
		Profiles []struct {
			ID          string `json:"id"`
			DisplayName string `json:"display_name"`
		} `json:"profiles"`
	}

	if err := json.Unmarshal(r.Body, &page); err != nil || len(page.Profiles) != 1 || page.Profiles[0].ID != id {
		t.Fatalf("profiles:batchGet = %s (%v), want the profile of %s", r.Body, err, id)
	}

	return page.Profiles[0].DisplayName
}
