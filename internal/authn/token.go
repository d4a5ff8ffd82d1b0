package authn

import (
	"bytes"
	stderrors "errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/maypok86/otter/v2"

	"github.com/modulith/modulith/internal/errors"
)

// TokenTypeAccess is the token_type claim of access tokens. Refresh tokens
// are opaque and never JWTs, so an access token can never pass for one; the
// claim also keeps any future JWT of another type from passing as access.
const TokenTypeAccess = "access"

// MinSecretBytes is the shortest HMAC secret accepted (256 bits, for HS256).
const MinSecretBytes = 32

// leeway absorbs clock skew between the replicas that issue and check tokens.
const leeway = 5 * time.Second

// Secret is the platform secret: its current value signs; during a
// rotation, tokens signed with its previous value (else nil) still verify
// until it is removed. *secrets.Secret is one.
type Secret interface {
	Keys() (current, previous []byte)
}

// TokenConfig configures access tokens.
type TokenConfig struct {
	Secret   Secret
	Issuer   string
	Audience string
}

// Claims are the claims of an access token.
type Claims struct {
	jwt.RegisteredClaims

	SessionID string `json:"sid"`
	Role      string `json:"role"`
	TokenType string `json:"token_type"`
}

// Tokens issues and verifies access tokens (HS256, algorithm pinned).
type Tokens struct {
	cfg    TokenConfig
	parser *jwt.Parser
	// verified are the tokens that passed ParseAccess, until they expire:
	// a client sends the same token with every request, and decoding and
	// checking it again took some 9 % of the CPU of an authenticated read.
	verified *otter.Cache[string, verifiedToken]
}

// verifiedToken is a token that passed ParseAccess: its claims, and the key
// that verified it, which must still be the current or previous one.
type verifiedToken struct {
	claims  Claims
	key     []byte
	expires time.Time // ExpiresAt plus the leeway
}

// maxVerifiedTokens bounds the tokens remembered as verified: each takes
// some 700 bytes, and only a token signed with the platform's secret gets
// in, so only the clients' own traffic fills it.
const maxVerifiedTokens = 10_000

// NewTokens checks cfg and returns a token issuer and verifier.
func NewTokens(cfg TokenConfig) (*Tokens, error) {
	if cfg.Secret == nil {
		return nil, stderrors.New("token secret is required")
	}

	if current, _ := cfg.Secret.Keys(); len(current) < MinSecretBytes {
		return nil, fmt.Errorf("token secret must be at least %d bytes, got %d", MinSecretBytes, len(current))
	}

	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, fmt.Errorf("token issuer and audience are required")
	}

	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithStrictDecoding(),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
	)

	verified := otter.Must(&otter.Options[string, verifiedToken]{
		MaximumSize: maxVerifiedTokens,
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[string, verifiedToken]) time.Duration {
			return max(time.Until(e.Value.expires), time.Second)
		}),
	})

	return &Tokens{cfg: cfg, parser: parser, verified: verified}, nil
}

// IssueAccess signs an access token for a user's session, valid for ttl.
func (t *Tokens) IssueAccess(userID, sessionID, role string, now time.Time, ttl time.Duration) (string, time.Time, error) {
	exp := now.Add(ttl)
	claims := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    t.cfg.Issuer,
			Subject:   userID,
			Audience:  jwt.ClaimStrings{t.cfg.Audience},
			ExpiresAt: jwt.NewNumericDate(exp),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
		},
		SessionID: sessionID,
		Role:      role,
		TokenType: TokenTypeAccess,
	}

	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(t.current())
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign access token: %w", err)
	}

	return signed, exp, nil
}

// ParseAccess verifies an access token and returns its claims. It accepts
// only HS256 tokens signed with the platform secret (current or previous),
// from the configured issuer for the configured audience, unexpired, of
// type access, naming a user and a session. Errors are domain errors safe
// to return to clients. A token verified before is not decoded again: its
// claims are returned while it is unexpired and the key that verified it
// is still the current or previous one.
func (t *Tokens) ParseAccess(token string) (*Claims, error) {
	if v, ok := t.remembered(token); ok {
		if !time.Now().Before(v.expires) {
			return nil, errors.WithCode(errors.CodeAuthTokenExpired, "access token expired")
		}

		claims := v.claims

		return &claims, nil
	}

	claims, key, err := t.verify(token)
	if err != nil {
		return nil, err
	}

	t.verified.Set(token, verifiedToken{claims: claims, key: key, expires: claims.ExpiresAt.Add(leeway)})

	return &claims, nil
}

// remembered returns what verifying token found before, as long as the
// key that verified it is still the current or previous one.
func (t *Tokens) remembered(token string) (verifiedToken, bool) {
	v, ok := t.verified.GetIfPresent(token)
	if !ok {
		return verifiedToken{}, false
	}

	if current, previous := t.cfg.Secret.Keys(); !bytes.Equal(v.key, current) && !bytes.Equal(v.key, previous) {
		t.verified.Invalidate(token) // its key was rotated out: verify again

		return verifiedToken{}, false
	}

	return v, true
}

// verify decodes and checks token, and returns its claims and the key
// that verified it: the current one first; during a rotation, the
// previous one when the signature is not the current key's.
func (t *Tokens) verify(token string) (Claims, []byte, error) {
	if !canonical(token) {
		return Claims{}, nil, errors.WithCode(errors.CodeAuthTokenInvalid, "invalid access token")
	}

	var claims Claims

	current, previous := t.cfg.Secret.Keys()
	key := current

	_, err := t.parser.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return current, nil })
	if previous != nil && stderrors.Is(err, jwt.ErrTokenSignatureInvalid) {
		claims, key = Claims{}, previous
		_, err = t.parser.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return previous, nil })
	}

	switch {
	case stderrors.Is(err, jwt.ErrTokenExpired):
		return Claims{}, nil, errors.WithCode(errors.CodeAuthTokenExpired, "access token expired")
	case err != nil:
		return Claims{}, nil, errors.WithCode(errors.CodeAuthTokenInvalid, "invalid access token", errors.WithCause(err))
	case claims.TokenType != TokenTypeAccess, claims.Subject == "" || claims.SessionID == "":
		return Claims{}, nil, errors.WithCode(errors.CodeAuthTokenInvalid, "invalid access token")
	}

	return claims, key, nil
}

// current is the key new tokens are signed with.
func (t *Tokens) current() []byte {
	current, _ := t.cfg.Secret.Keys()

	return current
}

// canonical reports whether token holds only the characters of three
// base64url segments. Base64 decoding skips CR and LF even in strict mode,
// so without this one issued token would have several accepted spellings,
// which breaks anything keyed on the raw string (caches, deny lists, logs).
func canonical(token string) bool {
	return token != "" && strings.Trim(token, base64URLAlphabet+".") == ""
}

const base64URLAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
