package repository

import (
	"context"
	stderrors "errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/modulith/modulith/modules/auth/internal/db/store"
	"github.com/modulith/modulith/modules/auth/internal/models"
)

const (
	entityCode        = "magic code"
	entityRateLimit   = "rate limit"
	entityLockout     = "login lockout"
	entityKnownClient = "login known client"
)

// CreateMagicCode stores a code's HMAC.
func (r *SQL) CreateMagicCode(ctx context.Context, c models.MagicCode) (err error) {
	ctx, end := r.Span(ctx, "CreateMagicCode", entityCode)
	defer end(&err)

	err = r.Q.CreateMagicCode(ctx, store.CreateMagicCodeParams{
		ID:        c.ID,
		Purpose:   c.Purpose,
		Identity:  c.Identity,
		UserID:    nullable(c.UserID),
		Client:    c.Client,
		CodeHash:  c.CodeHash,
		CreatedAt: c.CreatedAt,
		ExpiresAt: c.ExpiresAt,
	})

	return err
}

// RevokeActiveMagicCodes makes every usable code a client asked for an
// identity unusable.
func (r *SQL) RevokeActiveMagicCodes(ctx context.Context, purpose, identity, userID, client string, now time.Time) (err error) {
	ctx, end := r.Span(ctx, "RevokeActiveMagicCodes", entityCode)
	defer end(&err)

	err = r.Q.RevokeActiveMagicCodes(ctx, store.RevokeActiveMagicCodesParams{
		Now: now, Purpose: purpose, Identity: identity, UserID: nullable(userID), Client: client,
	})

	return err
}

// ActiveMagicCode returns and locks the newest usable code, the client's
// own first.
func (r *SQL) ActiveMagicCode(ctx context.Context, purpose, identity, userID, client string, now time.Time) (_ models.MagicCode, err error) {
	ctx, end := r.Span(ctx, "ActiveMagicCode", entityCode)
	defer end(&err)

	c, err := r.Q.ActiveMagicCode(ctx, store.ActiveMagicCodeParams{
		Purpose: purpose, Identity: identity, UserID: nullable(userID), Client: client, Now: now,
	})
	if err != nil {
		return models.MagicCode{}, err
	}

	return models.MagicCode{
		ID:        c.ID,
		Purpose:   c.Purpose,
		Identity:  c.Identity,
		UserID:    deref(c.UserID),
		Client:    c.Client,
		CodeHash:  c.CodeHash,
		Attempts:  int(c.Attempts),
		CreatedAt: c.CreatedAt,
		ExpiresAt: c.ExpiresAt,
	}, nil
}

// RecordFailedAttempt counts a wrong guess and revokes the code once the
// guesses reach maxAttempts; it returns the guesses so far, 0 when no code
// has that id (the statement runs all the same: see service.consumeCode).
func (r *SQL) RecordFailedAttempt(ctx context.Context, id string, maxAttempts int32, now time.Time) (_ int, err error) {
	ctx, end := r.Span(ctx, "RecordFailedAttempt", entityCode)
	defer end(&err)

	attempts, err := r.Q.RecordFailedAttempt(ctx, store.RecordFailedAttemptParams{
		ID: id, MaxAttempts: maxAttempts, Now: now,
	})
	if stderrors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}

	return int(attempts), err
}

// MarkMagicCodeUsed consumes a code.
func (r *SQL) MarkMagicCodeUsed(ctx context.Context, id string, now time.Time) (err error) {
	ctx, end := r.Span(ctx, "MarkMagicCodeUsed", entityCode)
	defer end(&err)

	return r.Q.MarkMagicCodeUsed(ctx, store.MarkMagicCodeUsedParams{ID: id, Now: now})
}

// DeleteExpiredMagicCodes removes codes that expired before a time.
func (r *SQL) DeleteExpiredMagicCodes(ctx context.Context, before time.Time) (_ int64, err error) {
	ctx, end := r.Span(ctx, "DeleteExpiredMagicCodes", entityCode)
	defer end(&err)

	n, err := r.Q.DeleteExpiredMagicCodes(ctx, before)

	return n, err
}

// HitRateLimit counts a hit in a fixed window.
func (r *SQL) HitRateLimit(ctx context.Context, key string, windowStart time.Time) (_ int, err error) {
	ctx, end := r.Span(ctx, "HitRateLimit", entityRateLimit)
	defer end(&err)

	hits, err := r.Q.HitRateLimit(ctx, store.HitRateLimitParams{Key: key, WindowStart: windowStart})

	return int(hits), err
}

// DeleteRateLimitsBefore removes counters of windows that started before a time.
func (r *SQL) DeleteRateLimitsBefore(ctx context.Context, before time.Time) (_ int64, err error) {
	ctx, end := r.Span(ctx, "DeleteRateLimitsBefore", entityRateLimit)
	defer end(&err)

	n, err := r.Q.DeleteRateLimitsBefore(ctx, before)

	return n, err
}

// LockLoginLockout returns and locks the failure record of key, creating
// an empty one.
func (r *SQL) LockLoginLockout(ctx context.Context, key string, windowStart time.Time) (_ models.LoginLockout, err error) {
	ctx, end := r.Span(ctx, "LockLoginLockout", entityLockout)
	defer end(&err)

	l, err := r.Q.LockLoginLockout(ctx, store.LockLoginLockoutParams{Key: key, WindowStart: windowStart})
	if err != nil {
		return models.LoginLockout{}, err
	}

	return models.LoginLockout{
		Key: l.Key, WindowStart: l.WindowStart, Failures: l.Failures, Lockouts: l.Lockouts, LockedUntil: l.LockedUntil,
	}, nil
}

// SaveLoginLockout stores a failure record LockLoginLockout returned.
func (r *SQL) SaveLoginLockout(ctx context.Context, l models.LoginLockout) (err error) {
	ctx, end := r.Span(ctx, "SaveLoginLockout", entityLockout)
	defer end(&err)

	return r.Q.SaveLoginLockout(ctx, store.SaveLoginLockoutParams{
		Key: l.Key, WindowStart: l.WindowStart, Failures: l.Failures, Lockouts: l.Lockouts, LockedUntil: l.LockedUntil,
	})
}

// DeleteLoginLockoutsBefore removes failure records idle since a time.
func (r *SQL) DeleteLoginLockoutsBefore(ctx context.Context, before time.Time) (_ int64, err error) {
	ctx, end := r.Span(ctx, "DeleteLoginLockoutsBefore", entityLockout)
	defer end(&err)

	n, err := r.Q.DeleteLoginLockoutsBefore(ctx, before)

	return n, err
}

// KnownLoginClient reports whether client completed a code check for key
// at or after since.
func (r *SQL) KnownLoginClient(ctx context.Context, key, client string, since time.Time) (_ bool, err error) {
	ctx, end := r.Span(ctx, "KnownLoginClient", entityKnownClient)
	defer end(&err)

	known, err := r.Q.KnownLoginClient(ctx, store.KnownLoginClientParams{Key: key, Client: client, Since: since})

	return known, err
}

// RememberLoginClient records that client completed a code check for key
// at now.
func (r *SQL) RememberLoginClient(ctx context.Context, key, client string, now time.Time) (err error) {
	ctx, end := r.Span(ctx, "RememberLoginClient", entityKnownClient)
	defer end(&err)

	return r.Q.RememberLoginClient(ctx, store.RememberLoginClientParams{Key: key, Client: client, Now: now})
}

// DeleteLoginKnownClientsBefore forgets clients whose last successful
// check was before a time.
func (r *SQL) DeleteLoginKnownClientsBefore(ctx context.Context, before time.Time) (_ int64, err error) {
	ctx, end := r.Span(ctx, "DeleteLoginKnownClientsBefore", entityKnownClient)
	defer end(&err)

	n, err := r.Q.DeleteLoginKnownClientsBefore(ctx, before)

	return n, err
}
