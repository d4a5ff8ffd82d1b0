package service

import (
	"context"

	"google.golang.org/protobuf/types/known/timestamppb"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/notifier"
	"github.com/modulith/modulith/internal/telemetry"
	"github.com/modulith/modulith/modules/auth/internal/models"
	"github.com/modulith/modulith/modules/auth/internal/repository"
)

// ListLinkedAccounts lists the caller's provider accounts and the enabled
// providers.
func (s *Service) ListLinkedAccounts(ctx context.Context, _ *authv1.ListLinkedAccountsRequest) (_ *authv1.ListLinkedAccountsResponse, err error) {
	ctx, end := telemetry.ServiceOp(ctx, module, "ListLinkedAccounts")
	defer end(&err)

	caller, ok := authn.FromContext(ctx)
	if !ok {
		return nil, errors.Unauthorized("authentication required")
	}

	accts, err := s.repo.OAuthAccounts(ctx, caller.UserID)
	if err != nil {
		return nil, err
	}

	resp := &authv1.ListLinkedAccountsResponse{Providers: s.providerNames()}
	for _, a := range accts {
		resp.Accounts = append(resp.Accounts, toProtoAccount(a))
	}

	return resp, nil
}

// errLastMethod refuses to unlink the caller's last way to sign in.
var errLastMethod = errors.Conflict("this account is your last way to sign in; add another first")

// UnlinkOAuth removes one of the caller's provider accounts, unless the
// caller could not sign in without it: another provider account, or an
// address a code can be sent to, must remain. The user's row is locked,
// so two unlinks at once cannot both pass the check.
func (s *Service) UnlinkOAuth(ctx context.Context, req *authv1.UnlinkOAuthRequest) (_ *authv1.UnlinkOAuthResponse, err error) {
	ctx, end := telemetry.ServiceOp(ctx, module, "UnlinkOAuth")
	defer end(&err)

	caller, ok := authn.FromContext(ctx)
	if !ok {
		return nil, errors.Unauthorized("authentication required")
	}

	err = s.repo.WithTx(ctx, func(tx repository.Repository) error {
		user, err := tx.LockUser(ctx, caller.UserID)
		if err != nil {
			return err
		}

		accts, err := tx.OAuthAccounts(ctx, caller.UserID)
		if err != nil {
			return err
		}

		if !hasAccount(accts, req.GetAccountId()) {
			return errors.NotFound("linked account not found")
		}

		if len(accts)-1+s.codeMethods(user) < 1 {
			return errLastMethod
		}

		_, err = tx.DeleteOAuthAccount(ctx, req.GetAccountId(), caller.UserID)

		return err
	})
	if err != nil {
		return nil, err
	}

	return &authv1.UnlinkOAuthResponse{}, nil
}

func hasAccount(accts []models.OAuthAccount, id string) bool {
	for _, a := range accts {
		if a.ID == id {
			return true
		}
	}

	return false
}

// codeMethods counts the user's addresses this server can send a sign-in
// code to.
func (s *Service) codeMethods(u models.User) int {
	n := 0
	if u.Email != "" && s.delivery.CanDeliver(notifier.ChannelEmail) {
		n++
	}

	if u.Phone != "" && s.delivery.CanDeliver(notifier.ChannelSMS) {
		n++
	}

	return n
}

func toProtoAccount(a models.OAuthAccount) *authv1.LinkedAccount {
	if a.ID == "" {
		return nil
	}

	return &authv1.LinkedAccount{
		Id: a.ID, Provider: a.Provider, Email: a.Email, EmailVerified: a.EmailVerified,
		CreateTime: timestamppb.New(a.CreatedAt),
	}
}
