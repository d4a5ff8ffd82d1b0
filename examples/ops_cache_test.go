package examples

import (
	"net/http"
	"testing"
)

// TestAPIResponsesAreNotCached: the answers that carry tokens (sign-in,
// refresh) and every other API answer, errors included, tell browsers and
// proxies not to store them.
func TestAPIResponsesAreNotCached(t *testing.T) {
	t.Parallel()

	s := startServer(t, nil)
	in := signInEmail(t, s, "nostore@example.com")

	sent := s.logs.codeCount("nostore@example.com")
	request := s.post(t, pathLoginRequest, map[string]string{"email": "nostore@example.com"}, nil)
	complete := s.post(t, pathLoginComplete,
		map[string]string{"email": "nostore@example.com", "code": s.nextCode(t, "nostore@example.com", sent)}, nil)
	refreshed := refresh(t, s, in.Refresh)

	responses := map[string]response{
		"POST " + pathLoginRequest:           request,
		"POST " + pathLoginComplete:          complete,
		"POST " + pathRefresh:                refreshed,
		"GET " + pathProfile:                 s.do(t, http.MethodGet, pathProfile, nil, in.Access),
		"GET " + pathProfile + " (no token)": s.do(t, http.MethodGet, pathProfile, nil, ""),
	}
	for name, r := range responses {
		if got := r.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s (%d): Cache-Control = %q, want no-store", name, r.Status, got)
		}

		if got := r.Header.Get("Pragma"); got != "no-cache" {
			t.Errorf("%s (%d): Pragma = %q, want no-cache", name, r.Status, got)
		}
	}

	complete.wantOK(t)
	refreshed.wantOK(t)
}
