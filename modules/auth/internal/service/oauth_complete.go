package service

import (
	"context"
	"crypto/subtle"
	stderrors "errors"
	"net/url"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/internal/authz"
	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/ids"
	"github.com/modulith/modulith/internal/telemetry"
	authevents "github.com/modulith/modulith/modules/auth/events"
	"github.com/modulith/modulith/modules/auth/internal/models"
	"github.com/modulith/modulith/modules/auth/internal/oauth"
	"github.com/modulith/modulith/modules/auth/internal/repository"
)

// errOAuthFailed is the one answer to a callback that does not sign in:
// unknown, used or expired state, another client's or provider's state,
// a refusal by the provider. The log says which.
var errOAuthFailed = errors.WithCode(errors.CodeAuthOAuthFailed, "sign-in with the provider failed; start again")

// prefixOAuthAccount is the TypeID prefix of linked accounts.
const prefixOAuthAccount = "oacc"

// oauthOutcome is what a callback did.
type oauthOutcome struct {
	login   login               // a sign-in's session (API flows)
	user    models.User         // the signed-in or linking user
	account models.OAuthAccount // the provider account
	created bool                // the sign-in created the user
	linked  bool                // a link flow
}

// CompleteOAuth is the provider's callback: it checks the state (single
// use, unexpired, this provider's, bound to this client), the issuer, and
// the provider's answer, then signs the user in or links the account.
func (s *Service) CompleteOAuth(ctx context.Context, req *authv1.CompleteOAuthRequest) (_ *authv1.CompleteOAuthResponse, err error) {
	ctx, end := telemetry.ServiceOp(ctx, module, "CompleteOAuth")
	defer end(&err)

	if err := s.throttleOAuth(ctx); err != nil {
		return nil, err
	}

	p, err := s.provider(req.GetProvider())
	if err != nil {
		return nil, err
	}

	st, err := s.takeState(ctx, p, req)
	if err != nil {
		return nil, err
	}

	id, err := p.Complete(ctx, req.GetState(), oauth.Flow{Session: st.Session, Verifier: st.CodeVerifier, Nonce: st.Nonce},
		oauth.Callback{Code: req.GetCode(), OAuthToken: req.GetOauthToken(), OAuthVerifier: req.GetOauthVerifier()})
	if err != nil && !stderrors.Is(err, oauth.ErrRefused) {
		return nil, errors.Unavailable("the provider is unavailable; try again later", errors.WithCause(err))
	}

	if err != nil {
		return nil, s.oauthFailed(ctx, p.Name(), err)
	}

	var out oauthOutcome

	err = s.repo.WithTx(ctx, func(tx repository.Repository) error {
		out, err = s.finishFlow(ctx, tx, st, id)

		return err
	})
	if err != nil {
		return nil, err
	}

	return s.oauthResponse(ctx, st, out)
}

// takeState uses up the callback's state, and checks it belongs to this
// provider, to this client (the binding cookie) and that neither the
// provider nor the issuer says otherwise. A state is used even when a
// check fails: it never works twice.
func (s *Service) takeState(ctx context.Context, p *oauth.Provider, req *authv1.CompleteOAuthRequest) (models.OAuthState, error) {
	if req.GetState() == "" {
		return models.OAuthState{}, s.oauthFailed(ctx, p.Name(), stderrors.New("no state"))
	}

	st, err := s.repo.UseOAuthState(ctx, hashToken(req.GetState()), s.now())

	switch {
	case errors.IsType(err, errors.TypeNotFound):
		return models.OAuthState{}, s.oauthFailed(ctx, p.Name(), stderrors.New("unknown, used or expired state"))
	case err != nil:
		return models.OAuthState{}, err
	case st.Provider != p.Name():
		return models.OAuthState{}, s.oauthFailed(ctx, p.Name(), stderrors.New("state of provider "+st.Provider))
	case subtle.ConstantTimeCompare(hashToken(presentedBinding(ctx)), st.BindingHash) != 1:
		return models.OAuthState{}, s.oauthFailed(ctx, p.Name(), stderrors.New("binding cookie missing or wrong"))
	case req.GetError() != "":
		return models.OAuthState{}, s.oauthFailed(ctx, p.Name(), stderrors.New("provider answered "+req.GetError()))
	}

	if err := p.CheckIssuer(req.GetIss()); err != nil {
		return models.OAuthState{}, s.oauthFailed(ctx, p.Name(), err)
	}

	return st, nil
}

// oauthFailed logs why a callback failed and returns the one answer.
func (s *Service) oauthFailed(ctx context.Context, provider string, cause error) error {
	s.logger.WarnContext(ctx, "oauth sign-in failed", "provider", provider, "reason", cause.Error())

	return errOAuthFailed
}

// finishFlow signs in with, or links, the provider account id inside tx.
func (s *Service) finishFlow(ctx context.Context, tx repository.Repository, st models.OAuthState, id oauth.Identity) (oauthOutcome, error) {
	if st.UserID != "" {
		return s.linkAccount(ctx, tx, st.UserID, st.Provider, id)
	}

	out, err := s.oauthUser(ctx, tx, st.Provider, id)
	if err != nil || st.RedirectURI != "" {
		return out, err // a browser's session opens at the exchange
	}

	out.login, err = s.startSession(ctx, tx, out.user, false)
	out.login.created = out.created

	return out, err
}

// oauthUser returns the user of provider account id: the one it is linked
// to; else the user whose address the provider verified, linking it; else
// a new user, linked, who owns the address only if it is verified. An
// unverified address never reaches an existing account.
func (s *Service) oauthUser(ctx context.Context, tx repository.Repository, provider string, id oauth.Identity) (oauthOutcome, error) {
	acct, err := tx.OAuthAccount(ctx, provider, id.Subject)
	if err == nil {
		user, err := tx.User(ctx, acct.UserID)

		return oauthOutcome{user: user, account: acct}, err
	}

	if !errors.IsType(err, errors.TypeNotFound) {
		return oauthOutcome{}, err
	}

	var (
		user    models.User
		created bool
	)

	if id.EmailVerified && id.Email != "" {
		user, created, err = s.findOrCreateUser(ctx, tx, emailIdentity(id.Email))
	} else {
		user, err = s.createUnclaimedUser(ctx, tx)
		created = true
	}

	if err != nil {
		return oauthOutcome{}, err
	}

	if created {
		if err := tx.Publish(ctx, authevents.UserCreated{UserID: user.ID, Email: user.Email}); err != nil {
			return oauthOutcome{}, err
		}
	}

	acct, err = s.link(ctx, tx, user.ID, provider, id)

	return oauthOutcome{user: user, account: acct, created: created}, err
}

// createUnclaimedUser creates a user with no address: a provider account
// without a verified address signs in to it.
func (s *Service) createUnclaimedUser(ctx context.Context, tx repository.Repository) (models.User, error) {
	userID, err := ids.New(prefixUser)
	if err != nil {
		return models.User{}, err
	}

	return tx.CreateUser(ctx, models.User{ID: userID, Role: authz.RoleUser, CreatedAt: s.now()})
}

// linkAccount links provider account id to userID, who started the link:
// no address check, the user proved both accounts are theirs. An account
// linked to someone else stays theirs.
func (s *Service) linkAccount(ctx context.Context, tx repository.Repository, userID, provider string, id oauth.Identity) (oauthOutcome, error) {
	user, err := tx.User(ctx, userID)
	if err != nil {
		return oauthOutcome{}, err
	}

	acct, err := tx.OAuthAccount(ctx, provider, id.Subject)

	switch {
	case err == nil && acct.UserID != userID:
		return oauthOutcome{}, errors.Conflict("this provider account is linked to another user")
	case err == nil:
		return oauthOutcome{user: user, account: acct, linked: true}, nil
	case !errors.IsType(err, errors.TypeNotFound):
		return oauthOutcome{}, err
	}

	acct, err = s.link(ctx, tx, userID, provider, id)

	return oauthOutcome{user: user, account: acct, linked: true}, err
}

// link stores provider account id as userID's and publishes
// auth.oauth_account_linked in tx.
func (s *Service) link(ctx context.Context, tx repository.Repository, userID, provider string, id oauth.Identity) (models.OAuthAccount, error) {
	acctID, err := ids.New(prefixOAuthAccount)
	if err != nil {
		return models.OAuthAccount{}, err
	}

	acct := models.OAuthAccount{
		ID: acctID, UserID: userID, Provider: provider, Subject: id.Subject,
		Email: id.Email, EmailVerified: id.EmailVerified, CreatedAt: s.now(),
	}
	if err := tx.CreateOAuthAccount(ctx, acct); err != nil {
		return models.OAuthAccount{}, err
	}

	return acct, tx.Publish(ctx, authevents.OAuthAccountLinked{UserID: userID, Provider: provider, AccountID: acctID})
}

// oauthResponse answers a callback: an API flow gets the outcome, a
// browser is redirected to its page with a one-time code (sign-in) or the
// linked provider's name (link).
func (s *Service) oauthResponse(ctx context.Context, st models.OAuthState, out oauthOutcome) (*authv1.CompleteOAuthResponse, error) {
	resp := &authv1.CompleteOAuthResponse{User: toProtoUser(out.user), NewUser: out.created, Account: toProtoAccount(out.account)}

	if st.RedirectURI == "" {
		if !out.linked {
			tokens, err := s.tokenPair(out.user, out.login.session, out.login.refresh)
			if err != nil {
				return nil, err
			}

			resp.Tokens = tokens
		}

		return resp, nil
	}

	param := url.Values{"linked": {st.Provider}}

	if !out.linked {
		code, err := s.exchangeCode(ctx, out)
		if err != nil {
			return nil, err
		}

		param = url.Values{"oauth_code": {code}}
	}

	if err := grpc.SetHeader(ctx, metadata.Pairs(headerLocation, withQuery(st.RedirectURI, param))); err != nil {
		return nil, errors.Internal("set location", err)
	}

	return &authv1.CompleteOAuthResponse{}, nil
}

// exchangeCode stores and returns the one-time code a browser sign-in's
// page exchanges for tokens.
func (s *Service) exchangeCode(ctx context.Context, out oauthOutcome) (string, error) {
	code, err := newSecret("oauth code")
	if err != nil {
		return "", err
	}

	now := s.now()
	err = s.repo.CreateOAuthExchangeCode(ctx, models.OAuthExchangeCode{
		CodeHash: hashToken(code), UserID: out.user.ID, NewUser: out.created, CreatedAt: now, ExpiresAt: now.Add(s.cfg.OAuthExchangeTTL),
	})

	return code, err
}

// withQuery adds params to the query of u, an allow-listed URL.
func withQuery(u string, params url.Values) string {
	p, _ := url.Parse(u) // validated at start-up
	q := p.Query()

	for k, v := range params {
		q[k] = v
	}

	p.RawQuery = q.Encode()

	return p.String()
}

// ExchangeOAuthCode exchanges a browser sign-in's one-time code for the
// tokens of a new session.
func (s *Service) ExchangeOAuthCode(ctx context.Context, req *authv1.ExchangeOAuthCodeRequest) (_ *authv1.ExchangeOAuthCodeResponse, err error) {
	ctx, end := telemetry.ServiceOp(ctx, module, "ExchangeOAuthCode")
	defer end(&err)

	if err := s.throttleOAuth(ctx); err != nil {
		return nil, err
	}

	var out login

	err = s.repo.WithTx(ctx, func(tx repository.Repository) error {
		ec, err := tx.UseOAuthExchangeCode(ctx, hashToken(req.GetCode()), s.now())
		if errors.IsType(err, errors.TypeNotFound) {
			return errInvalidCode
		}

		if err != nil {
			return err
		}

		user, err := tx.User(ctx, ec.UserID)
		if err != nil {
			return err
		}

		out, err = s.startSession(ctx, tx, user, false)
		out.created = ec.NewUser

		return err
	})
	if err != nil {
		return nil, err
	}

	tokens, err := s.tokenPair(out.user, out.session, out.refresh)
	if err != nil {
		return nil, err
	}

	return &authv1.ExchangeOAuthCodeResponse{Tokens: tokens, User: toProtoUser(out.user), NewUser: out.created}, nil
}

// FormPostOAuth answers a provider's form POST to the callback with a
// redirect to the GET callback, with the same parameters: a top-level GET
// carries the SameSite=Lax binding cookie, a cross-site POST does not.
// It checks nothing itself; the GET callback checks everything.
func (s *Service) FormPostOAuth(ctx context.Context, req *authv1.FormPostOAuthRequest) (_ *authv1.FormPostOAuthResponse, err error) {
	ctx, end := telemetry.ServiceOp(ctx, module, "FormPostOAuth")
	defer end(&err)

	if err := s.throttleOAuth(ctx); err != nil {
		return nil, err
	}

	p, err := s.provider(req.GetProvider())
	if err != nil {
		return nil, err
	}

	q := url.Values{}

	for k, v := range map[string]string{"state": req.GetState(), "code": req.GetCode(), "iss": req.GetIss(), "error": req.GetError()} {
		if v != "" {
			q.Set(k, v)
		}
	}

	loc := oauth.Site{BaseURL: s.cfg.OAuthBaseURL}.CallbackURL(p.Name()) + "?" + q.Encode()
	if err := grpc.SetHeader(ctx, metadata.Pairs(headerLocation, loc)); err != nil {
		return nil, errors.Internal("set location", err)
	}

	return &authv1.FormPostOAuthResponse{}, nil
}
