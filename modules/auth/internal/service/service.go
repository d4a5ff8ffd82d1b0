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
	"strings"
	"time"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/notifier"
	authevents "github.com/modulith/modulith/modules/auth/events"
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
type Config struct {
	CodeTTL            time.Duration `yaml:"code_ttl" env:"AUTH_CODE_TTL" default:"10m"`
	CodeMaxAttempts    int32         `yaml:"code_max_attempts" env:"AUTH_CODE_MAX_ATTEMPTS" default:"5"`
	AccessTokenTTL     time.Duration `yaml:"access_token_ttl" env:"AUTH_ACCESS_TOKEN_TTL" default:"15m"`
	SessionTTL         time.Duration `yaml:"session_ttl" env:"AUTH_SESSION_TTL" default:"720h"`
	RateWindow         time.Duration `yaml:"rate_window" env:"AUTH_RATE_WINDOW" default:"15m"`
	RequestsPerID      int           `yaml:"requests_per_identity" env:"AUTH_RATE_REQUESTS_PER_IDENTITY" default:"5"`
	RequestsPerIP      int           `yaml:"requests_per_ip" env:"AUTH_RATE_REQUESTS_PER_IP" default:"30"`
	VerificationsPerIP int           `yaml:"verifications_per_ip" env:"AUTH_RATE_VERIFICATIONS_PER_IP" default:"60"`
}

// Validate checks the rules make sense.
func (c Config) Validate() error {
	for _, d := range []time.Duration{c.CodeTTL, c.AccessTokenTTL, c.SessionTTL, c.RateWindow} {
		if d <= 0 {
			return fmt.Errorf("AUTH_CODE_TTL, AUTH_ACCESS_TOKEN_TTL, AUTH_SESSION_TTL and AUTH_RATE_WINDOW must be positive")
		}
	}

	// A limit of zero would silently turn sign-in throttling off.
	if min(c.RequestsPerID, c.RequestsPerIP, c.VerificationsPerIP, int(c.CodeMaxAttempts)) < 1 {
		return fmt.Errorf("AUTH_CODE_MAX_ATTEMPTS and the AUTH_RATE_* limits must be at least 1")
	}

	if c.AccessTokenTTL >= c.SessionTTL {
		return fmt.Errorf("AUTH_ACCESS_TOKEN_TTL must be shorter than AUTH_SESSION_TTL")
	}

	return nil
}

// TokenIssuer signs access tokens.
type TokenIssuer interface {
	IssueAccess(userID, sessionID, role string, now time.Time, ttl time.Duration) (string, time.Time, error)
}

// Deliverer tells which channels can carry a code.
type Deliverer interface {
	CanDeliver(ch notifier.Channel) bool
}

// Deps are the service's collaborators.
type Deps struct {
	Repo     repository.Repository
	Tokens   TokenIssuer
	Delivery Deliverer
	Logger   *slog.Logger
	// CodeKey keys the HMAC of one-time codes (at least 32 bytes).
	CodeKey []byte
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Service implements auth.v1.AuthService.
type Service struct {
	authv1.UnimplementedAuthServiceServer

	repo     repository.Repository
	tokens   TokenIssuer
	delivery Deliverer
	logger   *slog.Logger
	codeKey  []byte
	now      func() time.Time
	cfg      Config
}

// New returns a service.
func New(cfg Config, d Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}

	if len(d.CodeKey) < sha256.Size {
		return nil, fmt.Errorf("code key must be at least %d bytes", sha256.Size)
	}

	now := d.Now
	if now == nil {
		now = time.Now
	}

	return &Service{
		repo: d.Repo, tokens: d.Tokens, delivery: d.Delivery, logger: d.Logger,
		codeKey: d.CodeKey, now: func() time.Time { return now().UTC() }, cfg: cfg,
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
// destination and requesting user so it is useless anywhere else.
func (s *Service) codeHash(purpose, identity, userID, code string) []byte {
	m := hmac.New(sha256.New, s.codeKey)
	for _, part := range []string{purpose, identity, userID, code} {
		m.Write([]byte(part))
		m.Write([]byte{0})
	}

	return m.Sum(nil)
}

// newRefreshToken returns an opaque token and the hash stored for it.
func newRefreshToken() (token string, hash []byte, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, errors.Internal("generate refresh token", err)
	}

	token = base64.RawURLEncoding.EncodeToString(b[:])

	return token, hashToken(token), nil
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

// throttle counts one request against key and fails once the window's
// limit is passed. Counters live in PostgreSQL, so every replica shares them.
func (s *Service) throttle(ctx context.Context, key string, limit int) error {
	now := s.now()
	start := now.Truncate(s.cfg.RateWindow)

	hits, err := s.repo.HitRateLimit(ctx, key, start)
	if err != nil {
		return err
	}

	if hits > limit {
		return errors.RateLimited("too many requests; try again later", start.Add(s.cfg.RateWindow).Sub(now))
	}

	return nil
}
