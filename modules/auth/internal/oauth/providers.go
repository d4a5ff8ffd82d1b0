package oauth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/markbates/goth"
	"github.com/markbates/goth/providers/apple"
	"github.com/markbates/goth/providers/facebook"
	"github.com/markbates/goth/providers/github"
	"github.com/markbates/goth/providers/google"
	"github.com/markbates/goth/providers/microsoftonline"
	"github.com/markbates/goth/providers/openidConnect"
	"github.com/markbates/goth/providers/twitterv2"
)

// Site is what every provider of one server shares.
type Site struct {
	// BaseURL is the server's public URL: the callback of provider p is
	// BaseURL/v1/auth/oauth/p/callback.
	BaseURL string
	// Client makes the requests to the providers.
	Client *http.Client
}

// CallbackURL is the callback to register with provider name.
func (s Site) CallbackURL(name string) string {
	return strings.TrimSuffix(s.BaseURL, "/") + "/v1/auth/oauth/" + name + "/callback"
}

// Credentials are an OAuth client's ID and secret.
type Credentials struct{ ID, Secret string }

// Google signs in with Google; its userinfo says whether the address is
// verified.
func Google(s Site, c Credentials) *Provider {
	return &Provider{
		name: "google", issuer: "https://accounts.google.com", callback: s.CallbackURL("google"),
		build: func(_ context.Context, cb string) (goth.Provider, error) {
			p := google.New(c.ID, c.Secret, cb, "openid", "email", "profile")
			p.HTTPClient = s.Client

			return p, nil
		},
		identify: func(_ context.Context, p goth.Provider, sess goth.Session, _ Flow, _ Callback) (Identity, error) {
			u, err := fetchUser(p, sess)

			return Identity{Subject: u.UserID, Email: u.Email, EmailVerified: isTrue(u.RawData["verified_email"])}, err
		},
	}
}

// GitHub signs in with GitHub; an address is verified when GitHub lists
// it as the account's verified primary address.
func GitHub(s Site, c Credentials) *Provider {
	return &Provider{
		name: "github", callback: s.CallbackURL("github"),
		build: func(_ context.Context, cb string) (goth.Provider, error) {
			p := github.New(c.ID, c.Secret, cb, "read:user", "user:email")
			p.HTTPClient = s.Client

			return p, nil
		},
		identify: func(ctx context.Context, p goth.Provider, sess goth.Session, _ Flow, _ Callback) (Identity, error) {
			u, err := fetchUser(p, sess)
			if err != nil {
				return Identity{}, err
			}

			primary, err := githubPrimaryEmail(ctx, s.Client, github.EmailURL, u.AccessToken)
			if err != nil {
				return Identity{}, err
			}

			if primary != "" {
				return Identity{Subject: u.UserID, Email: primary, EmailVerified: true}, nil
			}

			return Identity{Subject: u.UserID, Email: u.Email}, nil
		},
	}
}

// Microsoft signs in with a Microsoft account (work, school or personal).
// Microsoft Graph does not assert that an address is verified.
func Microsoft(s Site, c Credentials) *Provider {
	return &Provider{
		name: "microsoft", callback: s.CallbackURL("microsoft"),
		build: func(_ context.Context, cb string) (goth.Provider, error) {
			p := microsoftonline.New(c.ID, c.Secret, cb)
			p.HTTPClient = s.Client

			return p, nil
		},
		identify: unverified,
	}
}

// Facebook signs in with Facebook, which does not assert that an address
// is verified.
func Facebook(s Site, c Credentials) *Provider {
	return &Provider{
		name: "facebook", callback: s.CallbackURL("facebook"),
		build: func(_ context.Context, cb string) (goth.Provider, error) {
			p := facebook.New(c.ID, c.Secret, cb, "email")
			p.HTTPClient = s.Client

			return p, nil
		},
		identify: unverified,
	}
}

// X signs in with X (Twitter, OAuth 1.0a with the v2 API): c holds the
// consumer key and secret. X gives no email address. OAuth 1.0a has no
// state parameter, so the state rides in the callback URL.
func X(s Site, c Credentials) *Provider {
	return &Provider{
		name: "x", callback: s.CallbackURL("x"), stateInCallback: true,
		build: func(_ context.Context, cb string) (goth.Provider, error) {
			p := twitterv2.New(c.ID, c.Secret, cb)
			p.HTTPClient = s.Client
			p.SetName("x")

			return p, nil
		},
		identify: func(ctx context.Context, p goth.Provider, sess goth.Session, f Flow, cb Callback) (Identity, error) {
			ts, ok := sess.(*twitterv2.Session)
			if !ok || ts.RequestToken == nil || ts.RequestToken.Token != cb.OAuthToken {
				return Identity{}, refused("request token mismatch")
			}

			return unverified(ctx, p, sess, f, cb)
		},
	}
}

// AppleKey is the Sign in with Apple key the client secret is made from.
type AppleKey struct {
	TeamID, KeyID string
	// PrivateKey is the PKCS #8 PEM of the key.
	PrivateKey string
}

// appleSecretTTL is the lifetime of the client secrets made for Apple,
// which accepts up to six months: each flow makes its own.
const appleSecretTTL = time.Hour

// Apple signs in with Apple; the ID token, which goth checks against
// Apple's keys, says whether the address is verified. Apple answers with a
// form POST to the callback.
func Apple(s Site, clientID string, key AppleKey) (*Provider, error) {
	secret := func() (string, error) {
		now := time.Now()

		sec, err := apple.MakeSecret(apple.SecretParams{
			PKCS8PrivateKey: key.PrivateKey, TeamId: key.TeamID, KeyId: key.KeyID, ClientId: clientID,
			Iat: int(now.Unix()), Exp: int(now.Add(appleSecretTTL).Unix()),
		})
		if err != nil {
			return "", fmt.Errorf("apple client secret: %w", err)
		}

		return *sec, nil
	}

	if _, err := secret(); err != nil {
		return nil, err
	}

	return &Provider{
		name: "apple", issuer: "https://appleid.apple.com", callback: s.CallbackURL("apple"),
		build: func(_ context.Context, cb string) (goth.Provider, error) {
			sec, err := secret()
			if err != nil {
				return nil, err
			}

			return apple.New(clientID, sec, cb, s.Client, apple.ScopeEmail), nil
		},
		identify: func(_ context.Context, _ goth.Provider, sess goth.Session, _ Flow, _ Callback) (Identity, error) {
			as, ok := sess.(*apple.Session)
			if !ok {
				return Identity{}, refused("no apple session")
			}

			return Identity{Subject: as.Sub, Email: as.Email, EmailVerified: as.EmailVerified}, nil
		},
	}, nil
}

// OIDC signs in with a standards-compliant OpenID Connect provider, found
// by discovery at issuer on first use (and again after a failed
// discovery). Flows use PKCE (S256) and a nonce; the ID token's signature
// is checked against the provider's keys; an address is verified when the
// provider's email_verified claim says so.
func OIDC(s Site, name, issuer string, c Credentials) *Provider {
	d := &discovery{issuer: issuer, clientID: c.ID, client: s.Client}

	return &Provider{
		name: name, issuer: issuer, callback: s.CallbackURL(name), pkce: true, nonce: true,
		build: func(ctx context.Context, cb string) (goth.Provider, error) {
			op, err := d.provider(ctx)
			if err != nil {
				return nil, err
			}

			ep := op.Endpoint()

			p, err := openidConnect.NewCustomisedURL(c.ID, c.Secret, cb, ep.AuthURL, ep.TokenURL, issuer, op.UserInfoEndpoint(), "",
				"openid", "email", "profile")
			if err != nil {
				return nil, fmt.Errorf("%s provider: %w", name, err)
			}

			p.SetName(name)
			p.HTTPClient = s.Client

			return p, nil
		},
		identify: d.identify,
	}
}

// discovery is an OpenID Connect provider's metadata, fetched once.
type discovery struct {
	issuer, clientID string
	client           *http.Client

	mu sync.Mutex
	op *oidc.Provider
}

// provider returns the discovered provider, discovering it if needed.
func (d *discovery) provider(ctx context.Context) (*oidc.Provider, error) {
	d.mu.Lock()
	defer d.mu.Unlock()

	if d.op != nil {
		return d.op, nil
	}

	op, err := oidc.NewProvider(oidc.ClientContext(ctx, d.client), d.issuer)
	if err != nil {
		return nil, fmt.Errorf("discover %s: %w", d.issuer, err)
	}

	d.op = op

	return op, nil
}

// identify checks the ID token (signature, issuer, audience, expiry,
// nonce) and reads the identity from its claims and userinfo's.
func (d *discovery) identify(ctx context.Context, p goth.Provider, sess goth.Session, f Flow, _ Callback) (Identity, error) {
	u, err := fetchUser(p, sess)
	if err != nil {
		return Identity{}, err
	}

	op, err := d.provider(ctx)
	if err != nil {
		return Identity{}, err
	}

	tok, err := op.Verifier(&oidc.Config{ClientID: d.clientID}).Verify(oidc.ClientContext(ctx, d.client), u.IDToken)
	if err != nil {
		return Identity{}, refused("id token: " + safeText(err))
	}

	if f.Nonce == "" || tok.Nonce != f.Nonce {
		return Identity{}, refused("nonce mismatch")
	}

	return Identity{Subject: tok.Subject, Email: u.Email, EmailVerified: isTrue(u.RawData["email_verified"])}, nil
}

// unverified reads an identity whose address the provider does not vouch
// for.
func unverified(_ context.Context, p goth.Provider, sess goth.Session, _ Flow, _ Callback) (Identity, error) {
	u, err := fetchUser(p, sess)

	return Identity{Subject: u.UserID, Email: u.Email}, err
}

// isTrue reads a boolean claim, which some providers send as a string.
func isTrue(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return v == "true"
	default:
		return false
	}
}

// githubPrimaryEmail returns the account's primary address if GitHub
// verified it, "" otherwise.
func githubPrimaryEmail(ctx context.Context, client *http.Client, emailURL, token string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, emailURL, nil)
	if err != nil {
		return "", fmt.Errorf("github emails request: %w", err)
	}

	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/vnd.github+json")

	resp, err := client.Do(req)
	if err != nil {
		return "", refused("github emails: " + safeText(err))
	}
	defer resp.Body.Close()

	if resp.StatusCode != http.StatusOK {
		return "", refused(fmt.Sprintf("github emails answered %d", resp.StatusCode))
	}

	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&emails); err != nil {
		return "", refused("github emails: undecodable answer")
	}

	for _, e := range emails {
		if e.Primary && e.Verified {
			return e.Email, nil
		}
	}

	return "", nil
}
