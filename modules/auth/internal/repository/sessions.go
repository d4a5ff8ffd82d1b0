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
func (r *SQL) CreateSession(ctx context.Context, s models.Session) (err error) {
	ctx, end := r.Span(ctx, "CreateSession", entitySession)
	defer end(&err)

	err = r.Q.CreateSession(ctx, store.CreateSessionParams{
		ID:        s.ID,
		UserID:    s.UserID,
		CreatedAt: s.CreatedAt,
		ExpiresAt: s.ExpiresAt,
		UserAgent: s.UserAgent,
		IpAddress: s.IPAddress,
	})

	return err
}

// CheckSession returns the role of the session's user if the session is
// live; NotFound otherwise.
func (r *SQL) CheckSession(ctx context.Context, sessionID, userID string, now time.Time) (_ string, err error) {
	ctx, end := r.Span(ctx, "CheckSession", entitySession)
	defer end(&err)

	role, err := r.Q.CheckSession(ctx, store.CheckSessionParams{ID: sessionID, UserID: userID, Now: now})

	return role, err
}

// Session returns a session by ID.
func (r *SQL) Session(ctx context.Context, id string) (_ models.Session, err error) {
	ctx, end := r.Span(ctx, "Session", entitySession)
	defer end(&err)

	s, err := r.Q.GetSession(ctx, id)
	if err != nil {
		return models.Session{}, err
	}

	return toSession(s), nil
}

// ActiveSessions lists a user's live sessions, newest first.
func (r *SQL) ActiveSessions(ctx context.Context, userID string, now time.Time) (_ []models.Session, err error) {
	ctx, end := r.Span(ctx, "ActiveSessions", entitySession)
	defer end(&err)

	rows, err := r.Q.ListActiveSessions(ctx, store.ListActiveSessionsParams{UserID: userID, Now: now})
	if err != nil {
		return nil, err
	}

	sessions := make([]models.Session, len(rows))
	for i, s := range rows {
		sessions[i] = toSession(s)
	}

	return sessions, nil
}

// RevokeSession ends a session; false if it was already ended or unknown.
func (r *SQL) RevokeSession(ctx context.Context, id string, now time.Time) (_ bool, err error) {
	ctx, end := r.Span(ctx, "RevokeSession", entitySession)
	defer end(&err)

	n, err := r.Q.RevokeSession(ctx, store.RevokeSessionParams{ID: id, Now: now})

	return n > 0, err
}

// RevokeUserSessions ends every live session of a user.
func (r *SQL) RevokeUserSessions(ctx context.Context, userID string, now time.Time) (_ []string, err error) {
	ctx, end := r.Span(ctx, "RevokeUserSessions", entitySession)
	defer end(&err)

	ids, err := r.Q.RevokeUserSessions(ctx, store.RevokeUserSessionsParams{UserID: userID, Now: now})

	return ids, err
}

// DeleteEndedSessions removes sessions that expired or were revoked before a time.
func (r *SQL) DeleteEndedSessions(ctx context.Context, before time.Time) (_ int64, err error) {
	ctx, end := r.Span(ctx, "DeleteEndedSessions", entitySession)
	defer end(&err)

	n, err := r.Q.DeleteEndedSessions(ctx, before)

	return n, err
}

// CreateRefreshToken stores a refresh token's hash.
func (r *SQL) CreateRefreshToken(ctx context.Context, t models.RefreshToken) (err error) {
	ctx, end := r.Span(ctx, "CreateRefreshToken", entityRefreshToken)
	defer end(&err)

	err = r.Q.CreateRefreshToken(ctx, store.CreateRefreshTokenParams{
		TokenHash: t.Hash, SessionID: t.SessionID, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt,
	})

	return err
}

// UseRefreshToken consumes a usable token and returns its session.
func (r *SQL) UseRefreshToken(ctx context.Context, hash []byte, now time.Time) (_ string, err error) {
	ctx, end := r.Span(ctx, "UseRefreshToken", entityRefreshToken)
	defer end(&err)

	sessionID, err := r.Q.UseRefreshToken(ctx, store.UseRefreshTokenParams{TokenHash: hash, Now: now})

	return sessionID, err
}

// RefreshToken returns a token by hash, used or not.
func (r *SQL) RefreshToken(ctx context.Context, hash []byte) (_ models.RefreshToken, err error) {
	ctx, end := r.Span(ctx, "RefreshToken", entityRefreshToken)
	defer end(&err)

	t, err := r.Q.GetRefreshToken(ctx, hash)
	if err != nil {
		return models.RefreshToken{}, err
	}

	return models.RefreshToken{
		Hash: t.TokenHash, SessionID: t.SessionID, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, UsedAt: t.UsedAt,
	}, nil
}
