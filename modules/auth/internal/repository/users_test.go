package repository_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/modules/auth/internal/models"
	"github.com/modulith/modulith/modules/auth/internal/repository"
)

func TestCreateUserRoundTrip(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name         string
		email, phone string
	}{
		{"email only", "ada@example.com", ""},
		{"phone only", "", "+447700900001"},
		{"email and phone", "bob@example.com", "+447700900002"},
	}

	repo, pool := newRepo(t)

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			want := newUser(t, tt.email, tt.phone)

			got, err := repo.CreateUser(t.Context(), want)
			if err != nil {
				t.Fatalf("CreateUser(%q, %q) = %v", tt.email, tt.phone, err)
			}

			want.UpdatedAt = want.CreatedAt
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("CreateUser(%q, %q) mismatch (-want +got):\n%s", tt.email, tt.phone, diff)
			}

			wantLookups(t, repo, want)
			wantNullContacts(t, pool, want)
		})
	}
}

// wantLookups checks that every lookup that should find want does.
func wantLookups(t *testing.T, repo *repository.SQL, want models.User) {
	t.Helper()

	lookups := map[string]func() (models.User, error){
		fmt.Sprintf("User(%q)", want.ID): func() (models.User, error) { return repo.User(t.Context(), want.ID) },
	}
	if want.Email != "" {
		lookups[fmt.Sprintf("UserByEmail(%q)", want.Email)] = func() (models.User, error) {
			return repo.UserByEmail(t.Context(), want.Email)
		}
	}

	if want.Phone != "" {
		lookups[fmt.Sprintf("UserByPhone(%q)", want.Phone)] = func() (models.User, error) {
			return repo.UserByPhone(t.Context(), want.Phone)
		}
	}

	for call, lookup := range lookups {
		got, err := lookup()
		if err != nil {
			t.Errorf("%s = %v", call, err)

			continue
		}

		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", call, diff)
		}
	}
}

// wantNullContacts checks that a missing email or phone is stored as NULL,
// not as an empty string.
func wantNullContacts(t *testing.T, pool *pgxpool.Pool, u models.User) {
	t.Helper()

	var noEmail, noPhone bool

	err := pool.QueryRow(t.Context(), "SELECT email IS NULL, phone IS NULL FROM auth.users WHERE id = $1", u.ID).
		Scan(&noEmail, &noPhone)
	if err != nil {
		t.Fatalf("read user %s: %v", u.ID, err)
	}

	if noEmail != (u.Email == "") || noPhone != (u.Phone == "") {
		t.Errorf("user with email %q and phone %q stored email IS NULL = %t, phone IS NULL = %t",
			u.Email, u.Phone, noEmail, noPhone)
	}
}

func TestCreateUserDuplicate(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name         string
		email, phone string // of the second user; the first has ada@example.com and +447700900001
	}{
		{"same email", "ada@example.com", ""},
		{"same phone", "", "+447700900001"},
		{"same email, other phone", "ada@example.com", "+447700900002"},
		{"other email, same phone", "bob@example.com", "+447700900001"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			repo, _ := newRepo(t)
			mustCreateUser(t, repo, "ada@example.com", "+447700900001")

			second := newUser(t, tt.email, tt.phone)
			_, err := repo.CreateUser(t.Context(), second)
			wantType(t, fmt.Sprintf("CreateUser(%q, %q)", tt.email, tt.phone), err, errors.TypeAlreadyExists)
			wantNoUser(t, repo, second.ID)
		})
	}
}

func TestCreateUserDuplicateID(t *testing.T) {
	t.Parallel()

	repo, _ := newRepo(t)
	first := mustCreateUser(t, repo, "ada@example.com", "")

	second := newUser(t, "bob@example.com", "")
	second.ID = first.ID
	_, err := repo.CreateUser(t.Context(), second)
	wantType(t, fmt.Sprintf("CreateUser(id %q again)", first.ID), err, errors.TypeAlreadyExists)
}

// TestCreateUserWithoutContact: a user who signs in with a provider only
// has neither email nor phone.
func TestCreateUserWithoutContact(t *testing.T) {
	t.Parallel()

	repo, _ := newRepo(t)
	u := newUser(t, "", "")

	created, err := repo.CreateUser(t.Context(), u)
	if err != nil {
		t.Fatalf("CreateUser without email and phone = %v", err)
	}

	got, err := repo.User(t.Context(), u.ID)
	if err != nil || got.Email != "" || got.Phone != "" || got.ID != created.ID {
		t.Errorf("User(%s) = %+v, %v; want the user without contact", u.ID, got, err)
	}
}

func TestUserNotFound(t *testing.T) {
	t.Parallel()

	repo, _ := newRepo(t)
	mustCreateUser(t, repo, "ada@example.com", "+447700900001")

	missing := newID(t, "user")
	tests := []struct {
		call string
		fn   func(ctx context.Context) (models.User, error)
	}{
		{"User(missing)", func(ctx context.Context) (models.User, error) { return repo.User(ctx, missing) }},
		{"UserByEmail(bob@example.com)", func(ctx context.Context) (models.User, error) {
			return repo.UserByEmail(ctx, "bob@example.com")
		}},
		{"UserByEmail(ADA@example.com)", func(ctx context.Context) (models.User, error) {
			return repo.UserByEmail(ctx, "ADA@example.com")
		}},
		{"UserByEmail(\"\")", func(ctx context.Context) (models.User, error) { return repo.UserByEmail(ctx, "") }},
		{"UserByPhone(+447700900002)", func(ctx context.Context) (models.User, error) {
			return repo.UserByPhone(ctx, "+447700900002")
		}},
		{"UserByPhone(\"\")", func(ctx context.Context) (models.User, error) { return repo.UserByPhone(ctx, "") }},
		{"UpdateDisplayName(missing)", func(ctx context.Context) (models.User, error) {
			return repo.UpdateDisplayName(ctx, missing, "Nobody", now)
		}},
		{"UpdateEmail(missing)", func(ctx context.Context) (models.User, error) {
			return repo.UpdateEmail(ctx, missing, "nobody@example.com", now)
		}},
		{"UpdatePhone(missing)", func(ctx context.Context) (models.User, error) {
			return repo.UpdatePhone(ctx, missing, "+447700900009", now)
		}},
	}

	for _, tt := range tests {
		t.Run(tt.call, func(t *testing.T) {
			t.Parallel()

			_, err := tt.fn(t.Context())
			wantType(t, tt.call, err, errors.TypeNotFound)
		})
	}
}

// updateFunc is the shape of the repository's three user updates.
type updateFunc func(r *repository.SQL, ctx context.Context, id, value string, now time.Time) (models.User, error)

func TestUpdateUser(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		update updateFunc
		value  string
		apply  func(u *models.User, value string)
	}{
		{"display name", (*repository.SQL).UpdateDisplayName, "Countess of Lovelace",
			func(u *models.User, v string) { u.DisplayName = v }},
		{"email", (*repository.SQL).UpdateEmail, "ada@lovelace.example",
			func(u *models.User, v string) { u.Email = v }},
		{"add phone", (*repository.SQL).UpdatePhone, "+447700900003",
			func(u *models.User, v string) { u.Phone = v }},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			repo, _ := newRepo(t)
			want := mustCreateUser(t, repo, "ada@example.com", "")
			later := now.Add(time.Hour)

			got, err := tt.update(repo, t.Context(), want.ID, tt.value, later)
			if err != nil {
				t.Fatalf("update %s to %q = %v", tt.name, tt.value, err)
			}

			tt.apply(&want, tt.value)
			want.UpdatedAt = later

			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("update %s to %q mismatch (-want +got):\n%s", tt.name, tt.value, diff)
			}

			wantLookups(t, repo, want)
		})
	}
}

func TestUpdateEmailFreesOldAddress(t *testing.T) {
	t.Parallel()

	repo, _ := newRepo(t)
	ada := mustCreateUser(t, repo, "ada@example.com", "")

	if _, err := repo.UpdateEmail(t.Context(), ada.ID, "ada@lovelace.example", now); err != nil {
		t.Fatalf("UpdateEmail = %v", err)
	}

	_, err := repo.UserByEmail(t.Context(), "ada@example.com")
	wantType(t, "UserByEmail(old address)", err, errors.TypeNotFound)

	// The old address is free for another account.
	mustCreateUser(t, repo, "ada@example.com", "")
}

func TestUpdateContactConflict(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		update updateFunc
		value  string // bob's
	}{
		{"email", (*repository.SQL).UpdateEmail, "bob@example.com"},
		{"phone", (*repository.SQL).UpdatePhone, "+447700900002"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			repo, _ := newRepo(t)
			ada := mustCreateUser(t, repo, "ada@example.com", "+447700900001")
			mustCreateUser(t, repo, "bob@example.com", "+447700900002")

			_, err := tt.update(repo, t.Context(), ada.ID, tt.value, now.Add(time.Hour))
			wantType(t, fmt.Sprintf("update %s to another user's %q", tt.name, tt.value), err, errors.TypeAlreadyExists)

			// Ada is unchanged, updated_at included.
			wantLookups(t, repo, ada)
		})
	}
}

func TestPublicProfilesLeavesOutUnknownIDs(t *testing.T) {
	t.Parallel()

	repo, _ := newRepo(t)

	ada := newUser(t, "ada-profile@example.com", "")
	ada.DisplayName = "Ada"

	bob := newUser(t, "bob-profile@example.com", "")

	for _, u := range []models.User{ada, bob} {
		if _, err := repo.CreateUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}
	}

	unknown := newUser(t, "nobody@example.com", "").ID

	got, err := repo.PublicProfiles(t.Context(), []string{bob.ID, unknown, ada.ID})
	if err != nil {
		t.Fatal(err)
	}

	want := map[string]string{ada.ID: "Ada", bob.ID: bob.DisplayName}
	if len(got) != len(want) {
		t.Fatalf("PublicProfiles() = %v, want %v", got, want)
	}

	for _, p := range got {
		if name, ok := want[p.ID]; !ok || name != p.DisplayName {
			t.Errorf("profile %+v, want one of %v", p, want)
		}
	}
}
