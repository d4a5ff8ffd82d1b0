package examples

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/modulith/modulith/internal/errors"
)

const (
	allowedOrigin = "https://app.example.com"
	otherOrigin   = "https://evil.example.com"
)

// generatedRequestID is the form of the IDs the server makes up.
var generatedRequestID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// TestHTTPHardening checks what every browser-facing response carries:
// security headers, CORS for the allowed origin only, a request ID that
// ties a client's report to the access log; and the dev-only Swagger UI.
func TestHTTPHardening(t *testing.T) {
	t.Parallel()

	s := startServer(t, map[string]string{"CORS_ALLOWED_ORIGINS": allowedOrigin})

	t.Run("security headers", func(t *testing.T) {
		t.Parallel()

		for _, path := range []string{"/livez", profilePath} {
			checkSecurityHeaders(t, path, s.sendReq(t, s.newReq(t, http.MethodGet, path)).Header)
		}
	})
	t.Run("CORS", func(t *testing.T) {
		t.Parallel()
		checkCORS(t, s)
	})
	t.Run("request ID", func(t *testing.T) {
		t.Parallel()
		checkRequestID(t, s)
	})
	t.Run("Swagger UI in dev", func(t *testing.T) {
		t.Parallel()
		checkSwagger(t, s)
	})
}

func checkSecurityHeaders(t *testing.T, path string, h http.Header) {
	t.Helper()

	wants := map[string]string{
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
		"Referrer-Policy":        "no-referrer",
	}
	for name, want := range wants {
		if got := h.Get(name); got != want {
			t.Errorf("GET %s %s = %q, want %q", path, name, got, want)
		}
	}

	csp := h.Get("Content-Security-Policy")
	for _, directive := range []string{"default-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
		if !strings.Contains(csp, directive) {
			t.Errorf("GET %s Content-Security-Policy = %q, want %s", path, csp, directive)
		}
	}

	if got := h.Get("Strict-Transport-Security"); got != "" {
		t.Errorf("GET %s in dev sends Strict-Transport-Security %q, want none over plain HTTP", path, got)
	}
}

func checkCORS(t *testing.T, s *server) {
	t.Helper()

	allowed := s.sendReq(t, s.newReq(t, http.MethodGet, "/livez", "Origin", allowedOrigin))
	if got := allowed.Header.Get("Access-Control-Allow-Origin"); got != allowedOrigin {
		t.Errorf("GET /livez from %s: Access-Control-Allow-Origin = %q, want the origin", allowedOrigin, got)
	}

	for _, r := range []response{allowed, s.sendReq(t, s.newReq(t, http.MethodGet, "/livez"))} {
		if vary := strings.Join(r.Header.Values("Vary"), ","); !strings.Contains(vary, "Origin") {
			t.Errorf("GET /livez: Vary = %q, want Origin", vary)
		}
	}

	other := s.sendReq(t, s.newReq(t, http.MethodGet, "/livez", "Origin", otherOrigin))
	if got := other.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("GET /livez from %s: Access-Control-Allow-Origin = %q, want none", otherOrigin, got)
	}

	preflight := func(origin string) response {
		return s.sendReq(t, s.newReq(t, http.MethodOptions, profilePath,
			"Origin", origin, "Access-Control-Request-Method", http.MethodPatch,
			"Access-Control-Request-Headers", "authorization, content-type"))
	}

	if r := preflight(allowedOrigin); r.Status != http.StatusNoContent ||
		!strings.Contains(r.Header.Get("Access-Control-Allow-Methods"), http.MethodPatch) ||
		!strings.Contains(r.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight from %s = %d %v, want 204 allowing PATCH and Authorization", allowedOrigin, r.Status, r.Header)
	}

	if r := preflight(otherOrigin); r.Status != http.StatusForbidden || r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from %s = %d %v, want 403 without CORS headers", otherOrigin, r.Status, r.Header)
	}
}

func checkRequestID(t *testing.T, s *server) {
	t.Helper()

	tests := []struct {
		name, sent string
		echoed     bool
	}{
		{"valid", "ops-client.42:attempt-1", true},
		{"invalid", "bad id\twith <script>", false},
		{"too-long", strings.Repeat("a", 129), false},
		{"absent", "", false},
	}
	for _, tt := range tests {
		req := s.newReq(t, http.MethodGet, profilePath+"?case="+tt.name)
		if tt.sent != "" {
			req.Header.Set("X-Request-ID", tt.sent)
		}

		got := s.sendReq(t, req).Header.Get("X-Request-ID")

		switch {
		case tt.echoed && got != tt.sent:
			t.Errorf("%s X-Request-ID %q: response has %q, want it echoed", tt.name, tt.sent, got)
		case !tt.echoed && !generatedRequestID.MatchString(got):
			t.Errorf("%s X-Request-ID %q: response has %q, want a generated 32-hex ID", tt.name, tt.sent, got)
		}

		line, err := s.logs.wait(logWait, func(l logLine) bool { return l.Msg() == "http request" && l.String("request_id") == got })
		if err != nil || line.String("path") != profilePath {
			t.Errorf("%s X-Request-ID: no access log line with request_id %q", tt.name, got)
		}
	}
}

// checkSwagger checks that dev serves the API documentation from the
// binary: the Swagger UI page, wired to the merged spec.
func checkSwagger(t *testing.T, s *server) {
	t.Helper()

	ui := s.do(t, http.MethodGet, "/swagger-ui/", nil, "")
	if ui.Status != http.StatusOK || !strings.HasPrefix(ui.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(ui.Body), "swagger-ui") {
		t.Errorf("GET /swagger-ui/ = %d %s, want the Swagger UI page", ui.Status, ui.Header.Get("Content-Type"))
	}

	if init := s.do(t, http.MethodGet, "/swagger-ui/swagger-initializer.js", nil, ""); !strings.Contains(string(init.Body), `"/openapi.json"`) {
		t.Errorf("swagger-initializer.js = %q, want it to load /openapi.json", init.Body)
	}

	r := s.do(t, http.MethodGet, "/openapi.json", nil, "")

	var spec struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(r.Body, &spec); err != nil || r.Status != http.StatusOK || !strings.HasPrefix(spec.OpenAPI, "3.") {
		t.Fatalf("GET /openapi.json = %d, openapi %q, %v; want the OpenAPI 3 JSON spec", r.Status, spec.OpenAPI, err)
	}

	for _, path := range []string{"/v1/auth/login/request", "/v1/auth/login/complete", profilePath, "/v1/auth/sessions"} {
		if _, ok := spec.Paths[path]; !ok {
			t.Errorf("spec has no path %s; has %d paths", path, len(spec.Paths))
		}
	}
}

// TestRequestTimeout504 shows a request that outlives REQUEST_TIMEOUT: the
// client gets 504 with code TIMEOUT (here every API call does, with a 1 ns
// timeout), while the probes, outside the API, still answer.
func TestRequestTimeout504(t *testing.T) {
	t.Parallel()

	s := startServer(t, map[string]string{"REQUEST_TIMEOUT": "1ns"})

	r := s.do(t, http.MethodPost, "/v1/auth/login/request", map[string]string{"email": "ada@example.com"}, "")
	r.wantError(t, http.StatusGatewayTimeout, errors.CodeTimeout)

	if r := s.do(t, http.MethodGet, "/livez", nil, ""); r.Status != http.StatusOK {
		t.Errorf("GET /livez = %d, want 200", r.Status)
	}
}
