package repository_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/modules/auth/internal/models"
	"github.com/modulith/modulith/modules/auth/internal/repository"
)

const (
	sessionTTL = 30 * 24 * time.Hour
	retention  = 7 * 24 * time.Hour
)

// newSession returns a session of userID created at createdAt and ending a
// sessionTTL later.
func newSession(t *testing.T, userID string, createdAt time.Time) models.Session {
	t.Helper()

	return models.Session{
		ID:        newID(t, "sess"),
		UserID:    userID,
		CreatedAt: createdAt,
		ExpiresAt: createdAt.Add(sessionTTL),
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64)",
		IPAddress: "203.0.113.7",
	}
}

func mustCreateSession(t *testing.T, repo repository.Repository, s models.Session) {
	t.Helper()

	if err := repo.CreateSession(t.Context(), s); err != nil {
		t.Fatalf("CreateSession(%s) = %v", s.ID, err)
	}
}

// liveSession creates a user and a session of theirs that lasts past now.
func liveSession(t *testing.T, repo repository.Repository, email string) models.Session {
	t.Helper()

	s := newSession(t, mustCreateUser(t, repo, email, "").ID, now.Add(-time.Hour))
	mustCreateSession(t, repo, s)

	return s
}

func mustRevokeSession(t *testing.T, repo repository.Repository, id string, at time.Time) {
	t.Helper()

	if ok, err := repo.RevokeSession(t.Context(), id, at); err != nil || !ok {
		t.Fatalf("RevokeSession(%s) = %t, %v; want true", id, ok, err)
	}
}

func wantRevokedAt(t *testing.T, repo repository.Repository, id string, want time.Time) {
	t.Helper()

	s, err := repo.Session(t.Context(), id)
	if err != nil {
		t.Fatalf("Session(%s) = %v", id, err)
	}

	if diff := cmp.Diff(&want, s.RevokedAt); diff != "" {
		t.Errorf("Session(%s).RevokedAt mismatch (-want +got):\n%s", id, diff)
	}
}

func TestSessionRoundTrip(t *testing.T) {
	t.Parallel()

	repo, _ := newRepo(t)
	want := liveSession(t, repo, "ada@example.com")

	got, err := repo.Session(t.Context(), want.ID)
	if err != nil {
		t.Fatalf("Session(%s) = %v", want.ID, err)
	}

	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Session(%s) mismatch (-want +got):\n%s", want.ID, diff)
	}

	_, err = repo.Session(t.Context(), newID(t, "sess"))
	wantType(t, "Session(unknown)", err, errors.TypeNotFound)
}

func TestCreateSessionDuplicate(t *testing.T) {
	t.Parallel()

	repo, _ := newRepo(t)
	s := liveSession(t, repo, "ada@example.com")

	err := repo.CreateSession(t.Context(), s)
	wantType(t, fmt.Sprintf("CreateSession(%s) again", s.ID), err, errors.TypeAlreadyExists)
}

// TestCheckSessionSeesRoleChange checks that CheckSession reads the user's
// role now, not the role the user had when signing in.
func TestCheckSessionSeesRoleChange(t *testing.T) {
	t.Parallel()

	repo, pool := newRepo(t)
	s := liveSession(t, repo, "ada@example.com")

	for _, role := range []string{"user", "admin", "user"} {
		if _, err := pool.Exec(t.Context(), "UPDATE auth.users SET role = $1 WHERE id = $2", role, s.UserID); err != nil {
			t.Fatalf("set role %s: %v", role, err)
		}

		got, err := repo.CheckSession(t.Context(), s.ID, s.UserID, now)
		if err != nil || got != role {
			t.Errorf("CheckSession after setting role %q = %q, %v; want %q", role, got, err, role)
		}
	}
}

func TestCheckSessionNotFound(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name      string
		expiresAt time.Time
		revoke    bool
		asOther   bool // check with another user's ID
		unknown   bool // check an ID no session has
	}{
		{name: "revoked", expiresAt: now.Add(time.Hour), revoke: true},
		{name: "expires now", expiresAt: now},
		{name: "expired", expiresAt: now.Add(-time.Second)},
		{name: "other user's id", expiresAt: now.Add(time.Hour), asOther: true},
		{name: "unknown session", expiresAt: now.Add(time.Hour), unknown: true},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			repo, _ := newRepo(t)
			s := newSession(t, mustCreateUser(t, repo, "ada@example.com", "").ID, now.Add(-time.Hour))
			s.ExpiresAt = tt.expiresAt
			mustCreateSession(t, repo, s)

			id, userID := s.ID, s.UserID
			if tt.asOther {
				userID = mustCreateUser(t, repo, "bob@example.com", "").ID
			}

			if tt.unknown {
				id = newID(t, "sess")
			}

			if tt.revoke {
				mustRevokeSession(t, repo, s.ID, now.Add(-time.Minute))
			}

			_, err := repo.CheckSession(t.Context(), id, userID, now)
			wantType(t, fmt.Sprintf("CheckSession(%s, %s)", id, userID), err, errors.TypeNotFound)
		})
	}
}

func TestActiveSessions(t *testing.T) {
	t.Parallel()

	repo, _ := newRepo(t)
	ada := mustCreateUser(t, repo, "ada@example.com", "").ID
	bob := liveSession(t, repo, "bob@example.com")

	oldest, newest, middle := newSession(t, ada, now.Add(-3*time.Hour)),
		newSession(t, ada, now.Add(-time.Hour)), newSession(t, ada, now.Add(-2*time.Hour))
	revoked, expired := newSession(t, ada, now.Add(-time.Minute)), newSession(t, ada, now.Add(-sessionTTL))

	for _, s := range []models.Session{oldest, newest, middle, revoked, expired} {
		mustCreateSession(t, repo, s)
	}

	mustRevokeSession(t, repo, revoked.ID, now)

	got, err := repo.ActiveSessions(t.Context(), ada, now)
	if err != nil {
		t.Fatalf("ActiveSessions(ada) = %v", err)
	}

	if diff := cmp.Diff([]models.Session{newest, middle, oldest}, got); diff != "" {
		t.Errorf("ActiveSessions(ada) mismatch (-want +got):\n%s", diff)
	}

	if got, err := repo.ActiveSessions(t.Context(), bob.UserID, now); err != nil || len(got) != 1 || got[0].ID != bob.ID {
		t.Errorf("ActiveSessions(bob) = %+v, %v; want only %s", got, err, bob.ID)
	}

	if got, err := repo.ActiveSessions(t.Context(), newID(t, "user"), now); err != nil || len(got) != 0 {
		t.Errorf("ActiveSessions(unknown user) = %+v, %v; want none", got, err)
	}
}

func TestRevokeSession(t *testing.T) {
	t.Parallel()

	repo, _ := newRepo(t)
	s := liveSession(t, repo, "ada@example.com")

	for i, want := range []bool{true, false} {
		// The second call comes later and must not move the revocation time.
		got, err := repo.RevokeSession(t.Context(), s.ID, now.Add(time.Duration(i)*time.Minute))
		if err != nil || got != want {
			t.Errorf("RevokeSession(%s) #%d = %t, %v; want %t", s.ID, i+1, got, err, want)
		}
	}

	wantRevokedAt(t, repo, s.ID, now)

	if ok, err := repo.RevokeSession(t.Context(), newID(t, "sess"), now); err != nil || ok {
		t.Errorf("RevokeSession(unknown) = %t, %v; want false, nil", ok, err)
	}
}

// createSessions creates n live sessions of userID and returns their IDs.
func createSessions(t *testing.T, repo repository.Repository, userID string, n int) []string {
	t.Helper()

	var ids []string

	for i := range n {
		s := newSession(t, userID, now.Add(-time.Duration(i+1)*time.Minute))
		mustCreateSession(t, repo, s)
		ids = append(ids, s.ID)
	}

	return ids
}

// TestRevokeUserSessions checks every live session of the user ends, and
// only those are returned: not sessions already revoked or expired (at
// now or before), nor another user's.
func TestRevokeUserSessions(t *testing.T) {
	t.Parallel()

	repo, _ := newRepo(t)
	ada := mustCreateUser(t, repo, "ada@example.com", "").ID
	bob := liveSession(t, repo, "bob@example.com")
	earlier, first := newSession(t, ada, now.Add(-4*time.Hour)), now.Add(-time.Hour)
	expired, expiresNow := newSession(t, ada, now.Add(-sessionTTL-time.Minute)), newSession(t, ada, now.Add(-sessionTTL))

	for _, s := range []models.Session{earlier, expired, expiresNow} {
		mustCreateSession(t, repo, s)
	}

	mustRevokeSession(t, repo, earlier.ID, first)

	live := createSessions(t, repo, ada, 3)

	for i, want := range [][]string{live, nil} {
		got, err := repo.RevokeUserSessions(t.Context(), ada, now)
		if diff := cmp.Diff(want, got, cmpopts.SortSlices(strings.Compare), cmpopts.EquateEmpty()); err != nil || diff != "" {
			t.Errorf("RevokeUserSessions(ada) #%d = %v; IDs (-want +got):\n%s", i+1, err, diff)
		}
	}

	if got, err := repo.ActiveSessions(t.Context(), ada, now); err != nil || len(got) != 0 {
		t.Errorf("ActiveSessions(ada) after RevokeUserSessions = %+v, %v; want none", got, err)
	}

	wantRevokedAt(t, repo, earlier.ID, first) // not moved by the revocations
	wantRevokedAt(t, repo, live[0], now)

	if s, err := repo.Session(t.Context(), expired.ID); err != nil || s.RevokedAt != nil {
		t.Errorf("Session(expired) after RevokeUserSessions = %+v, %v; want it expired, not revoked", s, err)
	}

	if _, err := repo.CheckSession(t.Context(), bob.ID, bob.UserID, now); err != nil {
		t.Errorf("CheckSession(bob) after RevokeUserSessions(ada) = %v, want bob's session live", err)
	}
}

func TestDeleteEndedSessions(t *testing.T) {
	t.Parallel()

	repo, pool := newRepo(t)
	ada := mustCreateUser(t, repo, "ada@example.com", "").ID
	before := now.Add(-retention)

	tests := []struct {
		name      string
		expiresAt time.Time
		revokedAt time.Time // zero: not revoked
		deleted   bool
	}{
		{"expired before", before.Add(-time.Second), time.Time{}, true},
		{"expired at before", before, time.Time{}, false},
		{"expired after before", before.Add(time.Second), time.Time{}, false},
		{"revoked before", now.Add(time.Hour), before.Add(-time.Second), true},
		{"revoked at before", now.Add(time.Hour), before, false},
		{"revoked after before", now.Add(time.Hour), before.Add(time.Second), false},
		{"live", now.Add(time.Hour), time.Time{}, false},
	}

	var kept []string

	for _, tt := range tests {
		s := newSession(t, ada, tt.expiresAt.Add(-sessionTTL))
		mustCreateSession(t, repo, s)

		if !tt.revokedAt.IsZero() {
			mustRevokeSession(t, repo, s.ID, tt.revokedAt)
		}

		if !tt.deleted {
			kept = append(kept, s.ID)
		}
	}

	n, err := repo.DeleteEndedSessions(t.Context(), before)
	if want := int64(len(tests) - len(kept)); err != nil || n != want {
		t.Errorf("DeleteEndedSessions(now - retention) = %d, %v; want %d", n, err, want)
	}

	wantIDs(t, pool, "SELECT id FROM auth.sessions", kept)
}

// newToken returns a refresh token of a session, known by a SHA-256 hash.
func newToken(t *testing.T, sessionID string, createdAt time.Time) models.RefreshToken {
	t.Helper()

	hash := sha256.Sum256([]byte(rand.Text()))

	return models.RefreshToken{
		Hash: hash[:], SessionID: sessionID, CreatedAt: createdAt, ExpiresAt: createdAt.Add(sessionTTL),
	}
}

func mustCreateToken(t *testing.T, repo repository.Repository, tok models.RefreshToken) {
	t.Helper()

	if err := repo.CreateRefreshToken(t.Context(), tok); err != nil {
		t.Fatalf("CreateRefreshToken(%x) = %v", tok.Hash, err)
	}
}

func wantToken(t *testing.T, repo repository.Repository, want models.RefreshToken) {
	t.Helper()

	got, err := repo.RefreshToken(t.Context(), want.Hash)
	if err != nil {
		t.Fatalf("RefreshToken(%x) = %v", want.Hash, err)
	}

	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RefreshToken(%x) mismatch (-want +got):\n%s", want.Hash, diff)
	}
}

func TestUseRefreshToken(t *testing.T) {
	t.Parallel()

	repo, _ := newRepo(t)
	s := liveSession(t, repo, "ada@example.com")
	tok := newToken(t, s.ID, now.Add(-time.Hour))
	mustCreateToken(t, repo, tok)
	wantToken(t, repo, tok)

	got, err := repo.UseRefreshToken(t.Context(), tok.Hash, now)
	if err != nil || got != s.ID {
		t.Fatalf("UseRefreshToken = %q, %v; want %q", got, err, s.ID)
	}

	tok.UsedAt = &now
	wantToken(t, repo, tok)

	_, err = repo.UseRefreshToken(t.Context(), tok.Hash, now.Add(time.Second))
	wantType(t, "UseRefreshToken a second time", err, errors.TypeNotFound)
	wantToken(t, repo, tok) // still used at the first use
}

func TestUseRefreshTokenNotFound(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name      string
		expiresAt time.Time
		stored    bool
	}{
		{"expires now", now, true},
		{"expired", now.Add(-time.Second), true},
		{"unknown", now.Add(time.Hour), false},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			repo, _ := newRepo(t)
			tok := newToken(t, liveSession(t, repo, "ada@example.com").ID, now.Add(-time.Hour))
			tok.ExpiresAt = tt.expiresAt

			if tt.stored {
				mustCreateToken(t, repo, tok)
			}

			_, err := repo.UseRefreshToken(t.Context(), tok.Hash, now)
			wantType(t, "UseRefreshToken", err, errors.TypeNotFound)

			if tt.stored {
				wantToken(t, repo, tok) // not marked used
			}
		})
	}
}

func TestUseRefreshTokenConcurrent(t *testing.T) {
	t.Parallel()

	repo, _ := newRepo(t)
	tok := newToken(t, liveSession(t, repo, "ada@example.com").ID, now.Add(-time.Hour))
	mustCreateToken(t, repo, tok)

	errs := race(t, 20, func(ctx context.Context, _ int) error {
		sessionID, err := repo.UseRefreshToken(ctx, tok.Hash, now)
		if err == nil && sessionID != tok.SessionID {
			return fmt.Errorf("UseRefreshToken = %q, want %q", sessionID, tok.SessionID)
		}

		return err
	})

	wantOneWinner(t, errs)

	tok.UsedAt = &now
	wantToken(t, repo, tok)
}

func TestRefreshTokenUnknown(t *testing.T) {
	t.Parallel()

	repo, _ := newRepo(t)

	_, err := repo.RefreshToken(t.Context(), []byte("no such hash"))
	wantType(t, "RefreshToken(unknown)", err, errors.TypeNotFound)
}

func TestCreateRefreshTokenDuplicate(t *testing.T) {
	t.Parallel()

	repo, _ := newRepo(t)
	tok := newToken(t, liveSession(t, repo, "ada@example.com").ID, now)
	mustCreateToken(t, repo, tok)

	err := repo.CreateRefreshToken(t.Context(), tok)
	wantType(t, "CreateRefreshToken(same hash)", err, errors.TypeAlreadyExists)
}

// TestRefreshTokensDeletedWithSession checks the cascade: cleaning up a
// session removes its refresh tokens and no others.
func TestRefreshTokensDeletedWithSession(t *testing.T) {
	t.Parallel()

	repo, _ := newRepo(t)
	ended, live := liveSession(t, repo, "ada@example.com"), liveSession(t, repo, "bob@example.com")
	endedTokens := []models.RefreshToken{newToken(t, ended.ID, now), newToken(t, ended.ID, now)}
	liveToken := newToken(t, live.ID, now)

	for _, tok := range append(endedTokens, liveToken) {
		mustCreateToken(t, repo, tok)
	}

	mustRevokeSession(t, repo, ended.ID, now.Add(-retention-time.Second))

	if n, err := repo.DeleteEndedSessions(t.Context(), now.Add(-retention)); err != nil || n != 1 {
		t.Fatalf("DeleteEndedSessions = %d, %v; want 1", n, err)
	}

	for _, tok := range endedTokens {
		_, err := repo.RefreshToken(t.Context(), tok.Hash)
		wantType(t, "RefreshToken of a deleted session", err, errors.TypeNotFound)
	}

	wantToken(t, repo, liveToken)
}
