package oauth

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

func TestCheckIssuer(t *testing.T) {
	t.Parallel()

	known := &Provider{name: "corp", issuer: "https://login.corp.example"}
	unknown := &Provider{name: "github"}

	tests := []struct {
		p       *Provider
		iss     string
		wantErr bool
	}{
		{p: known, iss: ""},
		{p: known, iss: "https://login.corp.example"},
		{p: known, iss: "https://evil.example", wantErr: true},
		{p: known, iss: "https://login.corp.example/", wantErr: true},
		{p: unknown, iss: "https://anything.example"},
	}

	for _, tt := range tests {
		err := tt.p.CheckIssuer(tt.iss)
		if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, ErrRefused)) {
			t.Errorf("%s.CheckIssuer(%q) = %v, want a refusal: %t", tt.p.name, tt.iss, err, tt.wantErr)
		}
	}
}

// TestSafeTextHidesSecrets: what a failed exchange logs quotes neither the
// token endpoint's answer (which may echo the code) nor a request's URL
// (which may carry a token).
func TestSafeTextHidesSecrets(t *testing.T) {
	t.Parallel()

	const secret = "quoted-123"

	tests := []error{
		fmt.Errorf("exchange: %w", &oauth2.RetrieveError{
			Response: &http.Response{StatusCode: http.StatusBadRequest}, Body: []byte("Invalid code: " + secret), ErrorCode: "invalid_grant",
		}),
		&url.Error{Op: "Get", URL: "https://provider.example/userinfo?access_token=" + secret, Err: errors.New("connection refused")},
	}

	for _, err := range tests {
		if got := safeText(err); strings.Contains(got, secret) || got == "" {
			t.Errorf("safeText(%v) = %q, want a description without the secret", err, got)
		}
	}

	if got := safeText(errors.New(strings.Repeat("x", 500))); len(got) > 200 {
		t.Errorf("safeText(a long error) is %d bytes, want at most 200", len(got))
	}
}

func TestIsTrue(t *testing.T) {
	t.Parallel()

	for v, want := range map[any]bool{true: true, "true": true, false: false, "false": false, nil: false, 1.0: false} {
		if got := isTrue(v); got != want {
			t.Errorf("isTrue(%#v) = %t, want %t", v, got, want)
		}
	}
}

// TestGitHubPrimaryEmail: only the primary address, and only if GitHub
// verified it, counts as verified.
func TestGitHubPrimaryEmail(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		status  int
		body    string
		want    string
		wantErr bool
	}{
		{name: "verified primary", status: http.StatusOK, want: "ada@example.com",
			body: `[{"email":"old@example.com","primary":false,"verified":true},{"email":"ada@example.com","primary":true,"verified":true}]`},
		{name: "unverified primary", status: http.StatusOK,
			body: `[{"email":"old@example.com","primary":false,"verified":true},{"email":"ada@example.com","primary":true,"verified":false}]`},
		{name: "no addresses", status: http.StatusOK, body: `[]`},
		{name: "refused", status: http.StatusUnauthorized, body: `{"message":"Bad credentials"}`, wantErr: true},
		{name: "garbage", status: http.StatusOK, body: `{`, wantErr: true},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "Bearer tok" {
					http.Error(w, "no token", http.StatusUnauthorized)

					return
				}

				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			t.Cleanup(srv.Close)

			got, err := githubPrimaryEmail(t.Context(), srv.Client(), srv.URL, "tok")
			if got != tt.want || (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, ErrRefused)) {
				t.Errorf("githubPrimaryEmail() = %q, %v; want %q, a refusal: %t", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestCallbackURL(t *testing.T) {
	t.Parallel()

	site := Site{BaseURL: "https://api.example.com/"}
	if got := site.CallbackURL("corp"); got != "https://api.example.com/v1/auth/oauth/corp/callback" {
		t.Errorf("CallbackURL(corp) = %q", got)
	}

	x := &Provider{callback: site.CallbackURL("x"), stateInCallback: true}
	if got := x.callbackURL("a b"); got != "https://api.example.com/v1/auth/oauth/x/callback?state=a+b" {
		t.Errorf("OAuth 1.0a callbackURL(a b) = %q", got)
	}
}
