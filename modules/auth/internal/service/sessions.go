package service

import (
	"context"
	"time"

	"github.com/modulith/modulith/internal/errors"
)

// CheckSession implements authn.SessionChecker: the one database lookup of
// every authenticated request. It returns the user's current role, so a
// role change applies at once, and refuses revoked or expired sessions, so
// logout applies at once.
func (s *Service) CheckSession(ctx context.Context, sessionID, userID string) (string, error) {
	role, err := s.repo.CheckSession(ctx, sessionID, userID, s.now())

	switch {
	case errors.IsType(err, errors.TypeNotFound):
		return "", errors.WithCode(errors.CodeAuthTokenInvalid, "session expired or revoked")
	case err != nil:
		return "", errors.Unavailable("cannot check the session now", errors.WithCause(err))
	default:
		return role, nil
	}
}

// Retention of ended sessions and expired codes before cleanup deletes them.
const retention = 7 * 24 * time.Hour

// CleanupSessions deletes sessions that ended more than a week ago.
func (s *Service) CleanupSessions(ctx context.Context) (int64, error) {
	return s.repo.DeleteEndedSessions(ctx, s.now().Add(-retention))
}

// CleanupMagicCodes deletes codes that expired more than a week ago,
// rate-limit counters of past windows (the longest, AUTH_RATE_WINDOW or
// AUTH_LOCKOUT_WINDOW), and the failure records of
// identities with no failure and no cool-down for a week (their next
// cool-down starts again at AUTH_LOCKOUT_BASE), and the known clients
// without a success for AUTH_KNOWN_CLIENT_TTL (ignored already), and the
// OAuth states and exchange codes that expired (useless from then on).
func (s *Service) CleanupMagicCodes(ctx context.Context) (int64, error) {
	now := s.now()

	codes, err := s.repo.DeleteExpiredMagicCodes(ctx, now.Add(-retention))
	if err != nil {
		return 0, err
	}

	if _, err := s.repo.DeleteRateLimitsBefore(ctx, now.Add(-max(s.cfg.RateWindow, s.cfg.LockoutWindow))); err != nil {
		return codes, err
	}

	if _, err := s.repo.DeleteLoginLockoutsBefore(ctx, now.Add(-retention)); err != nil {
		return codes, err
	}

	if _, err := s.repo.DeleteLoginKnownClientsBefore(ctx, now.Add(-s.cfg.KnownClientTTL)); err != nil {
		return codes, err
	}

	if _, err := s.repo.DeleteExpiredOAuthStates(ctx, now); err != nil {
		return codes, err
	}

	if _, err := s.repo.DeleteExpiredOAuthExchangeCodes(ctx, now); err != nil {
		return codes, err
	}

	return codes, nil
}
