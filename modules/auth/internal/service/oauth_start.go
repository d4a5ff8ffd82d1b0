package service

import (
	"context"
	"net/http"
	"slices"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/reqmeta"
	"github.com/modulith/modulith/internal/telemetry"
	"github.com/modulith/modulith/modules/auth/internal/models"
	"github.com/modulith/modulith/modules/auth/internal/oauth"
)

// oauthCookie binds a started sign-in to the client that started it: the
// callback must present it (login CSRF, and a link started by one user
// finished by another, fail without it).
const oauthCookie = "modulith_oauth"

// oauthPath is where the cookie is sent: the OAuth routes only.
const oauthPath = "/v1/auth/oauth"

// Response header metadata the REST gateway turns into HTTP headers: a
// location makes the answer a 302 (internal/gateway).
const (
	headerLocation  = "location"
	headerSetCookie = "set-cookie"
)

// StartOAuth starts a sign-in at a provider: a browser (redirect_uri set)
// is redirected there, an API client gets the URL.
func (s *Service) StartOAuth(ctx context.Context, req *authv1.StartOAuthRequest) (_ *authv1.StartOAuthResponse, err error) {
	ctx, end := telemetry.ServiceOp(ctx, module, "StartOAuth")
	defer end(&err)

	flow, state, err := s.startFlow(ctx, req.GetProvider(), req.GetRedirectUri(), "")
	if err != nil {
		return nil, err
	}

	if req.GetRedirectUri() != "" {
		if err := grpc.SetHeader(ctx, metadata.Pairs(headerLocation, flow.URL)); err != nil {
			return nil, errors.Internal("set location", err)
		}
	}

	return &authv1.StartOAuthResponse{AuthorizationUrl: flow.URL, State: state}, nil
}

// StartLinkOAuth starts linking a provider account to the caller.
func (s *Service) StartLinkOAuth(ctx context.Context, req *authv1.StartLinkOAuthRequest) (_ *authv1.StartLinkOAuthResponse, err error) {
	ctx, end := telemetry.ServiceOp(ctx, module, "StartLinkOAuth")
	defer end(&err)

	caller, ok := authn.FromContext(ctx)
	if !ok {
		return nil, errors.Unauthorized("authentication required")
	}

	flow, state, err := s.startFlow(ctx, req.GetProvider(), req.GetRedirectUri(), caller.UserID)
	if err != nil {
		return nil, err
	}

	return &authv1.StartLinkOAuthResponse{AuthorizationUrl: flow.URL, State: state}, nil
}

// startFlow begins a flow at provider name for userID ("" to sign in),
// stores it under its state's hash, and sets the binding cookie.
func (s *Service) startFlow(ctx context.Context, name, redirectURI, userID string) (oauth.Flow, string, error) {
	if err := s.throttleOAuth(ctx); err != nil {
		return oauth.Flow{}, "", err
	}

	p, err := s.provider(name)
	if err != nil {
		return oauth.Flow{}, "", err
	}

	if redirectURI != "" && !slices.Contains(s.cfg.OAuthRedirectURLs, redirectURI) {
		return oauth.Flow{}, "", errors.Validation("redirect_uri is not allowed",
			errors.WithField("redirect_uri", "must be one of AUTH_OAUTH_REDIRECT_URLS"))
	}

	state, err := newSecret("state")
	if err != nil {
		return oauth.Flow{}, "", err
	}

	binding, err := newSecret("binding")
	if err != nil {
		return oauth.Flow{}, "", err
	}

	flow, err := p.Begin(ctx, state)
	if err != nil {
		return oauth.Flow{}, "", errors.Unavailable("the provider is unavailable; try again later", errors.WithCause(err))
	}

	now := s.now()

	err = s.repo.CreateOAuthState(ctx, models.OAuthState{
		StateHash: hashToken(state), Provider: name, BindingHash: hashToken(binding), UserID: userID,
		RedirectURI: redirectURI, CodeVerifier: flow.Verifier, Nonce: flow.Nonce, Session: flow.Session,
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.OAuthStateTTL),
	})
	if err != nil {
		return oauth.Flow{}, "", err
	}

	if err := grpc.SetHeader(ctx, metadata.Pairs(headerSetCookie, s.bindingCookie(binding))); err != nil {
		return oauth.Flow{}, "", errors.Internal("set cookie", err)
	}

	return flow, state, nil
}

// provider returns the enabled provider name.
func (s *Service) provider(name string) (*oauth.Provider, error) {
	p, ok := s.providers[name]
	if !ok {
		return nil, errors.Validation("unknown provider", errors.WithField("provider", "not enabled on this server"))
	}

	return p, nil
}

// throttleOAuth counts a start, callback or exchange against the client.
func (s *Service) throttleOAuth(ctx context.Context) error {
	return s.throttle(ctx, "oauth:ip:"+reqmeta.ClientIP(ctx), s.cfg.OAuthRequestsPerIP)
}

// bindingCookie is the Set-Cookie of a flow's binding: HttpOnly, for the
// OAuth routes only, Secure (browsers keep Secure cookies of plain-http
// localhost too, which is why a plain-http AUTH_OAUTH_BASE_URL must be
// loopback), and SameSite=Lax, so the provider's redirect (a top-level
// GET) carries it; a provider's form POST does not (FormPostOAuth).
func (s *Service) bindingCookie(binding string) string {
	c := http.Cookie{
		Name: oauthCookie, Value: binding, Path: oauthPath, MaxAge: int(s.cfg.OAuthStateTTL.Seconds()),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode,
	}

	return c.String()
}

// presentedBinding returns the binding cookie the request carries: the
// gateway forwards the Cookie header as grpcgateway-cookie, a gRPC client
// sends cookie metadata.
func presentedBinding(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)

	for _, line := range append(md.Get("grpcgateway-cookie"), md.Get("cookie")...) {
		cookies, err := http.ParseCookie(line)
		if err != nil {
			continue
		}

		for _, c := range cookies {
			if c.Name == oauthCookie {
				return c.Value
			}
		}
	}

	return ""
}
