package routepolicy_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/modulith/modulith/internal/middleware"
	"github.com/modulith/modulith/internal/routepolicy"
)

// cacheServer serves the harness's gateway (one call, so the route is
// the health check) behind Cache and NoStore, as the server mounts the
// REST gateway; /cookie answers with a cookie, /fail with an error.
func cacheServer(t *testing.T, cacheControl string) string {
	t.Helper()

	h := newHarness(t, routepolicy.Config{CacheControl: cacheControl})
	mux := http.NewServeMux()
	mux.Handle("/", h.gateway(1))
	mux.HandleFunc("/cookie", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Set-Cookie", "a=b")
		_, _ = io.WriteString(w, "{}")
	})
	mux.HandleFunc("/fail", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no", http.StatusNotFound)
	})

	return h.serve(t, h.policy.Cache(middleware.NoStore(mux))).URL
}

func TestETagRoundTrip(t *testing.T) {
	url := cacheServer(t, "")

	first := get(t, url, "Authorization", "Bearer x")

	tag := first.Header.Get("ETag")
	if first.Status != http.StatusOK || !strings.HasPrefix(tag, `"`) || strings.HasPrefix(tag, "W/") {
		t.Fatalf("first GET: status %d, ETag %q; want 200 with a strong ETag", first.Status, tag)
	}

	if got := first.Header.Get("Cache-Control"); got != "private, no-cache" {
		t.Errorf("Cache-Control = %q, want private, no-cache for a caller with credentials", got)
	}

	if got := first.Header.Get("Vary"); !strings.Contains(got, "Authorization") {
		t.Errorf("Vary = %q, want Authorization", got)
	}

	again := get(t, url, "Authorization", "Bearer x", "If-None-Match", `"other", `+tag)
	if again.Status != http.StatusNotModified || len(again.Body) != 0 || again.Header.Get("ETag") != tag {
		t.Errorf("conditional GET: status %d, body %q, ETag %q; want 304, no body, the same ETag", again.Status, again.Body, again.Header.Get("ETag"))
	}

	if stale := get(t, url, "If-None-Match", `"stale"`); stale.Status != http.StatusOK {
		t.Errorf("GET with a stale tag: status %d, want 200", stale.Status)
	}
}

func TestCacheControlFromTheRouteRule(t *testing.T) {
	url := cacheServer(t, "grpc.health.v1.Health/Check=public, max-age=60")

	resp := get(t, url)
	if got := resp.Header.Get("Cache-Control"); got != "public, max-age=60" {
		t.Errorf("Cache-Control = %q, want the rule's public, max-age=60", got)
	}

	if resp.Header.Get("Vary") != "" || resp.Header.Get("Pragma") != "" {
		t.Errorf("anonymous response: Vary %q, Pragma %q; want neither", resp.Header.Get("Vary"), resp.Header.Get("Pragma"))
	}
}

// Errors, responses that set cookies and other methods than GET keep
// no-store and get no ETag.
func TestUncacheableResponsesStayNoStore(t *testing.T) {
	url := cacheServer(t, "default=public, max-age=60")

	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("request: %v", err)
	}

	post := send(t, req)

	for name, resp := range map[string]reply{"error": get(t, url+"/fail"), "cookie": get(t, url+"/cookie"), "POST": post} {
		if resp.Header.Get("ETag") != "" || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: ETag %q, Cache-Control %q; want none and no-store", name, resp.Header.Get("ETag"), resp.Header.Get("Cache-Control"))
		}
	}
}
