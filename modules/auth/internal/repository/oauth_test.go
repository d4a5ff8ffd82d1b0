package repository_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/modules/auth/internal/models"
	"github.com/modulith/modulith/modules/auth/internal/repository"
)

func newAccount(t *testing.T, userID, provider, subject string, at time.Time) models.OAuthAccount {
	t.Helper()

	return models.OAuthAccount{
		ID: newID(t, "oacc"), UserID: userID, Provider: provider, Subject: subject,
		Email: subject + "@example.com", EmailVerified: true, CreatedAt: at,
	}
}

func TestOAuthAccount(t *testing.T) {
	t.Parallel()

	repo, _ := newRepo(t)
	ada := mustCreateUser(t, repo, "ada@example.com", "")
	bob := mustCreateUser(t, repo, "bob@example.com", "")
	first := newAccount(t, ada.ID, "corp", "s1", now)

	if err := repo.CreateOAuthAccount(t.Context(), first); err != nil {
		t.Fatalf("CreateOAuthAccount = %v", err)
	}

	got, err := repo.OAuthAccount(t.Context(), "corp", "s1")
	if err != nil || !cmp.Equal(first, got) {
		t.Errorf("OAuthAccount(corp, s1) = %+v, %v; want %+v", got, err, first)
	}

	_, err = repo.OAuthAccount(t.Context(), "google", "s1")
	wantType(t, "OAuthAccount(google, s1)", err, errors.TypeNotFound)

	// A provider account belongs to one user.
	err = repo.CreateOAuthAccount(t.Context(), newAccount(t, bob.ID, "corp", "s1", now))
	wantType(t, "CreateOAuthAccount(corp, s1 again)", err, errors.TypeAlreadyExists)
}

func TestListAndDeleteOAuthAccounts(t *testing.T) {
	t.Parallel()

	repo, _ := newRepo(t)
	ada := mustCreateUser(t, repo, "ada@example.com", "")
	bob := mustCreateUser(t, repo, "bob@example.com", "")
	first := newAccount(t, ada.ID, "corp", "s1", now)
	second := newAccount(t, ada.ID, "google", "s2", now.Add(time.Second))

	for _, a := range []models.OAuthAccount{second, first, newAccount(t, bob.ID, "corp", "s3", now)} {
		if err := repo.CreateOAuthAccount(t.Context(), a); err != nil {
			t.Fatalf("CreateOAuthAccount(%s) = %v", a.ID, err)
		}
	}

	list, err := repo.OAuthAccounts(t.Context(), ada.ID)
	if diff := cmp.Diff([]models.OAuthAccount{first, second}, list); err != nil || diff != "" {
		t.Errorf("OAuthAccounts(ada) = %v; mismatch (-want +got):\n%s", err, diff)
	}

	// Another user's account is not deleted.
	for _, by := range []struct {
		user string
		want bool
	}{{bob.ID, false}, {ada.ID, true}} {
		if done, err := repo.DeleteOAuthAccount(t.Context(), first.ID, by.user); done != by.want || err != nil {
			t.Errorf("DeleteOAuthAccount(ada's, %s) = %t, %v; want %t, nil", by.user, done, err, by.want)
		}
	}

	if list, err := repo.OAuthAccounts(t.Context(), ada.ID); err != nil || len(list) != 1 {
		t.Errorf("OAuthAccounts(ada) after delete = %v, %v; want one", list, err)
	}
}

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))

	return h[:]
}

func TestUseOAuthStateOnce(t *testing.T) {
	t.Parallel()

	repo, _ := newRepo(t)
	ada := mustCreateUser(t, repo, "ada@example.com", "")
	want := models.OAuthState{
		StateHash: hash("state"), Provider: "corp", BindingHash: hash("binding"), UserID: ada.ID,
		RedirectURI: "https://app.example/done", CodeVerifier: "verifier", Nonce: "nonce", Session: `{"AuthURL":"x"}`,
		CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute),
	}
	expired := want
	expired.StateHash, expired.UserID, expired.ExpiresAt = hash("old"), "", now

	for _, st := range []models.OAuthState{want, expired} {
		if err := repo.CreateOAuthState(t.Context(), st); err != nil {
			t.Fatalf("CreateOAuthState = %v", err)
		}
	}

	errs := race(t, 4, func(ctx context.Context, _ int) error {
		got, err := repo.UseOAuthState(ctx, want.StateHash, now)
		if err == nil && !cmp.Equal(want, got) {
			return fmt.Errorf("UseOAuthState = %+v, want %+v", got, want)
		}

		return err
	})
	wantOneWinner(t, errs)

	_, err := repo.UseOAuthState(t.Context(), expired.StateHash, now)
	wantType(t, "UseOAuthState(expired)", err, errors.TypeNotFound)

	if n, err := repo.DeleteExpiredOAuthStates(t.Context(), now.Add(time.Second)); n != 1 || err != nil {
		t.Errorf("DeleteExpiredOAuthStates = %d, %v; want 1", n, err)
	}
}

func TestUseOAuthExchangeCodeOnce(t *testing.T) {
	t.Parallel()

	repo, _ := newRepo(t)
	ada := mustCreateUser(t, repo, "ada@example.com", "")
	want := models.OAuthExchangeCode{CodeHash: hash("code"), UserID: ada.ID, NewUser: true, CreatedAt: now, ExpiresAt: now.Add(time.Minute)}

	if err := repo.CreateOAuthExchangeCode(t.Context(), want); err != nil {
		t.Fatalf("CreateOAuthExchangeCode = %v", err)
	}

	_, err := repo.UseOAuthExchangeCode(t.Context(), want.CodeHash, want.ExpiresAt)
	wantType(t, "UseOAuthExchangeCode(at expiry)", err, errors.TypeNotFound)

	errs := race(t, 4, func(ctx context.Context, _ int) error {
		got, err := repo.UseOAuthExchangeCode(ctx, want.CodeHash, now)
		if err == nil && !cmp.Equal(want, got) {
			return fmt.Errorf("UseOAuthExchangeCode = %+v, want %+v", got, want)
		}

		return err
	})
	wantOneWinner(t, errs)

	if n, err := repo.DeleteExpiredOAuthExchangeCodes(t.Context(), now.Add(2*time.Minute)); n != 1 || err != nil {
		t.Errorf("DeleteExpiredOAuthExchangeCodes = %d, %v; want 1", n, err)
	}
}

// TestLockUser: a second transaction waits for the first's lock.
func TestLockUser(t *testing.T) {
	t.Parallel()

	repo, _ := newRepo(t)
	ada := mustCreateUser(t, repo, "ada@example.com", "")

	_, err := repo.LockUser(t.Context(), newID(t, "user"))
	wantType(t, "LockUser(missing)", err, errors.TypeNotFound)

	locked := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error, 1)

	go func() {
		done <- repo.WithTx(t.Context(), func(tx repository.Repository) error {
			if _, err := tx.LockUser(t.Context(), ada.ID); err != nil {
				return err
			}

			close(locked)
			<-release

			return nil
		})
	}()

	<-locked

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()

	err = repo.WithTx(ctx, func(tx repository.Repository) error {
		_, err := tx.LockUser(ctx, ada.ID)

		return err
	})
	if err == nil {
		t.Error("LockUser while another transaction holds the lock = nil, want it to wait until the deadline")
	}

	close(release)

	if err := <-done; err != nil {
		t.Errorf("first transaction = %v", err)
	}
}
