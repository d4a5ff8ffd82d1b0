package repository

import (
	"context"
	"time"

	"github.com/modulith/modulith/modules/auth/internal/db/store"
	"github.com/modulith/modulith/modules/auth/internal/models"
)

const (
	entitySession      = "session"
	entityRefreshToken = "refresh token"
)

func toSession(s store.AuthSession) models.Session {
	return models.Session{
		ID:        s.ID,
		UserID:    s.UserID,
		CreatedAt: s.CreatedAt,
		ExpiresAt: s.ExpiresAt,
		RevokedAt: s.RevokedAt,
		UserAgent: s.UserAgent,
		IPAddress: s.IpAddress,
	}
}

// CreateSession inserts a session.
func (r *SQL) CreateSession(ctx context.Context, s models.Session) error {
	ctx, end := span(ctx, "CreateSession", entitySession)
	defer end()

	err := r.q.CreateSession(ctx, store.CreateSessionParams{
		ID:        s.ID,
		UserID:    s.UserID,
		CreatedAt: s.CreatedAt,
		ExpiresAt: s.ExpiresAt,
		UserAgent: s.UserAgent,
		IpAddress: s.IPAddress,
	})

	return translate(ctx, entitySession, err)
}

// CheckSession returns the role of the session's user if the session is
// live; NotFound otherwise.
func (r *SQL) CheckSession(ctx context.Context, sessionID, userID string, now time.Time) (string, error) {
	ctx, end := span(ctx, "CheckSession", entitySession)
	defer end()

	role, err := r.q.CheckSession(ctx, store.CheckSessionParams{ID: sessionID, UserID: userID, Now: now})

	return role, translate(ctx, entitySession, err)
}

// Session returns a session by ID.
func (r *SQL) Session(ctx context.Context, id string) (models.Session, error) {
	ctx, end := span(ctx, "Session", entitySession)
	defer end()

	s, err := r.q.GetSession(ctx, id)
	if err != nil {
		return models.Session{}, translate(ctx, entitySession, err)
	}

	return toSession(s), nil
}

// ActiveSessions lists a user's live sessions, newest first.
func (r *SQL) ActiveSessions(ctx context.Context, userID string, now time.Time) ([]models.Session, error) {
	ctx, end := span(ctx, "ActiveSessions", entitySession)
	defer end()

	rows, err := r.q.ListActiveSessions(ctx, store.ListActiveSessionsParams{UserID: userID, Now: now})
	if err != nil {
		return nil, translate(ctx, entitySession, err)
	}

	sessions := make([]models.Session, len(rows))
	for i, s := range rows {
		sessions[i] = toSession(s)
	}

	return sessions, nil
}

// RevokeSession ends a session; false if it was already ended or unknown.
func (r *SQL) RevokeSession(ctx context.Context, id string, now time.Time) (bool, error) {
	ctx, end := span(ctx, "RevokeSession", entitySession)
	defer end()

	n, err := r.q.RevokeSession(ctx, store.RevokeSessionParams{ID: id, Now: now})

	return n > 0, translate(ctx, entitySession, err)
}

// RevokeUserSessions ends every live session of a user.
func (r *SQL) RevokeUserSessions(ctx context.Context, userID string, now time.Time) ([]string, error) {
	ctx, end := span(ctx, "RevokeUserSessions", entitySession)
	defer end()

	ids, err := r.q.RevokeUserSessions(ctx, store.RevokeUserSessionsParams{UserID: userID, Now: now})

	return ids, translate(ctx, entitySession, err)
}

// DeleteEndedSessions removes sessions that expired or were revoked before a time.
func (r *SQL) DeleteEndedSessions(ctx context.Context, before time.Time) (int64, error) {
	ctx, end := span(ctx, "DeleteEndedSessions", entitySession)
	defer end()

	n, err := r.q.DeleteEndedSessions(ctx, before)

	return n, translate(ctx, entitySession, err)
}

// CreateRefreshToken stores a refresh token's hash.
func (r *SQL) CreateRefreshToken(ctx context.Context, t models.RefreshToken) error {
	ctx, end := span(ctx, "CreateRefreshToken", entityRefreshToken)
	defer end()

	err := r.q.CreateRefreshToken(ctx, store.CreateRefreshTokenParams{
		TokenHash: t.Hash, SessionID: t.SessionID, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt,
	})

	return translate(ctx, entityRefreshToken, err)
}

// UseRefreshToken consumes a usable token and returns its session.
func (r *SQL) UseRefreshToken(ctx context.Context, hash []byte, now time.Time) (string, error) {
	ctx, end := span(ctx, "UseRefreshToken", entityRefreshToken)
	defer end()

	sessionID, err := r.q.UseRefreshToken(ctx, store.UseRefreshTokenParams{TokenHash: hash, Now: now})

	return sessionID, translate(ctx, entityRefreshToken, err)
}

// RefreshToken returns a token by hash, used or not.
func (r *SQL) RefreshToken(ctx context.Context, hash []byte) (models.RefreshToken, error) {
	ctx, end := span(ctx, "RefreshToken", entityRefreshToken)
	defer end()

	t, err := r.q.GetRefreshToken(ctx, hash)
	if err != nil {
		return models.RefreshToken{}, translate(ctx, entityRefreshToken, err)
	}

	return models.RefreshToken{
		Hash: t.TokenHash, SessionID: t.SessionID, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, UsedAt: t.UsedAt,
	}, nil
}
