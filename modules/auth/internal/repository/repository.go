// Package repository is the auth module's data access: it wraps the
// sqlc-generated store and speaks models, on the platform's repository
// plumbing (internal/repo: transactions, events published in them, spans
// and driver errors translated once). It holds no business rules and never
// generates identifiers.
package repository

//go:generate go tool mockgen -destination=mocks/repository.go -package=mocks github.com/modulith/modulith/modules/auth/internal/repository Repository

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/repo"
	"github.com/modulith/modulith/modules/auth/internal/db/store"
	"github.com/modulith/modulith/modules/auth/internal/models"
)

// Repository is what the auth service needs from storage.
type Repository interface {
	// WithTx runs fn with a repository bound to one transaction, committed
	// when fn returns nil and rolled back otherwise (or on panic).
	WithTx(ctx context.Context, fn func(tx Repository) error) error

	User(ctx context.Context, id string) (models.User, error)
	UserByEmail(ctx context.Context, email string) (models.User, error)
	UserByPhone(ctx context.Context, phone string) (models.User, error)
	CreateUser(ctx context.Context, u models.User) (models.User, error)
	UpdateDisplayName(ctx context.Context, id, name string, now time.Time) (models.User, error)
	UpdateEmail(ctx context.Context, id, email string, now time.Time) (models.User, error)
	UpdatePhone(ctx context.Context, id, phone string, now time.Time) (models.User, error)
	// PublicProfiles returns the profiles of the users of ids that exist.
	PublicProfiles(ctx context.Context, ids []string) ([]models.PublicProfile, error)

	CreateMagicCode(ctx context.Context, c models.MagicCode) error
	// RevokeActiveMagicCodes revokes the usable codes client asked for.
	RevokeActiveMagicCodes(ctx context.Context, purpose, identity, userID, client string, now time.Time) error
	// ActiveMagicCode returns and locks the newest usable code, client's
	// own first; call it in a transaction.
	ActiveMagicCode(ctx context.Context, purpose, identity, userID, client string, now time.Time) (models.MagicCode, error)
	// RecordFailedAttempt counts a wrong guess on code id (none when no
	// code has that id, 0 returned) and revokes it at maxAttempts.
	RecordFailedAttempt(ctx context.Context, id string, maxAttempts int32, now time.Time) (int, error)
	MarkMagicCodeUsed(ctx context.Context, id string, now time.Time) error

	CreateSession(ctx context.Context, s models.Session) error
	CheckSession(ctx context.Context, sessionID, userID string, now time.Time) (role string, err error)
	Session(ctx context.Context, id string) (models.Session, error)
	ActiveSessions(ctx context.Context, userID string, now time.Time) ([]models.Session, error)
	RevokeSession(ctx context.Context, id string, now time.Time) (bool, error)
	// RevokeUserSessions ends every live session of a user and returns their IDs.
	RevokeUserSessions(ctx context.Context, userID string, now time.Time) ([]string, error)

	CreateRefreshToken(ctx context.Context, t models.RefreshToken) error
	// UseRefreshToken marks an unused, unexpired token used and returns its
	// session; NotFound when there is no such token.
	UseRefreshToken(ctx context.Context, hash []byte, now time.Time) (sessionID string, err error)
	RefreshToken(ctx context.Context, hash []byte) (models.RefreshToken, error)

	// LockLoginLockout returns the failure record of key (an empty one
	// starting at windowStart if there is none, stored) and locks it; call
	// it in a transaction.
	LockLoginLockout(ctx context.Context, key string, windowStart time.Time) (models.LoginLockout, error)
	SaveLoginLockout(ctx context.Context, l models.LoginLockout) error
	// KnownLoginClient reports whether client completed a code check for
	// key (a failure record's key) at or after since.
	KnownLoginClient(ctx context.Context, key, client string, since time.Time) (bool, error)
	// RememberLoginClient records that client completed a code check for
	// key at now.
	RememberLoginClient(ctx context.Context, key, client string, now time.Time) error

	// LockUser returns a user and locks it until the transaction ends.
	LockUser(ctx context.Context, id string) (models.User, error)
	// OAuthAccount returns the account subject at provider; NotFound when
	// none is linked.
	OAuthAccount(ctx context.Context, provider, subject string) (models.OAuthAccount, error)
	CreateOAuthAccount(ctx context.Context, a models.OAuthAccount) error
	// OAuthAccounts lists a user's provider accounts, oldest first.
	OAuthAccounts(ctx context.Context, userID string) ([]models.OAuthAccount, error)
	// DeleteOAuthAccount unlinks account id of userID and reports whether
	// there was one.
	DeleteOAuthAccount(ctx context.Context, id, userID string) (bool, error)
	CreateOAuthState(ctx context.Context, s models.OAuthState) error
	// UseOAuthState marks an unused, unexpired state used and returns it;
	// NotFound when there is no such state.
	UseOAuthState(ctx context.Context, hash []byte, now time.Time) (models.OAuthState, error)
	CreateOAuthExchangeCode(ctx context.Context, c models.OAuthExchangeCode) error
	// UseOAuthExchangeCode marks an unused, unexpired code used and
	// returns it; NotFound when there is no such code.
	UseOAuthExchangeCode(ctx context.Context, hash []byte, now time.Time) (models.OAuthExchangeCode, error)

	// HitRateLimit counts one hit on key in the window starting at
	// windowStart and returns the hits so far.
	HitRateLimit(ctx context.Context, key string, windowStart time.Time) (int, error)

	// Publish stores an event: inside WithTx it commits (and will be
	// delivered) if and only if the transaction does.
	Publish(ctx context.Context, p events.Payload) error

	DeleteEndedSessions(ctx context.Context, before time.Time) (int64, error)
	DeleteExpiredMagicCodes(ctx context.Context, before time.Time) (int64, error)
	DeleteRateLimitsBefore(ctx context.Context, before time.Time) (int64, error)
	// DeleteLoginLockoutsBefore removes failure records with no failure
	// and no cool-down since before.
	DeleteLoginLockoutsBefore(ctx context.Context, before time.Time) (int64, error)
	DeleteExpiredOAuthStates(ctx context.Context, before time.Time) (int64, error)
	DeleteExpiredOAuthExchangeCodes(ctx context.Context, before time.Time) (int64, error)
	// DeleteLoginKnownClientsBefore forgets clients whose last successful
	// check was before a time.
	DeleteLoginKnownClientsBefore(ctx context.Context, before time.Time) (int64, error)
}

// SQL is the PostgreSQL Repository.
type SQL struct {
	repo.Base[*store.Queries]
}

var _ Repository = (*SQL)(nil)

// New returns a repository on pool that publishes events through bus.
func New(pool *pgxpool.Pool, bus repo.Publisher) *SQL {
	return &SQL{repo.New("auth", pool, bus, store.New(pool))}
}

// WithTx runs fn in a transaction (see repo.Base.InTx).
func (r *SQL) WithTx(ctx context.Context, fn func(tx Repository) error) error {
	return r.InTx(ctx, func(b repo.Base[*store.Queries]) error { return fn(&SQL{b}) })
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}

	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}

	return *s
}
