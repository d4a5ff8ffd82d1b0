// Package service implements auth.v1.AuthService: passwordless sign-in with
// one-time codes, rotating refresh tokens, sessions, the profile and contact
// changes. It owns the rules (TTLs, attempt limits, throttling, token
// rotation and reuse detection) and generates every identifier; storage is
// the repository's, delivery the notifier's (through events).
package service

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"strings"
	"time"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/notifier"
	authevents "github.com/modulith/modulith/modules/auth/events"
	"github.com/modulith/modulith/modules/auth/internal/models"
	"github.com/modulith/modulith/modules/auth/internal/oauth"
	"github.com/modulith/modulith/modules/auth/internal/repository"
)

const module = "auth"

// TypeID prefixes of the identifiers this service creates.
const (
	prefixUser    = "user"
	prefixSession = "sess"
	prefixCode    = "mcode"
)

// Config holds the auth rules; the module loads it from the "auth" section.
// The sign-in limits and what they guarantee are in the README ("What the
// sign-in limits guarantee").
type Config struct {
	CodeTTL         time.Duration `yaml:"code_ttl" env:"AUTH_CODE_TTL" default:"10m"`
	CodeMaxAttempts int32         `yaml:"code_max_attempts" env:"AUTH_CODE_MAX_ATTEMPTS" default:"5"`
	AccessTokenTTL  time.Duration `yaml:"access_token_ttl" env:"AUTH_ACCESS_TOKEN_TTL" default:"15m"`
	SessionTTL      time.Duration `yaml:"session_ttl" env:"AUTH_SESSION_TTL" default:"720h"`
	RateWindow      time.Duration `yaml:"rate_window" env:"AUTH_RATE_WINDOW" default:"15m"`
	// RequestsPerID counts code requests per identity and client together,
	// so a stranger spends their own budget, not the victim's;
	// RequestsPerIdentity is the ceiling for an identity from all clients.
	RequestsPerID       int `yaml:"requests_per_identity" env:"AUTH_RATE_REQUESTS_PER_IDENTITY" default:"5"`
	RequestsPerIdentity int `yaml:"requests_per_identity_total" env:"AUTH_RATE_REQUESTS_PER_IDENTITY_TOTAL" default:"20"`
	RequestsPerIP       int `yaml:"requests_per_ip" env:"AUTH_RATE_REQUESTS_PER_IP" default:"30"`
	VerificationsPerIP  int `yaml:"verifications_per_ip" env:"AUTH_RATE_VERIFICATIONS_PER_IP" default:"60"`
	// VerificationsPerIDClient counts code checks per identity and client
	// in a LockoutWindow: fewer than LockoutFailures, so that no client
	// alone can lock an identity out.
	VerificationsPerIDClient int `yaml:"verifications_per_identity_client" env:"AUTH_RATE_VERIFICATIONS_PER_IDENTITY_CLIENT" default:"8"`
	// LockoutFailures failed checks of one identity within a LockoutWindow,
	// from any clients, refuse its checks for a cool-down of LockoutBase,
	// doubling with each cool-down up to LockoutMax. A successful sign-in
	// clears the failures; the doubling is forgotten after a week without
	// failures (cleanup-magic-codes).
	LockoutFailures int           `yaml:"lockout_failures" env:"AUTH_LOCKOUT_FAILURES" default:"20"`
	LockoutWindow   time.Duration `yaml:"lockout_window" env:"AUTH_LOCKOUT_WINDOW" default:"24h"`
	LockoutBase     time.Duration `yaml:"lockout_base" env:"AUTH_LOCKOUT_BASE" default:"15m"`
	LockoutMax      time.Duration `yaml:"lockout_max" env:"AUTH_LOCKOUT_MAX" default:"24h"`
	// KnownClientTTL is how long a client that completed a code check for
	// an identity stays known to it: a known client is not refused by the
	// identity's cool-down nor by RequestsPerIdentity (its own budgets
	// still apply), so strangers cannot lock the owner's devices out.
	KnownClientTTL time.Duration `yaml:"known_client_ttl" env:"AUTH_KNOWN_CLIENT_TTL" default:"2160h"`
	// RefreshReuseGrace is how long a used refresh token still yields the
	// successor it was exchanged for (two tabs refreshing at once), instead
	// of counting as theft and revoking the session; 0 disables it.
	RefreshReuseGrace time.Duration `yaml:"refresh_reuse_grace" env:"AUTH_REFRESH_REUSE_GRACE" default:"10s"`

	// Sign-in with OAuth and OpenID Connect providers (docs/OAUTH.md):
	// OAuthProviders names the enabled ones, each of which needs its
	// credentials below; a name that is not built in is an OpenID Connect
	// provider configured by the AUTH_OAUTH_OIDC_* lists ("name=value").
	OAuthProviders []string `yaml:"oauth_providers" env:"AUTH_OAUTH_PROVIDERS"`
	// OAuthBaseURL is the server's public URL, which callbacks are under.
	OAuthBaseURL string `yaml:"oauth_base_url" env:"AUTH_OAUTH_BASE_URL"`
	// OAuthRedirectURLs are the pages a browser sign-in may return to,
	// compared exactly.
	OAuthRedirectURLs  []string      `yaml:"oauth_redirect_urls" env:"AUTH_OAUTH_REDIRECT_URLS"`
	OAuthStateTTL      time.Duration `yaml:"oauth_state_ttl" env:"AUTH_OAUTH_STATE_TTL" default:"10m"`
	OAuthExchangeTTL   time.Duration `yaml:"oauth_exchange_ttl" env:"AUTH_OAUTH_EXCHANGE_TTL" default:"1m"`
	OAuthRequestsPerIP int           `yaml:"oauth_requests_per_ip" env:"AUTH_OAUTH_RATE_REQUESTS_PER_IP" default:"60"`

	GoogleClientID        string   `yaml:"oauth_google_client_id" env:"AUTH_OAUTH_GOOGLE_CLIENT_ID"`
	GoogleClientSecret    string   `yaml:"oauth_google_client_secret" env:"AUTH_OAUTH_GOOGLE_CLIENT_SECRET" secret:"true"`
	GitHubClientID        string   `yaml:"oauth_github_client_id" env:"AUTH_OAUTH_GITHUB_CLIENT_ID"`
	GitHubClientSecret    string   `yaml:"oauth_github_client_secret" env:"AUTH_OAUTH_GITHUB_CLIENT_SECRET" secret:"true"`
	MicrosoftClientID     string   `yaml:"oauth_microsoft_client_id" env:"AUTH_OAUTH_MICROSOFT_CLIENT_ID"`
	MicrosoftClientSecret string   `yaml:"oauth_microsoft_client_secret" env:"AUTH_OAUTH_MICROSOFT_CLIENT_SECRET" secret:"true"`
	FacebookClientID      string   `yaml:"oauth_facebook_client_id" env:"AUTH_OAUTH_FACEBOOK_CLIENT_ID"`
	FacebookClientSecret  string   `yaml:"oauth_facebook_client_secret" env:"AUTH_OAUTH_FACEBOOK_CLIENT_SECRET" secret:"true"`
	XClientID             string   `yaml:"oauth_x_client_id" env:"AUTH_OAUTH_X_CLIENT_ID"`
	XClientSecret         string   `yaml:"oauth_x_client_secret" env:"AUTH_OAUTH_X_CLIENT_SECRET" secret:"true"`
	AppleClientID         string   `yaml:"oauth_apple_client_id" env:"AUTH_OAUTH_APPLE_CLIENT_ID"`
	AppleTeamID           string   `yaml:"oauth_apple_team_id" env:"AUTH_OAUTH_APPLE_TEAM_ID"`
	AppleKeyID            string   `yaml:"oauth_apple_key_id" env:"AUTH_OAUTH_APPLE_KEY_ID"`
	ApplePrivateKey       string   `yaml:"oauth_apple_private_key" env:"AUTH_OAUTH_APPLE_PRIVATE_KEY" secret:"true"`
	OIDCIssuers           []string `yaml:"oauth_oidc_issuers" env:"AUTH_OAUTH_OIDC_ISSUERS"`
	OIDCClientIDs         []string `yaml:"oauth_oidc_client_ids" env:"AUTH_OAUTH_OIDC_CLIENT_IDS"`
	OIDCClientSecrets     []string `yaml:"oauth_oidc_client_secrets" env:"AUTH_OAUTH_OIDC_CLIENT_SECRETS" secret:"true"`
}

// Validate checks the rules make sense.
func (c Config) Validate() error {
	for _, d := range []time.Duration{c.CodeTTL, c.AccessTokenTTL, c.SessionTTL, c.RateWindow, c.LockoutWindow, c.LockoutBase, c.KnownClientTTL} {
		if d <= 0 {
			return fmt.Errorf("AUTH_CODE_TTL, AUTH_ACCESS_TOKEN_TTL, AUTH_SESSION_TTL, AUTH_RATE_WINDOW, AUTH_LOCKOUT_WINDOW, AUTH_LOCKOUT_BASE and AUTH_KNOWN_CLIENT_TTL must be positive")
		}
	}

	if c.LockoutMax < c.LockoutBase {
		return fmt.Errorf("AUTH_LOCKOUT_MAX must be at least AUTH_LOCKOUT_BASE (got %s < %s)", c.LockoutMax, c.LockoutBase)
	}

	// A limit of zero would silently turn sign-in throttling off.
	if min(c.RequestsPerID, c.RequestsPerIdentity, c.RequestsPerIP, c.VerificationsPerIP, c.VerificationsPerIDClient, int(c.CodeMaxAttempts)) < 1 {
		return fmt.Errorf("AUTH_CODE_MAX_ATTEMPTS and the AUTH_RATE_* limits must be at least 1")
	}

	// One client alone must not be able to lock an identity out.
	if c.LockoutFailures <= c.VerificationsPerIDClient {
		return fmt.Errorf("AUTH_LOCKOUT_FAILURES must be greater than AUTH_RATE_VERIFICATIONS_PER_IDENTITY_CLIENT (got %d <= %d)",
			c.LockoutFailures, c.VerificationsPerIDClient)
	}

	if c.AccessTokenTTL >= c.SessionTTL {
		return fmt.Errorf("AUTH_ACCESS_TOKEN_TTL must be shorter than AUTH_SESSION_TTL")
	}

	// A grace as long as an access token would let a stolen refresh token
	// be replayed for as long as the access token it would mint.
	if c.RefreshReuseGrace < 0 || c.RefreshReuseGrace >= c.AccessTokenTTL {
		return fmt.Errorf("AUTH_REFRESH_REUSE_GRACE must be between 0 and AUTH_ACCESS_TOKEN_TTL (got %s)", c.RefreshReuseGrace)
	}

	return c.validateOAuth()
}

// TokenIssuer signs access tokens.
type TokenIssuer interface {
	IssueAccess(userID, sessionID, role string, now time.Time, ttl time.Duration) (string, time.Time, error)
}

// Deliverer tells which channels can carry a code.
type Deliverer interface {
	CanDeliver(ch notifier.Channel) bool
}

// SessionInvalidator makes every replica forget the session checks it
// cached (the platform's session cache, registry.Host.SessionCache).
type SessionInvalidator interface {
	InvalidateSessions(ctx context.Context, sessionIDs ...string) error
}

// ProfileCache keeps the public profiles that other users see (the
// platform's cache: shared by the replicas in Redis when CACHE_URL is set,
// else in each one's memory), invalidated on every replica on change.
type ProfileCache interface {
	GetOrLoadMany(ctx context.Context, userIDs []string,
		load func(ctx context.Context, missing []string) (map[string]models.PublicProfile, error),
	) (map[string]models.PublicProfile, error)
	Invalidate(ctx context.Context, userIDs ...string) error
}

// Deps are the service's collaborators.
type Deps struct {
	Repo     repository.Repository
	Tokens   TokenIssuer
	Delivery Deliverer
	// Sessions is told of every session that ends, after it committed; nil
	// when nothing caches session checks.
	Sessions SessionInvalidator
	// Profiles caches public profiles; nil reads them from the database
	// every time.
	Profiles ProfileCache
	Logger   *slog.Logger
	// CodeKey keys the HMAC of one-time codes (keys of at least 32
	// bytes).
	CodeKey Keyring
	// RefreshKey keys the derivation of a refresh token's successor (keys
	// of at least 32 bytes), see successorTokens.
	RefreshKey Keyring
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// HTTPClient reaches the OAuth providers (the platform's guarded
	// client); nil means a plain one. Each request is bounded by
	// providerTimeout either way.
	HTTPClient *http.Client
}

// Service implements auth.v1.AuthService.
type Service struct {
	authv1.UnimplementedAuthServiceServer

	repo     repository.Repository
	tokens   TokenIssuer
	delivery Deliverer
	sessions SessionInvalidator
	profiles ProfileCache
	logger   *slog.Logger
	codeKey  Keyring
	refKey   Keyring
	now      func() time.Time
	cfg      Config
	// spent are the rate keys this replica saw over their limit.
	spent *spentKeys
	// providers are the enabled OAuth providers, by name.
	providers map[string]*oauth.Provider
}

// New returns a service.
func New(cfg Config, d Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}

	if !validKeyring(d.CodeKey) || !validKeyring(d.RefreshKey) {
		return nil, fmt.Errorf("code and refresh keys must be at least %d bytes", sha256.Size)
	}

	now := d.Now
	if now == nil {
		now = time.Now
	}

	providers, err := cfg.oauthProviders(d.HTTPClient)
	if err != nil {
		return nil, err
	}

	return &Service{
		repo: d.Repo, tokens: d.Tokens, delivery: d.Delivery, sessions: d.Sessions, profiles: d.Profiles, logger: d.Logger,
		codeKey: d.CodeKey, refKey: d.RefreshKey, now: func() time.Time { return now().UTC() }, cfg: cfg,
		providers: providers, spent: newSpentKeys(),
	}, nil
}

// newCode returns six uniformly random digits from crypto/rand.
func newCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", errors.Internal("generate code", err)
	}

	return fmt.Sprintf("%06d", n.Int64()), nil
}

// codeHash is the HMAC under which a code is stored, bound to its purpose,
// destination and requesting user so it is useless anywhere else. New
// codes are stored under the current code key.
func (s *Service) codeHash(purpose, identity, userID, code string) []byte {
	current, _ := s.codeKey.Keys()

	return codeHMAC(current, purpose, identity, userID, code)
}

// codeMatches reports, in constant time, whether code is the one stored
// as stored: under the current key or, during a rotation of the platform
// secret, the previous one, so that a code sent just before the rotation
// still signs its user in. Both keys are always tried.
func (s *Service) codeMatches(stored []byte, purpose, identity, userID, code string) bool {
	current, previous := s.codeKey.Keys()
	match := hmac.Equal(codeHMAC(current, purpose, identity, userID, code), stored)

	if previous != nil && hmac.Equal(codeHMAC(previous, purpose, identity, userID, code), stored) {
		match = true
	}

	return match
}

func codeHMAC(key []byte, parts ...string) []byte {
	m := hmac.New(sha256.New, key)
	for _, part := range parts {
		m.Write([]byte(part))
		m.Write([]byte{0})
	}

	return m.Sum(nil)
}

// Keyring gives the keys of one purpose derived from the platform secret:
// the current key and, during a rotation, the previous one (else nil).
// *secrets.Key is one.
type Keyring interface {
	Keys() (current, previous []byte)
}

// validKeyring reports whether k's keys are long enough.
func validKeyring(k Keyring) bool {
	if k == nil {
		return false
	}

	current, previous := k.Keys()

	return len(current) >= sha256.Size && (previous == nil || len(previous) >= sha256.Size)
}

// newRefreshToken returns the opaque first token of a session.
func newRefreshToken() (string, error) { return newSecret("refresh token") }

// newSecret returns 32 random bytes, base64url: a token, state or code
// known to the server only by its hash.
func newSecret(what string) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", errors.Internal("generate "+what, err)
	}

	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// successorTokens are the tokens a refresh token may be exchanged for: an
// HMAC of it under the current refresh key, which a new exchange issues,
// and during a rotation under the previous key too. Only a holder of the
// old token (and the server) can compute them, while the database keeps
// hashes only. Deriving the successor rather than drawing it lets a
// second, concurrent exchange of the same token (within
// AUTH_REFRESH_REUSE_GRACE) get the very successor the first one stored,
// with nothing secret stored for it, even when the secret rotated in
// between. Refresh tokens themselves are stored as plain SHA-256 hashes,
// so a rotation signs no one out.
func (s *Service) successorTokens(token string) []string {
	current, previous := s.refKey.Keys()
	out := []string{successorToken(current, token)}

	if previous != nil {
		out = append(out, successorToken(previous, token))
	}

	return out
}

func successorToken(key []byte, token string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("refresh-successor\x00"))
	m.Write([]byte(token))

	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))

	return h[:]
}

// identity is a normalized email address or phone number.
type identity struct {
	value   string
	channel notifier.Channel
}

// emailIdentity lowercases the address: addresses match case-insensitively.
// Validation has already refused anything that is not an address.
func emailIdentity(email string) identity {
	return identity{value: strings.ToLower(email), channel: notifier.ChannelEmail}
}

func phoneIdentity(phone string) identity {
	return identity{value: phone, channel: notifier.ChannelSMS}
}

// field names the profile field the identity is stored in.
func (i identity) field() string {
	if i.channel == notifier.ChannelSMS {
		return "phone"
	}

	return "email"
}

// eventChannel names a notifier channel in event payloads.
func (i identity) eventChannel() string {
	if i.channel == notifier.ChannelSMS {
		return authevents.ChannelSMS
	}

	return authevents.ChannelEmail
}

// throttle counts one request against key and fails once the rate
// window's limit is passed. Counters live in PostgreSQL, so every replica
// shares them; once a replica saw a key over its limit, it refuses the
// key's requests for the rest of the window without counting them, which
// would change nothing but cost a write.
func (s *Service) throttle(ctx context.Context, key string, limit int) error {
	return s.throttleIn(ctx, key, limit, s.cfg.RateWindow)
}

// throttleIn is throttle in windows of another length.
func (s *Service) throttleIn(ctx context.Context, key string, limit int, window time.Duration) error {
	now := s.now()
	start := now.Truncate(window)
	end := start.Add(window)

	if until, ok := s.spent.spent(key, now); ok {
		return errors.RateLimited("too many requests; try again later", until.Sub(now))
	}

	hits, err := s.repo.HitRateLimit(ctx, key, start)
	if err != nil {
		return err
	}

	if hits > limit {
		s.spent.spend(key, end)

		return errors.RateLimited("too many requests; try again later", end.Sub(now))
	}

	return nil
}
