package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/modulith/modulith/internal/middleware"
	"github.com/modulith/modulith/internal/reqmeta"
)

var generatedID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// serveRequestID runs r through RequestID and returns the response header
// and the request ID and user agent the handler saw.
func serveRequestID(t *testing.T, r *http.Request) (header, id, ua string) {
	t.Helper()

	rec := httptest.NewRecorder()
	middleware.RequestID(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		id = reqmeta.RequestID(r.Context())
		ua = reqmeta.UserAgent(r.Context())
	})).ServeHTTP(rec, r)

	return rec.Header().Get("X-Request-ID"), id, ua
}

func TestRequestID(t *testing.T) {
	tests := []struct {
		name     string
		incoming string
		keep     bool
	}{
		{name: "simple", incoming: "abc-123", keep: true},
		{name: "every allowed character", incoming: "Az09._:-", keep: true},
		{name: "128 characters", incoming: strings.Repeat("a", 128), keep: true},
		{name: "missing", incoming: ""},
		{name: "129 characters", incoming: strings.Repeat("a", 129)},
		{name: "space", incoming: "abc 123"},
		{name: "slash", incoming: "abc/123"},
		{name: "log injection", incoming: "abc\nlevel=ERROR"},
		{name: "non-ASCII", incoming: "abc-é"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil)
			if tt.incoming != "" {
				r.Header.Set("X-Request-ID", tt.incoming)
			}

			header, id, _ := serveRequestID(t, r)

			if header != id {
				t.Errorf("X-Request-ID response header = %q, context has %q", header, id)
			}

			switch {
			case tt.keep && id != tt.incoming:
				t.Errorf("RequestID(%q) = %q, want it kept", tt.incoming, id)
			case !tt.keep && !generatedID.MatchString(id):
				t.Errorf("RequestID(%q) = %q, want 32 hex digits", tt.incoming, id)
			}
		})
	}
}

func TestRequestIDGeneratesDistinctIDs(t *testing.T) {
	_, first, _ := serveRequestID(t, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil))
	_, second, _ := serveRequestID(t, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil))

	if first == second {
		t.Errorf("two requests got the same ID %q", first)
	}
}

func TestRequestIDStoresUserAgent(t *testing.T) {
	tests := []struct {
		name, ua, want string
	}{
		{name: "short", ua: "curl/8.5.0", want: "curl/8.5.0"},
		{name: "missing", ua: "", want: ""},
		{name: "512 bytes", ua: strings.Repeat("a", 512), want: strings.Repeat("a", 512)},
		{name: "truncated", ua: strings.Repeat("a", 600), want: strings.Repeat("a", 512)},
		{name: "not inside a character", ua: strings.Repeat("a", 511) + "é", want: strings.Repeat("a", 511)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil)
			r.Header.Set("User-Agent", tt.ua)

			_, _, ua := serveRequestID(t, r)

			if ua != tt.want {
				t.Errorf("UserAgent = %q (%d bytes), want %q (%d bytes)", ua, len(ua), tt.want, len(tt.want))
			}
		})
	}
}
