package repository

import (
	"context"
	"time"

	"github.com/modulith/modulith/modules/auth/internal/db/store"
	"github.com/modulith/modulith/modules/auth/internal/models"
)

const (
	entityOAuthAccount = "oauth_account"
	entityOAuthState   = "oauth_state"
	entityOAuthCode    = "oauth_exchange_code"
)

func toOAuthAccount(a store.AuthOauthAccount) models.OAuthAccount {
	return models.OAuthAccount{
		ID: a.ID, UserID: a.UserID, Provider: a.Provider, Subject: a.Subject,
		Email: a.Email, EmailVerified: a.EmailVerified, CreatedAt: a.CreatedAt,
	}
}

// OAuthAccount returns the account subject at provider.
func (r *SQL) OAuthAccount(ctx context.Context, provider, subject string) (_ models.OAuthAccount, err error) {
	ctx, end := r.Span(ctx, "OAuthAccount", entityOAuthAccount)
	defer end(&err)

	a, err := r.Q.GetOAuthAccount(ctx, store.GetOAuthAccountParams{Provider: provider, Subject: subject})
	if err != nil {
		return models.OAuthAccount{}, err
	}

	return toOAuthAccount(a), nil
}

// CreateOAuthAccount links a provider account to its user.
func (r *SQL) CreateOAuthAccount(ctx context.Context, a models.OAuthAccount) (err error) {
	ctx, end := r.Span(ctx, "CreateOAuthAccount", entityOAuthAccount)
	defer end(&err)

	return r.Q.CreateOAuthAccount(ctx, store.CreateOAuthAccountParams{
		ID: a.ID, UserID: a.UserID, Provider: a.Provider, Subject: a.Subject,
		Email: a.Email, EmailVerified: a.EmailVerified, CreatedAt: a.CreatedAt,
	})
}

// OAuthAccounts lists a user's provider accounts, oldest first.
func (r *SQL) OAuthAccounts(ctx context.Context, userID string) (_ []models.OAuthAccount, err error) {
	ctx, end := r.Span(ctx, "OAuthAccounts", entityOAuthAccount)
	defer end(&err)

	rows, err := r.Q.ListOAuthAccounts(ctx, userID)
	if err != nil {
		return nil, err
	}

	out := make([]models.OAuthAccount, len(rows))
	for i, a := range rows {
		out[i] = toOAuthAccount(a)
	}

	return out, nil
}

// DeleteOAuthAccount unlinks account id of userID and reports whether
// there was one.
func (r *SQL) DeleteOAuthAccount(ctx context.Context, id, userID string) (_ bool, err error) {
	ctx, end := r.Span(ctx, "DeleteOAuthAccount", entityOAuthAccount)
	defer end(&err)

	n, err := r.Q.DeleteOAuthAccount(ctx, store.DeleteOAuthAccountParams{ID: id, UserID: userID})

	return n > 0, err
}

// LockUser returns a user and locks it until the transaction ends.
func (r *SQL) LockUser(ctx context.Context, id string) (_ models.User, err error) {
	ctx, end := r.Span(ctx, "LockUser", entityUser)
	defer end(&err)

	u, err := r.Q.LockUser(ctx, id)

	return userResult(u, err)
}

// CreateOAuthState stores a started sign-in.
func (r *SQL) CreateOAuthState(ctx context.Context, s models.OAuthState) (err error) {
	ctx, end := r.Span(ctx, "CreateOAuthState", entityOAuthState)
	defer end(&err)

	return r.Q.CreateOAuthState(ctx, store.CreateOAuthStateParams{
		StateHash: s.StateHash, Provider: s.Provider, BindingHash: s.BindingHash, UserID: nullable(s.UserID),
		RedirectUri: s.RedirectURI, CodeVerifier: s.CodeVerifier, Nonce: s.Nonce, Session: s.Session,
		CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt,
	})
}

// UseOAuthState marks an unused, unexpired state used and returns it;
// NotFound when there is no such state.
func (r *SQL) UseOAuthState(ctx context.Context, hash []byte, now time.Time) (_ models.OAuthState, err error) {
	ctx, end := r.Span(ctx, "UseOAuthState", entityOAuthState)
	defer end(&err)

	s, err := r.Q.UseOAuthState(ctx, store.UseOAuthStateParams{StateHash: hash, Now: &now})
	if err != nil {
		return models.OAuthState{}, err
	}

	return models.OAuthState{
		StateHash: s.StateHash, Provider: s.Provider, BindingHash: s.BindingHash, UserID: deref(s.UserID),
		RedirectURI: s.RedirectUri, CodeVerifier: s.CodeVerifier, Nonce: s.Nonce, Session: s.Session,
		CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt,
	}, nil
}

// CreateOAuthExchangeCode stores a browser sign-in's one-time code.
func (r *SQL) CreateOAuthExchangeCode(ctx context.Context, c models.OAuthExchangeCode) (err error) {
	ctx, end := r.Span(ctx, "CreateOAuthExchangeCode", entityOAuthCode)
	defer end(&err)

	return r.Q.CreateOAuthExchangeCode(ctx, store.CreateOAuthExchangeCodeParams{
		CodeHash: c.CodeHash, UserID: c.UserID, NewUser: c.NewUser, CreatedAt: c.CreatedAt, ExpiresAt: c.ExpiresAt,
	})
}

// UseOAuthExchangeCode marks an unused, unexpired code used and returns
// it; NotFound when there is no such code.
func (r *SQL) UseOAuthExchangeCode(ctx context.Context, hash []byte, now time.Time) (_ models.OAuthExchangeCode, err error) {
	ctx, end := r.Span(ctx, "UseOAuthExchangeCode", entityOAuthCode)
	defer end(&err)

	c, err := r.Q.UseOAuthExchangeCode(ctx, store.UseOAuthExchangeCodeParams{CodeHash: hash, Now: &now})
	if err != nil {
		return models.OAuthExchangeCode{}, err
	}

	return models.OAuthExchangeCode{
		CodeHash: c.CodeHash, UserID: c.UserID, NewUser: c.NewUser, CreatedAt: c.CreatedAt, ExpiresAt: c.ExpiresAt,
	}, nil
}

// DeleteExpiredOAuthStates deletes started sign-ins that expired before a
// time.
func (r *SQL) DeleteExpiredOAuthStates(ctx context.Context, before time.Time) (_ int64, err error) {
	ctx, end := r.Span(ctx, "DeleteExpiredOAuthStates", entityOAuthState)
	defer end(&err)

	return r.Q.DeleteExpiredOAuthStates(ctx, before)
}

// DeleteExpiredOAuthExchangeCodes deletes one-time codes that expired
// before a time.
func (r *SQL) DeleteExpiredOAuthExchangeCodes(ctx context.Context, before time.Time) (_ int64, err error) {
	ctx, end := r.Span(ctx, "DeleteExpiredOAuthExchangeCodes", entityOAuthCode)
	defer end(&err)

	return r.Q.DeleteExpiredOAuthExchangeCodes(ctx, before)
}
