package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modulith/modulith/internal/middleware"
)

const (
	appOrigin  = "https://app.example.com"
	evilOrigin = "https://evil.example.com"
)

func TestCORS(t *testing.T) {
	listed := middleware.CORSConfig{
		AllowedOrigins: []string{appOrigin, "https://admin.example.com"},
		AllowedHeaders: []string{"X-Tenant", "authorization"},
		ExposedHeaders: []string{"X-Total-Count"},
		MaxAge:         10 * time.Minute,
	}
	credentials := listed
	credentials.AllowCredentials = true
	wildcard := middleware.CORSConfig{AllowedOrigins: []string{"*"}}
	wildcardCredentials := middleware.CORSConfig{AllowedOrigins: []string{"*", "https://admin.example.com"}, AllowCredentials: true}

	const (
		allowHeaders  = "Authorization, Content-Type, X-Request-ID, X-Tenant"
		exposeHeaders = "X-Request-ID, Retry-After, X-Total-Count"
		methods       = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
	)

	preflightVary := []string{"Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"}
	forbidden := http.Header{
		"Vary":                   preflightVary,
		"Content-Type":           {"application/json"},
		"X-Content-Type-Options": {"nosniff"},
	}

	tests := []struct {
		name        string
		cfg         middleware.CORSConfig
		method      string
		origin      string
		preflight   bool
		wantStatus  int
		wantHeader  http.Header
		wantHandler bool
	}{
		{
			name: "allowed origin", cfg: listed, method: http.MethodGet, origin: appOrigin,
			wantStatus: http.StatusOK, wantHandler: true,
			wantHeader: http.Header{
				"Vary":                          {"Origin"},
				"Access-Control-Allow-Origin":   {appOrigin},
				"Access-Control-Expose-Headers": {exposeHeaders},
			},
		},
		{
			name: "disallowed origin passes without CORS headers", cfg: listed, method: http.MethodPost, origin: evilOrigin,
			wantStatus: http.StatusOK, wantHandler: true,
			wantHeader: http.Header{"Vary": {"Origin"}},
		},
		{
			name: "origin match is exact", cfg: listed, method: http.MethodGet, origin: appOrigin + ".evil.com",
			wantStatus: http.StatusOK, wantHandler: true,
			wantHeader: http.Header{"Vary": {"Origin"}},
		},
		{
			name: "same-origin request", cfg: listed, method: http.MethodGet,
			wantStatus: http.StatusOK, wantHandler: true,
			wantHeader: http.Header{"Vary": {"Origin"}},
		},
		{
			name: "preflight", cfg: listed, method: http.MethodOptions, origin: appOrigin, preflight: true,
			wantStatus: http.StatusNoContent,
			wantHeader: http.Header{
				"Vary":                         preflightVary,
				"Access-Control-Allow-Origin":  {appOrigin},
				"Access-Control-Allow-Methods": {methods},
				"Access-Control-Allow-Headers": {allowHeaders},
				"Access-Control-Max-Age":       {"600"},
			},
		},
		{
			name: "preflight from disallowed origin", cfg: listed, method: http.MethodOptions, origin: evilOrigin,
			preflight: true, wantStatus: http.StatusForbidden, wantHeader: forbidden,
		},
		{
			name: "OPTIONS without request method is not a preflight", cfg: listed, method: http.MethodOptions,
			origin: appOrigin, wantStatus: http.StatusOK, wantHandler: true,
			wantHeader: http.Header{
				"Vary":                          {"Origin"},
				"Access-Control-Allow-Origin":   {appOrigin},
				"Access-Control-Expose-Headers": {exposeHeaders},
			},
		},
		{
			name: "credentials", cfg: credentials, method: http.MethodGet, origin: appOrigin,
			wantStatus: http.StatusOK, wantHandler: true,
			wantHeader: http.Header{
				"Vary":                             {"Origin"},
				"Access-Control-Allow-Origin":      {appOrigin},
				"Access-Control-Allow-Credentials": {"true"},
				"Access-Control-Expose-Headers":    {exposeHeaders},
			},
		},
		{
			name: "credentials preflight", cfg: credentials, method: http.MethodOptions, origin: appOrigin, preflight: true,
			wantStatus: http.StatusNoContent,
			wantHeader: http.Header{
				"Vary":                             preflightVary,
				"Access-Control-Allow-Origin":      {appOrigin},
				"Access-Control-Allow-Credentials": {"true"},
				"Access-Control-Allow-Methods":     {methods},
				"Access-Control-Allow-Headers":     {allowHeaders},
				"Access-Control-Max-Age":           {"600"},
			},
		},
		{
			name: "credentials from disallowed origin", cfg: credentials, method: http.MethodGet, origin: evilOrigin,
			wantStatus: http.StatusOK, wantHandler: true,
			wantHeader: http.Header{"Vary": {"Origin"}},
		},
		{
			name: "wildcard", cfg: wildcard, method: http.MethodGet, origin: evilOrigin,
			wantStatus: http.StatusOK, wantHandler: true,
			wantHeader: http.Header{
				"Vary":                          {"Origin"},
				"Access-Control-Allow-Origin":   {"*"},
				"Access-Control-Expose-Headers": {"X-Request-ID, Retry-After"},
			},
		},
		{
			name: "wildcard preflight", cfg: wildcard, method: http.MethodOptions, origin: evilOrigin, preflight: true,
			wantStatus: http.StatusNoContent,
			wantHeader: http.Header{
				"Vary":                         preflightVary,
				"Access-Control-Allow-Origin":  {"*"},
				"Access-Control-Allow-Methods": {methods},
				"Access-Control-Allow-Headers": {"Authorization, Content-Type, X-Request-ID"},
			},
		},
		{
			name: "wildcard ignored with credentials", cfg: wildcardCredentials, method: http.MethodGet, origin: evilOrigin,
			wantStatus: http.StatusOK, wantHandler: true,
			wantHeader: http.Header{"Vary": {"Origin"}},
		},
		{
			name: "wildcard ignored with credentials on preflight", cfg: wildcardCredentials, method: http.MethodOptions,
			origin: evilOrigin, preflight: true, wantStatus: http.StatusForbidden, wantHeader: forbidden,
		},
		{
			name: "listed origin beside ignored wildcard", cfg: wildcardCredentials, method: http.MethodGet,
			origin: "https://admin.example.com", wantStatus: http.StatusOK, wantHandler: true,
			wantHeader: http.Header{
				"Vary":                             {"Origin"},
				"Access-Control-Allow-Origin":      {"https://admin.example.com"},
				"Access-Control-Allow-Credentials": {"true"},
				"Access-Control-Expose-Headers":    {"X-Request-ID, Retry-After"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			h := middleware.CORS(tt.cfg)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				called = true

				w.WriteHeader(http.StatusOK)
			}))
			r := httptest.NewRequestWithContext(t.Context(), tt.method, "/v1/items", nil)

			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}

			if tt.preflight {
				r.Header.Set("Access-Control-Request-Method", http.MethodPost)
				r.Header.Set("Access-Control-Request-Headers", "content-type, x-tenant")
			}

			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)

			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantStatus)
			}

			if called != tt.wantHandler {
				t.Errorf("handler called = %v, want %v", called, tt.wantHandler)
			}

			if diff := cmp.Diff(tt.wantHeader, rec.Header()); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCORSForbiddenPreflightBody(t *testing.T) {
	h := middleware.CORS(middleware.CORSConfig{AllowedOrigins: []string{appOrigin}})(http.NotFoundHandler())
	r := httptest.NewRequestWithContext(t.Context(), http.MethodOptions, "/v1/items", nil)
	r.Header.Set("Origin", evilOrigin)
	r.Header.Set("Access-Control-Request-Method", http.MethodDelete)

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)

	const want = `{"code":"FORBIDDEN","message":"origin not allowed","details":{}}` + "\n"
	if rec.Body.String() != want {
		t.Errorf("body = %q, want %q", rec.Body, want)
	}
}

func TestCORSKeepsOtherVaryValues(t *testing.T) {
	h := middleware.CORS(middleware.CORSConfig{})(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Add("Vary", "Accept-Encoding")
	}))
	rec := httptest.NewRecorder()

	h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil))

	if diff := cmp.Diff([]string{"Origin", "Accept-Encoding"}, rec.Header().Values("Vary")); diff != "" {
		t.Errorf("Vary (-want +got):\n%s", diff)
	}
}
