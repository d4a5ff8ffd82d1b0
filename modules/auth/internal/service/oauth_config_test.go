package service_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/modules/auth/internal/service"
)

// appleKey returns a fresh PKCS #8 PEM P-256 key, as Apple issues them.
func appleKey(t *testing.T) string {
	t.Helper()

	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}

	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}

	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// allProviders configures every built-in provider and one OpenID Connect
// provider, corp.
func allProviders(t *testing.T) service.Config {
	t.Helper()

	c := testConfig()
	c.OAuthProviders = []string{"google", "github", "microsoft", "apple", "facebook", "x", "corp"}
	c.OAuthBaseURL = "https://api.example.com"
	c.OAuthRedirectURLs = []string{"https://app.example.com/done"}
	c.GoogleClientID, c.GoogleClientSecret = "g", "gs"
	c.GitHubClientID, c.GitHubClientSecret = "h", "hs"
	c.MicrosoftClientID, c.MicrosoftClientSecret = "m", "ms"
	c.FacebookClientID, c.FacebookClientSecret = "f", "fs"
	c.XClientID, c.XClientSecret = "x", "xs"
	c.AppleClientID, c.AppleTeamID, c.AppleKeyID, c.ApplePrivateKey = "com.example.web", "TEAM", "KEY", appleKey(t)
	c.OIDCIssuers = []string{"corp=https://login.corp.example"}
	c.OIDCClientIDs = []string{"corp=modulith"}
	c.OIDCClientSecrets = []string{"corp=secret"}

	return c
}

// TestOAuthConfig: a provider enabled without a credential stops start-up
// naming the missing key.
func TestOAuthConfig(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		mutate  func(*service.Config)
		wantErr string // a substring of the error; "" for none
	}{
		{name: "every provider", mutate: func(*service.Config) {}},
		{name: "none", mutate: func(c *service.Config) { *c = testConfig() }},
		{name: "no base URL", mutate: func(c *service.Config) { c.OAuthBaseURL = "" }, wantErr: "AUTH_OAUTH_BASE_URL"},
		{name: "loopback http base URL", mutate: func(c *service.Config) { c.OAuthBaseURL = "http://127.0.0.1:8080" }},
		{name: "localhost http base URL", mutate: func(c *service.Config) { c.OAuthBaseURL = "http://localhost:8080" }},
		{name: "plain http base URL", mutate: func(c *service.Config) { c.OAuthBaseURL = "http://api.example.com" }, wantErr: "must be https"},
		{name: "relative base URL", mutate: func(c *service.Config) { c.OAuthBaseURL = "/api" }, wantErr: "AUTH_OAUTH_BASE_URL"},
		{name: "redirect URL with fragment", mutate: func(c *service.Config) { c.OAuthRedirectURLs = []string{"https://app/#x"} }, wantErr: "AUTH_OAUTH_REDIRECT_URLS"},
		{name: "google secret", mutate: func(c *service.Config) { c.GoogleClientSecret = "" }, wantErr: "AUTH_OAUTH_GOOGLE_CLIENT_SECRET"},
		{name: "github ID", mutate: func(c *service.Config) { c.GitHubClientID = "" }, wantErr: "AUTH_OAUTH_GITHUB_CLIENT_ID"},
		{name: "microsoft secret", mutate: func(c *service.Config) { c.MicrosoftClientSecret = "" }, wantErr: "AUTH_OAUTH_MICROSOFT_CLIENT_SECRET"},
		{name: "facebook ID", mutate: func(c *service.Config) { c.FacebookClientID = "" }, wantErr: "AUTH_OAUTH_FACEBOOK_CLIENT_ID"},
		{name: "x secret", mutate: func(c *service.Config) { c.XClientSecret = "" }, wantErr: "AUTH_OAUTH_X_CLIENT_SECRET"},
		{name: "apple key ID", mutate: func(c *service.Config) { c.AppleKeyID = "" }, wantErr: "AUTH_OAUTH_APPLE_KEY_ID"},
		{name: "apple key not PEM", mutate: func(c *service.Config) { c.ApplePrivateKey = "not a key" }, wantErr: "AUTH_OAUTH_APPLE_PRIVATE_KEY"},
		{name: "oidc issuer", mutate: func(c *service.Config) { c.OIDCIssuers = []string{"other=https://x"} }, wantErr: "AUTH_OAUTH_OIDC_ISSUERS"},
		{name: "oidc relative issuer", mutate: func(c *service.Config) { c.OIDCIssuers = []string{"corp=login"} }, wantErr: "AUTH_OAUTH_OIDC_ISSUERS"},
		{name: "oidc client ID", mutate: func(c *service.Config) { c.OIDCClientIDs = nil }, wantErr: "AUTH_OAUTH_OIDC_CLIENT_IDS"},
		{name: "oidc secret", mutate: func(c *service.Config) { c.OIDCClientSecrets = []string{"corp="} }, wantErr: "AUTH_OAUTH_OIDC_CLIENT_SECRETS"},
		{name: "bad name", mutate: func(c *service.Config) { c.OAuthProviders = []string{"Corp/x"} }, wantErr: "AUTH_OAUTH_PROVIDERS"},
		{name: "zero state TTL", mutate: func(c *service.Config) { c.OAuthStateTTL = 0 }, wantErr: "AUTH_OAUTH_STATE_TTL"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			cfg := allProviders(t)
			tt.mutate(&cfg)

			_, err := service.New(cfg, service.Deps{CodeKey: keyring{current: testCodeKey()}, RefreshKey: keyring{current: testRefreshKey()}})

			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("New() = %v, want no error", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("New() = %v, want an error naming %s", err, tt.wantErr)
			}
		})
	}
}

// TestListLinkedAccountsNamesProviders: the enabled providers are listed,
// sorted, for a sign-in page to offer.
func TestListLinkedAccountsNamesProviders(t *testing.T) {
	t.Parallel()

	f := newDBFixture(t, func(c *service.Config, _ *service.Deps) { *c = allProviders(t) })

	resp, err := f.svc.ListLinkedAccounts(asCaller(t, "user_01h455vb4pex5vsknk084sn02q", "user"), &authv1.ListLinkedAccountsRequest{})
	if err != nil {
		t.Fatalf("ListLinkedAccounts() = %v", err)
	}

	want := "apple,corp,facebook,github,google,microsoft,x"
	if got := strings.Join(resp.GetProviders(), ","); got != want || len(resp.GetAccounts()) != 0 {
		t.Errorf("ListLinkedAccounts() = %v, want providers %s and no account", resp, want)
	}
}
