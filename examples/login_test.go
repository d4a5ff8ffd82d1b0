package examples

import (
	"net/http"
	"testing"
)

// TestLoginOverREST walks the passwordless flow a client follows: request a
// code, exchange it for tokens, call an authenticated endpoint.
func TestLoginOverREST(t *testing.T) {
	t.Parallel()

	s := startServer(t, nil)
	tok := s.login(t, "ada@example.com")

	r := s.do(t, http.MethodGet, "/v1/auth/profile", nil, tok.Access)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /v1/auth/profile = %d %s, want 200", r.Status, r.Body)
	}

	user, _ := r.JSON(t)["user"].(map[string]any)
	if got := user["email"]; got != "ada@example.com" {
		t.Errorf("profile email = %v, want ada@example.com", got)
	}
}
