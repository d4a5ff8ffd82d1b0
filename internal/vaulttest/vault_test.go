package vaulttest

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestHealth checks a server counts as up only when Vault's health
// endpoint answers 200 (initialized, unsealed, active).
func TestHealth(t *testing.T) {
	t.Parallel()

	status := func(code int) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/v1/sys/health" {
				http.NotFound(w, r)

				return
			}

			w.WriteHeader(code)
		}))
		t.Cleanup(srv.Close)

		return srv.URL
	}

	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	tests := []struct {
		name string
		addr string
		up   bool
	}{
		{"active", status(http.StatusOK), true},
		{"active, trailing slash", status(http.StatusOK) + "/", true},
		{"sealed", status(http.StatusServiceUnavailable), false},
		{"standby", status(http.StatusTooManyRequests), false},
		{"nothing listens", closed.URL, false},
	}
	for _, tt := range tests {
		if err := health(t.Context(), tt.addr); (err == nil) != tt.up {
			t.Errorf("%s: health() = %v, want up %t", tt.name, err, tt.up)
		}
	}
}

// TestServerAnswers checks the server the suite shares, as the Vault
// provider's tests use it.
func TestServerAnswers(t *testing.T) {
	t.Parallel()

	if addr, token := Server(t); addr == "" || token == "" {
		t.Errorf("Server() = %q, %q; want an address and a token", addr, token)
	}
}
