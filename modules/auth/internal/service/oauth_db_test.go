package service_test

import (
	"testing"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/ids"
	"github.com/modulith/modulith/internal/notifier"
	"github.com/modulith/modulith/modules/auth/internal/models"
	"github.com/modulith/modulith/modules/auth/internal/repository"
	"github.com/modulith/modulith/modules/auth/internal/service"
)

// linked creates a user with email (none when "") and provider accounts,
// one per provider, and returns the user's and the accounts' IDs.
func linked(t *testing.T, repo repository.Repository, email string, providers ...string) (string, []string) {
	t.Helper()

	userID, err := ids.New("user")
	if err != nil {
		t.Fatal(err)
	}

	if _, err := repo.CreateUser(t.Context(), models.User{ID: userID, Email: email, Role: "user", CreatedAt: testNow}); err != nil {
		t.Fatal(err)
	}

	accts := make([]string, len(providers))

	for i, p := range providers {
		if accts[i], err = ids.New("oacc"); err != nil {
			t.Fatal(err)
		}

		a := models.OAuthAccount{ID: accts[i], UserID: userID, Provider: p, Subject: userID + p, CreatedAt: testNow}
		if err := repo.CreateOAuthAccount(t.Context(), a); err != nil {
			t.Fatal(err)
		}
	}

	return userID, accts
}

func unlink(t *testing.T, svc *service.Service, userID, accountID string) error {
	t.Helper()

	_, err := svc.UnlinkOAuth(asCaller(t, userID, "user"), &authv1.UnlinkOAuthRequest{AccountId: accountID})

	return err
}

// TestUnlinkOAuthKeepsAWayIn: an account is unlinked only when another
// way to sign in remains: another account, or an address a code can be
// sent to on this server.
func TestUnlinkOAuthKeepsAWayIn(t *testing.T) {
	t.Parallel()

	var repo repository.Repository

	withRepo := func(_ *service.Config, d *service.Deps) { repo = d.Repo }
	f := newDBFixture(t, withRepo)

	withEmail, accts := linked(t, repo, "ada@example.com", "corp")
	if err := unlink(t, f.svc, withEmail, accts[0]); err != nil {
		t.Errorf("UnlinkOAuth(the account of a user with an email address) = %v", err)
	}

	two, accts := linked(t, repo, "", "corp", "google")
	if err := unlink(t, f.svc, two, accts[0]); err != nil {
		t.Errorf("UnlinkOAuth(one of two accounts) = %v", err)
	}

	wantDomainErr(t, "UnlinkOAuth(the last account)", unlink(t, f.svc, two, accts[1]), errors.TypeConflict, errors.CodeConflict)

	other, _ := linked(t, repo, "bob@example.com")
	wantDomainErr(t, "UnlinkOAuth(another user's account)", unlink(t, f.svc, other, accts[1]), errors.TypeNotFound, errors.CodeNotFound)

	// Without an email provider, an address is no way in.
	noEmail := newDBFixture(t, withRepo, func(_ *service.Config, d *service.Deps) {
		d.Delivery = fakeDelivery{notifier.ChannelSMS: true}
	})

	grace, accts := linked(t, repo, "grace@example.com", "corp")
	wantDomainErr(t, "UnlinkOAuth(the last account, email undeliverable)", unlink(t, noEmail.svc, grace, accts[0]),
		errors.TypeConflict, errors.CodeConflict)
}
