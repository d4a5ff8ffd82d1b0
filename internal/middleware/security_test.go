package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/modulith/modulith/internal/middleware"
)

func TestSecurityHeaders(t *testing.T) {
	base := http.Header{
		"X-Content-Type-Options":     {"nosniff"},
		"X-Frame-Options":            {"DENY"},
		"Referrer-Policy":            {"no-referrer"},
		"Cross-Origin-Opener-Policy": {"same-origin"},
		"Permissions-Policy":         {"camera=(), microphone=(), geolocation=()"},
		"Content-Security-Policy": {"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
			"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; " +
			"frame-ancestors 'none'; base-uri 'self'; form-action 'self'"},
	}
	withHSTS := base.Clone()
	withHSTS.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")

	tests := []struct {
		name string
		cfg  middleware.SecurityConfig
		want http.Header
	}{
		{name: "without HSTS", cfg: middleware.SecurityConfig{}, want: base},
		{name: "with HSTS", cfg: middleware.SecurityConfig{HSTS: true}, want: withHSTS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := middleware.SecurityHeaders(tt.cfg)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusOK)
			}))
			rec := httptest.NewRecorder()

			h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil))

			if diff := cmp.Diff(tt.want, rec.Header()); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSecurityHeadersCanBeOverridden(t *testing.T) {
	h := middleware.SecurityHeaders(middleware.SecurityConfig{})(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Frame-Options", "SAMEORIGIN")
	}))
	rec := httptest.NewRecorder()

	h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil))

	if got := rec.Header().Get("X-Frame-Options"); got != "SAMEORIGIN" {
		t.Errorf("X-Frame-Options = %q, want the handler's SAMEORIGIN", got)
	}
}

func TestNoStore(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    http.Header
	}{
		{
			name:    "default",
			handler: func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) },
			want:    http.Header{"Cache-Control": {"no-store"}, "Pragma": {"no-cache"}},
		},
		{
			name: "handler allows caching",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Cache-Control", "public, max-age=60")
				w.Header().Del("Pragma")
			},
			want: http.Header{"Cache-Control": {"public, max-age=60"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()

			middleware.NoStore(tt.handler).ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil))

			if diff := cmp.Diff(tt.want, rec.Header()); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
		})
	}
}
