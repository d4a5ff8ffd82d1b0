// Package oauth adapts the sign-in providers (through goth) to one shape:
// Begin returns the provider's authorization URL and what the callback
// needs to finish, Complete exchanges the callback's code and tells who
// signed in and whether the provider vouches for their email address. It
// knows nothing of users, sessions or storage: the service does.
package oauth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"

	"github.com/markbates/goth"
	"golang.org/x/oauth2"
)

// Identity is the account a provider signed in.
type Identity struct {
	// Subject is the provider's stable ID of the account.
	Subject string
	// Email is the address the provider gave, "" when none.
	Email string
	// EmailVerified is true only when the provider asserts it verified
	// Email (docs/OAUTH.md lists the rule of each provider).
	EmailVerified bool
}

// Flow is a sign-in started at a provider: what the browser is sent to,
// and what the callback needs to finish it (kept server-side).
type Flow struct {
	// URL is the provider's authorization URL.
	URL string
	// Session is the provider library's data for the callback.
	Session string
	// Verifier is the PKCE code verifier, "" when the provider takes none.
	Verifier string
	// Nonce is the OpenID Connect nonce, "" for other providers.
	Nonce string
}

// Callback is what the provider sent to the callback.
type Callback struct {
	Code          string
	OAuthToken    string // OAuth 1.0a
	OAuthVerifier string // OAuth 1.0a
}

// ErrRefused reports that the provider did not sign the user in: the
// exchange failed or its answer did not check out. Its text is safe to
// log; it never holds a code or token.
var ErrRefused = errors.New("provider refused the sign-in")

// refused wraps ErrRefused with what went wrong.
func refused(what string) error { return fmt.Errorf("%w: %s", ErrRefused, what) }

// Provider is one configured sign-in provider.
type Provider struct {
	name string
	// issuer is what the callback's iss parameter must be when present
	// (RFC 9207); "" when the provider has no single issuer.
	issuer string
	// callback is the callback URL registered with the provider.
	callback string
	// pkce is true when the provider library passes a code verifier on.
	pkce bool
	// nonce is true for OpenID Connect: the ID token must carry the
	// flow's nonce.
	nonce bool
	// stateInCallback carries the state in the callback URL (OAuth 1.0a
	// has no state parameter).
	stateInCallback bool
	// build returns the provider library's provider for a callback URL.
	build func(ctx context.Context, callbackURL string) (goth.Provider, error)
	// identify checks the finished session and reads the identity.
	identify func(ctx context.Context, p goth.Provider, s goth.Session, f Flow, cb Callback) (Identity, error)
}

// Name is the provider's name in URLs and storage.
func (p *Provider) Name() string { return p.name }

// CheckIssuer checks the iss parameter of a callback (RFC 9207): when the
// provider has a known issuer and iss is present, they must be equal.
func (p *Provider) CheckIssuer(iss string) error {
	if iss == "" || p.issuer == "" || iss == p.issuer {
		return nil
	}

	return refused("issuer mismatch")
}

// Begin starts a sign-in whose callback carries state.
func (p *Provider) Begin(ctx context.Context, state string) (Flow, error) {
	callbackURL := p.callbackURL(state)

	gp, err := p.build(ctx, callbackURL)
	if err != nil {
		return Flow{}, err
	}

	sess, err := gp.BeginAuth(state)
	if err != nil {
		return Flow{}, fmt.Errorf("begin %s sign-in: %w", p.name, err)
	}

	authURL, err := sess.GetAuthURL()
	if err != nil {
		return Flow{}, fmt.Errorf("%s authorization URL: %w", p.name, err)
	}

	f := Flow{Session: sess.Marshal()}
	if p.pkce {
		if f.Verifier, err = random(); err != nil {
			return Flow{}, err
		}
	}

	if p.nonce {
		if f.Nonce, err = random(); err != nil {
			return Flow{}, err
		}
	}

	f.URL, err = p.withParams(authURL, f)

	return f, err
}

// withParams adds the flow's PKCE challenge and nonce to the
// authorization URL.
func (p *Provider) withParams(authURL string, f Flow) (string, error) {
	u, err := url.Parse(authURL)
	if err != nil {
		return "", fmt.Errorf("%s authorization URL: %w", p.name, err)
	}

	q := u.Query()

	if f.Verifier != "" {
		sum := sha256.Sum256([]byte(f.Verifier))
		q.Set("code_challenge", base64.RawURLEncoding.EncodeToString(sum[:]))
		q.Set("code_challenge_method", "S256")
	}

	if f.Nonce != "" {
		q.Set("nonce", f.Nonce)
	}

	u.RawQuery = q.Encode()

	return u.String(), nil
}

// Complete finishes the sign-in f with what the provider sent to the
// callback. Every failure wraps ErrRefused, except a configuration or
// discovery failure on our side.
func (p *Provider) Complete(ctx context.Context, state string, f Flow, cb Callback) (Identity, error) {
	gp, err := p.build(ctx, p.callbackURL(state))
	if err != nil {
		return Identity{}, err
	}

	sess, err := gp.UnmarshalSession(f.Session)
	if err != nil {
		return Identity{}, fmt.Errorf("%s session: %w", p.name, err)
	}

	params := url.Values{"code": {cb.Code}, "oauth_token": {cb.OAuthToken}, "oauth_verifier": {cb.OAuthVerifier}}
	if f.Verifier != "" {
		params.Set("code_verifier", f.Verifier)
	}

	if _, err := sess.Authorize(gp, params); err != nil {
		return Identity{}, refused("code exchange: " + safeText(err))
	}

	id, err := p.identify(ctx, gp, sess, f, cb)
	if err != nil {
		return Identity{}, err
	}

	if id.Subject == "" {
		return Identity{}, refused("no subject")
	}

	return id, nil
}

// callbackURL is the callback for a flow: the registered one, with the
// state for OAuth 1.0a.
func (p *Provider) callbackURL(state string) string {
	if !p.stateInCallback {
		return p.callback
	}

	return p.callback + "?" + url.Values{"state": {state}}.Encode()
}

// fetchUser asks the provider who signed in.
func fetchUser(p goth.Provider, s goth.Session) (goth.User, error) {
	u, err := p.FetchUser(s)
	if err != nil {
		return goth.User{}, refused("fetch user: " + safeText(err))
	}

	return u, nil
}

// safeText describes err without what it may quote: a token endpoint's
// answer can echo the code, a failed request's URL can carry a token.
func safeText(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return fmt.Sprintf("token endpoint answered %d %s", re.Response.StatusCode, re.ErrorCode)
	}

	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + " request failed: " + safeText(ue.Err)
	}

	const maxLen = 200

	text := err.Error()
	if len(text) > maxLen {
		text = text[:maxLen]
	}

	return text
}

// random returns 32 random bytes, base64url: a state, PKCE verifier or
// nonce.
func random() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}

	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}
