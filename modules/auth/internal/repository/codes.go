package repository

import (
	"context"
	"time"

	"github.com/modulith/modulith/modules/auth/internal/db/store"
	"github.com/modulith/modulith/modules/auth/internal/models"
)

const (
	entityCode      = "magic code"
	entityRateLimit = "rate limit"
)

// CreateMagicCode stores a code's HMAC.
func (r *SQL) CreateMagicCode(ctx context.Context, c models.MagicCode) error {
	ctx, end := span(ctx, "CreateMagicCode", entityCode)
	defer end()

	err := r.q.CreateMagicCode(ctx, store.CreateMagicCodeParams{
		ID:        c.ID,
		Purpose:   c.Purpose,
		Identity:  c.Identity,
		UserID:    nullable(c.UserID),
		CodeHash:  c.CodeHash,
		CreatedAt: c.CreatedAt,
		ExpiresAt: c.ExpiresAt,
	})

	return translate(ctx, entityCode, err)
}

// RevokeActiveMagicCodes makes every usable code for an identity unusable.
func (r *SQL) RevokeActiveMagicCodes(ctx context.Context, purpose, identity, userID string, now time.Time) error {
	ctx, end := span(ctx, "RevokeActiveMagicCodes", entityCode)
	defer end()

	err := r.q.RevokeActiveMagicCodes(ctx, store.RevokeActiveMagicCodesParams{
		Now: now, Purpose: purpose, Identity: identity, UserID: nullable(userID),
	})

	return translate(ctx, entityCode, err)
}

// ActiveMagicCode returns and locks the newest usable code.
func (r *SQL) ActiveMagicCode(ctx context.Context, purpose, identity, userID string, now time.Time) (models.MagicCode, error) {
	ctx, end := span(ctx, "ActiveMagicCode", entityCode)
	defer end()

	c, err := r.q.ActiveMagicCode(ctx, store.ActiveMagicCodeParams{
		Purpose: purpose, Identity: identity, UserID: nullable(userID), Now: now,
	})
	if err != nil {
		return models.MagicCode{}, translate(ctx, entityCode, err)
	}

	return models.MagicCode{
		ID:        c.ID,
		Purpose:   c.Purpose,
		Identity:  c.Identity,
		UserID:    deref(c.UserID),
		CodeHash:  c.CodeHash,
		Attempts:  int(c.Attempts),
		CreatedAt: c.CreatedAt,
		ExpiresAt: c.ExpiresAt,
	}, nil
}

// RecordFailedAttempt counts a wrong guess and revokes the code once the
// guesses reach maxAttempts; it returns the guesses so far.
func (r *SQL) RecordFailedAttempt(ctx context.Context, id string, maxAttempts int32, now time.Time) (int, error) {
	ctx, end := span(ctx, "RecordFailedAttempt", entityCode)
	defer end()

	attempts, err := r.q.RecordFailedAttempt(ctx, store.RecordFailedAttemptParams{
		ID: id, MaxAttempts: maxAttempts, Now: now,
	})

	return int(attempts), translate(ctx, entityCode, err)
}

// MarkMagicCodeUsed consumes a code.
func (r *SQL) MarkMagicCodeUsed(ctx context.Context, id string, now time.Time) error {
	ctx, end := span(ctx, "MarkMagicCodeUsed", entityCode)
	defer end()

	return translate(ctx, entityCode, r.q.MarkMagicCodeUsed(ctx, store.MarkMagicCodeUsedParams{ID: id, Now: now}))
}

// DeleteExpiredMagicCodes removes codes that expired before a time.
func (r *SQL) DeleteExpiredMagicCodes(ctx context.Context, before time.Time) (int64, error) {
	ctx, end := span(ctx, "DeleteExpiredMagicCodes", entityCode)
	defer end()

	n, err := r.q.DeleteExpiredMagicCodes(ctx, before)

	return n, translate(ctx, entityCode, err)
}

// HitRateLimit counts a hit in a fixed window.
func (r *SQL) HitRateLimit(ctx context.Context, key string, windowStart time.Time) (int, error) {
	ctx, end := span(ctx, "HitRateLimit", entityRateLimit)
	defer end()

	hits, err := r.q.HitRateLimit(ctx, store.HitRateLimitParams{Key: key, WindowStart: windowStart})

	return int(hits), translate(ctx, entityRateLimit, err)
}

// DeleteRateLimitsBefore removes counters of windows that started before a time.
func (r *SQL) DeleteRateLimitsBefore(ctx context.Context, before time.Time) (int64, error) {
	ctx, end := span(ctx, "DeleteRateLimitsBefore", entityRateLimit)
	defer end()

	n, err := r.q.DeleteRateLimitsBefore(ctx, before)

	return n, translate(ctx, entityRateLimit, err)
}
