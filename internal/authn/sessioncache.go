package authn

import (
	"context"
	"fmt"
	"time"

	"github.com/modulith/modulith/internal/cache"
)

// sessionCacheEntries bounds the sessions a replica remembers: about 100
// bytes each.
const sessionCacheEntries = 100_000

// SessionCache remembers on each replica, for SESSION_CACHE_TTL at most,
// the session checks of recent requests, so that a session's requests
// after its first cost no database lookup. Its entries last no longer than
// the access token that made them (auth issues none past its session's
// end), and the module that owns sessions invalidates them when a session
// ends, on every replica, before its answer returns (InvalidateSessions;
// see package cache for the guarantee). A TTL of 0, or a nil
// SessionCache, turns it off.
type SessionCache struct {
	c *cache.Cache[checkedSession] // nil when off
}

// checkedSession is a successful check.
type checkedSession struct {
	UserID string
	Role   string
	Until  time.Time // the access token's expiry
}

// NewSessionCache returns a session cache whose invalidations go through
// h; ttl 0 turns it off.
func NewSessionCache(h *cache.Hub, ttl time.Duration) (*SessionCache, error) {
	if ttl <= 0 {
		return &SessionCache{}, nil
	}

	c, err := cache.New(h, cache.Options[checkedSession]{
		Name: "authn.sessions", TTL: ttl, MaxEntries: sessionCacheEntries, Local: true,
		Until: func(s checkedSession) time.Time { return s.Until },
	})
	if err != nil {
		return nil, fmt.Errorf("session cache: %w", err)
	}

	return &SessionCache{c: c}, nil
}

// Check is next's check of the session, from memory when it was made
// recently with an access token that is still valid.
func (s *SessionCache) Check(ctx context.Context, sessionID, userID string, next SessionChecker) (string, error) {
	until, ok := tokenExpiry(ctx)
	if s == nil || s.c == nil || !ok {
		return next.CheckSession(ctx, sessionID, userID)
	}

	got, err := s.c.GetOrLoad(ctx, sessionID, func(ctx context.Context) (checkedSession, error) {
		role, err := next.CheckSession(ctx, sessionID, userID)

		return checkedSession{UserID: userID, Role: role, Until: until}, err
	})
	if err != nil {
		return "", err
	}

	// Signed tokens pair a session with its user; a mismatch is not
	// answered from memory.
	if got.UserID != userID {
		return next.CheckSession(ctx, sessionID, userID)
	}

	return got.Role, nil
}

// InvalidateSessions makes every replica forget the checks of sessions
// that ended; call it once their end committed. It returns when every
// replica forgot them or stopped trusting its memory.
func (s *SessionCache) InvalidateSessions(ctx context.Context, sessionIDs ...string) error {
	if s == nil || s.c == nil {
		return nil
	}

	return s.c.Invalidate(ctx, sessionIDs...)
}

type tokenExpiryKey struct{}

// withTokenExpiry returns a context carrying the expiry of the caller's
// access token, which bounds how long its session check may be kept.
func withTokenExpiry(ctx context.Context, exp time.Time) context.Context {
	return context.WithValue(ctx, tokenExpiryKey{}, exp)
}

func tokenExpiry(ctx context.Context) (time.Time, bool) {
	exp, ok := ctx.Value(tokenExpiryKey{}).(time.Time)

	return exp, ok && !exp.IsZero()
}
