package examples

import (
	"net/http"
	"testing"
)

// TestAPIResponsesAreNotCached: the answers that carry tokens (sign-in,
// refresh) and errors tell browsers and proxies not to store them; a
// successful GET may be kept by the caller's browser alone, which must
// revalidate it (its ETag) before every use.
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

	profile := s.do(t, http.MethodGet, pathProfile, nil, in.Access)
	if got := profile.Header.Get("Cache-Control"); got != "private, no-cache" || profile.Header.Get("ETag") == "" {
		t.Errorf("GET %s (%d): Cache-Control = %q, ETag %q; want private, no-cache and an ETag",
			pathProfile, profile.Status, got, profile.Header.Get("ETag"))
	}
}
