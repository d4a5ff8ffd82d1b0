package repository_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/modules/auth/internal/models"
	"github.com/modulith/modulith/modules/auth/internal/repository"
)

const (
	login         = models.PurposeLogin
	contactChange = models.PurposeContactChange
	codeTTL       = 10 * time.Minute
	maxAttempts   = 3
)

// newCode returns a login code for ada@example.com created at createdAt.
func newCode(t *testing.T, createdAt time.Time) models.MagicCode {
	t.Helper()

	id := newID(t, "mcode")

	return models.MagicCode{
		ID:        id,
		Purpose:   login,
		Identity:  "ada@example.com",
		CodeHash:  []byte("hmac of " + id),
		CreatedAt: createdAt,
		ExpiresAt: createdAt.Add(codeTTL),
	}
}

func mustCreateCode(t *testing.T, repo repository.Repository, c models.MagicCode) {
	t.Helper()

	if err := repo.CreateMagicCode(t.Context(), c); err != nil {
		t.Fatalf("CreateMagicCode(%s %s %q) = %v", c.Purpose, c.Identity, c.UserID, err)
	}
}

// codeState is what the repository writes to a code after creating it.
type codeState struct {
	Attempts  int
	UsedAt    *time.Time
	RevokedAt *time.Time
}

func readCode(t *testing.T, pool *pgxpool.Pool, id string) codeState {
	t.Helper()

	var s codeState

	err := pool.QueryRow(t.Context(), "SELECT attempts, used_at, revoked_at FROM auth.magic_codes WHERE id = $1", id).
		Scan(&s.Attempts, &s.UsedAt, &s.RevokedAt)
	if err != nil {
		t.Fatalf("read magic code %s: %v", id, err)
	}

	return s
}

func wantCodeState(t *testing.T, pool *pgxpool.Pool, id string, want codeState) {
	t.Helper()

	if diff := cmp.Diff(want, readCode(t, pool, id)); diff != "" {
		t.Errorf("magic code %s mismatch (-want +got):\n%s", id, diff)
	}
}

// activeCode calls ActiveMagicCode for ada@example.com's login codes.
func activeCode(ctx context.Context, repo repository.Repository) (models.MagicCode, error) {
	return repo.ActiveMagicCode(ctx, login, "ada@example.com", "", "", now)
}

func wantNoActiveCode(t *testing.T, repo repository.Repository) {
	t.Helper()

	_, err := activeCode(t.Context(), repo)
	wantType(t, "ActiveMagicCode(login, ada@example.com)", err, errors.TypeNotFound)
}

func TestActiveMagicCodeReturnsNewest(t *testing.T) {
	t.Parallel()

	repo, _ := newRepo(t)
	older, newest, oldest := newCode(t, now.Add(-2*time.Minute)), newCode(t, now.Add(-time.Minute)), newCode(t, now.Add(-3*time.Minute))

	for _, c := range []models.MagicCode{older, newest, oldest} {
		mustCreateCode(t, repo, c)
	}

	got, err := activeCode(t.Context(), repo)
	if err != nil {
		t.Fatalf("ActiveMagicCode = %v", err)
	}

	if diff := cmp.Diff(newest, got); diff != "" {
		t.Errorf("ActiveMagicCode mismatch (-want +got):\n%s", diff)
	}
}

// TestActiveMagicCodeSkipsUnusable spoils the newest code in several ways
// and expects the older, usable one instead.
func TestActiveMagicCodeSkipsUnusable(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name  string
		edit  func(c *models.MagicCode)                                              // before it is created
		spoil func(ctx context.Context, repo repository.Repository, id string) error // after
	}{
		{name: "expires now", edit: func(c *models.MagicCode) { c.ExpiresAt = now }},
		{name: "expired", edit: func(c *models.MagicCode) { c.ExpiresAt = now.Add(-time.Second) }},
		{name: "used", spoil: func(ctx context.Context, repo repository.Repository, id string) error {
			return repo.MarkMagicCodeUsed(ctx, id, now)
		}},
		{name: "out of attempts", spoil: func(ctx context.Context, repo repository.Repository, id string) error {
			_, err := repo.RecordFailedAttempt(ctx, id, 1, now)

			return err
		}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			repo, _ := newRepo(t)
			older, newer := newCode(t, now.Add(-2*time.Minute)), newCode(t, now.Add(-time.Minute))

			if tt.edit != nil {
				tt.edit(&newer)
			}

			mustCreateCode(t, repo, older)
			mustCreateCode(t, repo, newer)

			if tt.spoil != nil {
				if err := tt.spoil(t.Context(), repo, newer.ID); err != nil {
					t.Fatalf("spoil the newer code: %v", err)
				}
			}

			got, err := activeCode(t.Context(), repo)
			if err != nil || got.ID != older.ID {
				t.Errorf("ActiveMagicCode = %s, %v; want the older code %s", got.ID, err, older.ID)
			}
		})
	}
}

// scope is a database with codes of different purposes, identities and
// users, named login, ada, bob and other.
type scope struct {
	repo     *repository.SQL
	pool     *pgxpool.Pool
	ada, bob string // user IDs
	codes    map[string]string
}

// newScope creates a login code and Ada's and Bob's contact-change codes for
// one identity, newest last so that a query ignoring purpose or user would
// pick the wrong one, and a login code for another identity.
func newScope(t *testing.T) scope {
	t.Helper()

	repo, pool := newRepo(t)
	s := scope{
		repo: repo, pool: pool, codes: map[string]string{},
		ada: mustCreateUser(t, repo, "ada@example.com", "").ID,
		bob: mustCreateUser(t, repo, "bob@example.com", "").ID,
	}

	for i, c := range []struct{ name, purpose, identity, userID string }{
		{"login", login, "new@example.com", ""},
		{"ada", contactChange, "new@example.com", s.ada},
		{"bob", contactChange, "new@example.com", s.bob},
		{"other", login, "other@example.com", ""},
	} {
		mc := newCode(t, now.Add(time.Duration(i-5)*time.Minute))
		mc.Purpose, mc.Identity, mc.UserID = c.purpose, c.identity, c.userID
		mustCreateCode(t, repo, mc)
		s.codes[c.name] = mc.ID
	}

	return s
}

// user returns the ID of a user named in a test table.
func (s scope) user(name string) string {
	return map[string]string{"": "", "ada": s.ada, "bob": s.bob}[name]
}

func TestActiveMagicCodeScope(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name              string
		purpose, identity string
		user              string // "", "ada" or "bob"
		want              string // the code's name; "" for none
	}{
		{"login", login, "new@example.com", "", "login"},
		{"ada's contact change", contactChange, "new@example.com", "ada", "ada"},
		{"bob's contact change", contactChange, "new@example.com", "bob", "bob"},
		{"other identity", login, "other@example.com", "", "other"},
		{"contact change without user", contactChange, "new@example.com", "", ""},
		{"login with user", login, "new@example.com", "ada", ""},
		{"contact change for other identity", contactChange, "other@example.com", "ada", ""},
		{"unknown identity", login, "nobody@example.com", "", ""},
		{"identity is case sensitive", login, "NEW@example.com", "", ""},
	}

	s := newScope(t)

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			call := fmt.Sprintf("ActiveMagicCode(%s, %s, %q)", tt.purpose, tt.identity, tt.user)

			got, err := s.repo.ActiveMagicCode(t.Context(), tt.purpose, tt.identity, s.user(tt.user), "", now)
			if tt.want == "" {
				wantType(t, call, err, errors.TypeNotFound)

				return
			}

			if err != nil || got.ID != s.codes[tt.want] {
				t.Errorf("%s = %s, %v; want code %s (%s)", call, got.ID, err, tt.want, s.codes[tt.want])
			}
		})
	}
}

func TestRevokeActiveMagicCodesScope(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name              string
		purpose, identity string
		user              string
		want              []string // names of the codes revoked
	}{
		{"login", login, "new@example.com", "", []string{"login"}},
		{"ada's contact change", contactChange, "new@example.com", "ada", []string{"ada"}},
		{"other identity", login, "other@example.com", "", []string{"other"}},
		{"contact change without user", contactChange, "new@example.com", "", nil},
		{"login with user", login, "new@example.com", "bob", nil},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			s := newScope(t)

			err := s.repo.RevokeActiveMagicCodes(t.Context(), tt.purpose, tt.identity, s.user(tt.user), "", now)
			if err != nil {
				t.Fatalf("RevokeActiveMagicCodes(%s, %s, %q) = %v", tt.purpose, tt.identity, tt.user, err)
			}

			want, got := map[string]*time.Time{}, map[string]*time.Time{}
			for name, id := range s.codes {
				want[name] = nil
				if slices.Contains(tt.want, name) {
					want[name] = &now
				}

				got[name] = readCode(t, s.pool, id).RevokedAt
			}

			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("revoked_at after RevokeActiveMagicCodes(%s, %s, %q) (-want +got):\n%s",
					tt.purpose, tt.identity, tt.user, diff)
			}
		})
	}
}

func TestRevokeActiveMagicCodesRevokesEveryActiveCode(t *testing.T) {
	t.Parallel()

	repo, pool := newRepo(t)
	first, second := newCode(t, now.Add(-2*time.Minute)), newCode(t, now.Add(-time.Minute))
	mustCreateCode(t, repo, first)
	mustCreateCode(t, repo, second)

	if err := repo.RevokeActiveMagicCodes(t.Context(), login, "ada@example.com", "", "", now); err != nil {
		t.Fatalf("RevokeActiveMagicCodes = %v", err)
	}

	wantNoActiveCode(t, repo)
	wantCodeState(t, pool, first.ID, codeState{RevokedAt: &now})
	wantCodeState(t, pool, second.ID, codeState{RevokedAt: &now})
}

func TestRecordFailedAttempt(t *testing.T) {
	t.Parallel()

	repo, pool := newRepo(t)
	c := newCode(t, now.Add(-time.Minute))
	mustCreateCode(t, repo, c)

	for want := 1; want <= maxAttempts; want++ {
		got, err := repo.RecordFailedAttempt(t.Context(), c.ID, maxAttempts, now)
		if err != nil || got != want {
			t.Fatalf("RecordFailedAttempt #%d = %d, %v; want %d", want, got, err, want)
		}

		if want == maxAttempts {
			break
		}

		active, err := activeCode(t.Context(), repo)
		if err != nil || active.Attempts != want {
			t.Errorf("ActiveMagicCode after %d failed attempts = %+v, %v; want the code with %d attempts",
				want, active, err, want)
		}
	}

	wantNoActiveCode(t, repo)
	wantCodeState(t, pool, c.ID, codeState{Attempts: maxAttempts, RevokedAt: &now})
}

// TestRecordFailedAttemptUnknownCode: a wrong guess with no code to count
// on runs the statement all the same and counts nothing.
func TestRecordFailedAttemptUnknownCode(t *testing.T) {
	t.Parallel()

	repo, _ := newRepo(t)

	for _, id := range []string{newID(t, "mcode"), ""} {
		if got, err := repo.RecordFailedAttempt(t.Context(), id, maxAttempts, now); got != 0 || err != nil {
			t.Errorf("RecordFailedAttempt(%q) = %d, %v; want 0, nil", id, got, err)
		}
	}
}

// TestRecordFailedAttemptKeepsRevokedCodeRevoked fails while
// RecordFailedAttempt sets revoked_at to NULL whenever the attempts are
// below the limit: a wrong guess against a code that a newer code request
// (or anything else) revoked brings that code back to life.
func TestRecordFailedAttemptKeepsRevokedCodeRevoked(t *testing.T) {
	t.Parallel()

	repo, pool := newRepo(t)
	c := newCode(t, now.Add(-time.Minute))
	mustCreateCode(t, repo, c)

	if err := repo.RevokeActiveMagicCodes(t.Context(), login, "ada@example.com", "", "", now); err != nil {
		t.Fatalf("RevokeActiveMagicCodes = %v", err)
	}

	if _, err := repo.RecordFailedAttempt(t.Context(), c.ID, maxAttempts, now); err != nil {
		t.Fatalf("RecordFailedAttempt = %v", err)
	}

	wantNoActiveCode(t, repo)
	wantCodeState(t, pool, c.ID, codeState{Attempts: 1, RevokedAt: &now})
}

func TestMarkMagicCodeUsed(t *testing.T) {
	t.Parallel()

	repo, pool := newRepo(t)
	c := newCode(t, now.Add(-time.Minute))
	mustCreateCode(t, repo, c)

	if err := repo.MarkMagicCodeUsed(t.Context(), c.ID, now); err != nil {
		t.Fatalf("MarkMagicCodeUsed = %v", err)
	}

	wantNoActiveCode(t, repo)
	wantCodeState(t, pool, c.ID, codeState{UsedAt: &now})
}

// raceWindow is how long a transaction holds a code between reading and
// using it: without the row lock, the other transactions would read the
// code in that time and use it too.
const raceWindow = 20 * time.Millisecond

// TestMagicCodeSingleUse checks that concurrent attempts with the right code
// consume it once: ActiveMagicCode's FOR UPDATE serializes them.
func TestMagicCodeSingleUse(t *testing.T) {
	t.Parallel()

	repo, pool := newRepo(t)
	c := newCode(t, now.Add(-time.Minute))
	mustCreateCode(t, repo, c)

	errs := race(t, 20, func(ctx context.Context, _ int) error {
		return repo.WithTx(ctx, func(tx repository.Repository) error {
			mc, err := activeCode(ctx, tx)
			if err != nil {
				return err
			}

			time.Sleep(raceWindow)

			return tx.MarkMagicCodeUsed(ctx, mc.ID, now)
		})
	})

	wantOneWinner(t, errs)
	wantCodeState(t, pool, c.ID, codeState{UsedAt: &now})
}

func TestDeleteExpiredMagicCodes(t *testing.T) {
	t.Parallel()

	repo, pool := newRepo(t)
	codes := map[string]models.MagicCode{}

	for name, expiresAt := range map[string]time.Time{
		"expired": now.Add(-time.Second), "expires now": now, "live": now.Add(time.Second), "used": now.Add(time.Second),
	} {
		c := newCode(t, expiresAt.Add(-codeTTL))
		mustCreateCode(t, repo, c)
		codes[name] = c
	}

	if err := repo.MarkMagicCodeUsed(t.Context(), codes["used"].ID, now); err != nil {
		t.Fatalf("MarkMagicCodeUsed = %v", err)
	}

	n, err := repo.DeleteExpiredMagicCodes(t.Context(), now)
	if err != nil || n != 1 {
		t.Errorf("DeleteExpiredMagicCodes(now) = %d, %v; want 1", n, err)
	}

	want := []string{codes["expires now"].ID, codes["live"].ID, codes["used"].ID}
	wantIDs(t, pool, "SELECT id FROM auth.magic_codes", want)
}

// wantIDs checks the IDs a query returns, in any order.
func wantIDs(t *testing.T, pool *pgxpool.Pool, query string, want []string) {
	t.Helper()

	rows, err := pool.Query(t.Context(), query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}

	var got []string

	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatalf("%s: %v", query, err)
		}

		got = append(got, id)
	}

	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", query, err)
	}

	slices.Sort(got)
	slices.Sort(want)

	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", query, diff)
	}
}

func TestHitRateLimit(t *testing.T) {
	t.Parallel()

	repo, _ := newRepo(t)
	window := now.Truncate(time.Minute)
	steps := []struct {
		key    string
		window time.Time
		want   int
	}{
		{"login:ada@example.com", window, 1},
		{"login:ada@example.com", window, 2},
		{"login:bob@example.com", window, 1},
		{"login:ada@example.com", window, 3},
		{"login:ada@example.com", window.Add(time.Minute), 1},
		{"login:ada@example.com", window.Add(time.Minute), 2},
		{"login:bob@example.com", window, 2},
	}

	for i, s := range steps {
		got, err := repo.HitRateLimit(t.Context(), s.key, s.window)
		if err != nil || got != s.want {
			t.Errorf("step %d: HitRateLimit(%q, %s) = %d, %v; want %d", i, s.key, s.window.Format(time.TimeOnly), got, err, s.want)
		}
	}
}

func TestHitRateLimitConcurrent(t *testing.T) {
	t.Parallel()

	repo, _ := newRepo(t)
	window := now.Truncate(time.Minute)

	const n = 50

	hits := make([]int, n)
	errs := race(t, n, func(ctx context.Context, i int) error {
		var err error

		hits[i], err = repo.HitRateLimit(ctx, "login:ada@example.com", window)

		return err
	})

	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent HitRateLimit = %v", err)
		}
	}

	// Every hit saw a different count: none was lost or counted twice.
	want := make([]int, n)
	for i := range want {
		want[i] = i + 1
	}

	slices.Sort(hits)

	if diff := cmp.Diff(want, hits); diff != "" {
		t.Errorf("counts returned by %d concurrent HitRateLimit (-want +got):\n%s", n, diff)
	}
}

func TestDeleteRateLimitsBefore(t *testing.T) {
	t.Parallel()

	repo, pool := newRepo(t)
	window := now.Truncate(time.Minute)

	for _, start := range []time.Time{window.Add(-2 * time.Minute), window.Add(-time.Minute), window} {
		for _, key := range []string{"login:ada@example.com", "login:bob@example.com"} {
			if _, err := repo.HitRateLimit(t.Context(), key, start); err != nil {
				t.Fatalf("HitRateLimit(%q, %s) = %v", key, start, err)
			}
		}
	}

	n, err := repo.DeleteRateLimitsBefore(t.Context(), window.Add(-time.Minute))
	if err != nil || n != 2 {
		t.Errorf("DeleteRateLimitsBefore(previous window) = %d, %v; want 2", n, err)
	}

	var left int
	if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM auth.rate_limits").Scan(&left); err != nil {
		t.Fatal(err)
	}

	if left != 4 {
		t.Errorf("rate limits left = %d, want 4", left)
	}
}

// TestMagicCodesPerClient: a request revokes only the codes its client
// asked for, and a check finds the checking client's own code first, an
// other client's newest code otherwise.
func TestMagicCodesPerClient(t *testing.T) {
	t.Parallel()

	const victim, stranger, elsewhere = "198.51.100.1", "203.0.113.9", "192.0.2.4"

	repo, pool := newRepo(t)
	mine, theirs := newCode(t, now.Add(-2*time.Minute)), newCode(t, now.Add(-time.Minute))
	mine.Client, theirs.Client = victim, stranger
	mustCreateCode(t, repo, mine)
	mustCreateCode(t, repo, theirs)

	for client, want := range map[string]string{victim: mine.ID, stranger: theirs.ID, elsewhere: theirs.ID} {
		got, err := repo.ActiveMagicCode(t.Context(), login, "ada@example.com", "", client, now)
		if err != nil || got.ID != want || got.Client == "" {
			t.Errorf("ActiveMagicCode(from %s) = %+v, %v; want code %s", client, got, err, want)
		}
	}

	if err := repo.RevokeActiveMagicCodes(t.Context(), login, "ada@example.com", "", stranger, now); err != nil {
		t.Fatalf("RevokeActiveMagicCodes(from %s) = %v", stranger, err)
	}

	wantCodeState(t, pool, mine.ID, codeState{})
	wantCodeState(t, pool, theirs.ID, codeState{RevokedAt: &now})
}

// TestLoginLockout creates, locks, saves and cleans up a failure record.
func TestLoginLockout(t *testing.T) {
	t.Parallel()

	const key = "login||ada@example.com"

	repo, _ := newRepo(t)
	window := now.Truncate(24 * time.Hour)

	var got models.LoginLockout

	err := repo.WithTx(t.Context(), func(tx repository.Repository) error {
		var err error

		got, err = tx.LockLoginLockout(t.Context(), key, window)

		return err
	})
	if want := (models.LoginLockout{Key: key, WindowStart: window}); err != nil || !cmp.Equal(want, got) {
		t.Fatalf("LockLoginLockout(new) = %+v, %v; want %+v", got, err, want)
	}

	until := now.Add(time.Hour)
	saved := models.LoginLockout{Key: key, WindowStart: window, Failures: 3, Lockouts: 2, LockedUntil: &until}

	if err := repo.SaveLoginLockout(t.Context(), saved); err != nil {
		t.Fatalf("SaveLoginLockout = %v", err)
	}

	// Locking again returns what was saved, whatever window it is given.
	if got, err := repo.LockLoginLockout(t.Context(), key, window.Add(time.Hour)); err != nil || !cmp.Equal(saved, got) {
		t.Errorf("LockLoginLockout(saved) = %+v, %v; want %+v", got, err, saved)
	}

	// Kept while the cool-down lasts, deleted once both it and the last
	// failure are older than the cut-off.
	for _, tc := range []struct {
		before time.Time
		want   int64
	}{{until, 0}, {until.Add(time.Second), 1}} {
		if n, err := repo.DeleteLoginLockoutsBefore(t.Context(), tc.before); err != nil || n != tc.want {
			t.Errorf("DeleteLoginLockoutsBefore(%s) = %d, %v; want %d", tc.before, n, err, tc.want)
		}
	}
}

// TestLoginKnownClients remembers and looks up the clients that completed
// a check for a key: a client is known to its key only, since
// its last success, and another success moves that time on.
func TestLoginKnownClients(t *testing.T) {
	t.Parallel()

	const (
		key    = "login||ada@example.com"
		client = "198.51.100.10"
	)

	repo, _ := newRepo(t)
	later := now.Add(time.Hour)

	for _, at := range []time.Time{now, later} {
		if err := repo.RememberLoginClient(t.Context(), key, client, at); err != nil {
			t.Fatalf("RememberLoginClient(%s) = %v", at, err)
		}
	}

	for _, tc := range []struct {
		key, client string
		since       time.Time
		want        bool
	}{
		{key, client, later, true},
		{key, client, later.Add(time.Second), false},
		{key, "203.0.113.66", now, false},
		{"login||eve@example.com", client, now, false},
		{"contact_change|user_01jpada|ada@example.com", client, now, false},
	} {
		if got, err := repo.KnownLoginClient(t.Context(), tc.key, tc.client, tc.since); err != nil || got != tc.want {
			t.Errorf("KnownLoginClient(%s, %s, %s) = %t, %v; want %t", tc.key, tc.client, tc.since, got, err, tc.want)
		}
	}
}

// TestDeleteLoginKnownClientsBefore forgets a client once its last success
// is older than the cut-off, not before.
func TestDeleteLoginKnownClientsBefore(t *testing.T) {
	t.Parallel()

	const (
		key    = "login||ada@example.com"
		client = "198.51.100.10"
	)

	repo, _ := newRepo(t)
	if err := repo.RememberLoginClient(t.Context(), key, client, now); err != nil {
		t.Fatalf("RememberLoginClient = %v", err)
	}

	for _, tc := range []struct {
		before time.Time
		want   int64
	}{{now, 0}, {now.Add(time.Second), 1}} {
		if n, err := repo.DeleteLoginKnownClientsBefore(t.Context(), tc.before); err != nil || n != tc.want {
			t.Errorf("DeleteLoginKnownClientsBefore(%s) = %d, %v; want %d", tc.before, n, err, tc.want)
		}
	}

	if got, err := repo.KnownLoginClient(t.Context(), key, client, now.Add(-time.Hour)); err != nil || got {
		t.Errorf("KnownLoginClient after DeleteLoginKnownClientsBefore = %t, %v; want false", got, err)
	}
}
