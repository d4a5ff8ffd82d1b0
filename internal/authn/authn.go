// Package authn authenticates every request, gRPC and REST alike, in one
// global interceptor: it verifies the bearer access token, checks that its
// session is still live, and puts the caller's Identity in the context.
// Modules declare the methods that need no token (login, refresh).
package authn

import (
	"context"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/modulith/modulith/internal/inproc"

	"github.com/modulith/modulith/internal/errors"
)

// Identity is the authenticated caller.
type Identity struct {
	UserID    string
	SessionID string
	Role      string
	// Permissions of the role, resolved once per request; read-only.
	Permissions []string
}

type identityKey struct{}

// NewContext returns a context carrying id.
func NewContext(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

type tokenKey struct{}

// withToken returns a context carrying the caller's raw access token.
func withToken(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, tokenKey{}, token)
}

// TokenFromContext returns the access token the caller authenticated
// with, so that a call to a module in another process carries the
// caller's identity (see internal/grpcclient). Never log it.
func TokenFromContext(ctx context.Context) (string, bool) {
	t, ok := ctx.Value(tokenKey{}).(string)

	return t, ok && t != ""
}

// FromContext returns the caller, if the request is authenticated.
func FromContext(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)

	return id, ok
}

// SessionChecker confirms that a session may still be used and returns the
// current role of its user. The auth module provides it; it must be cheap,
// since it runs on every authenticated request.
type SessionChecker interface {
	CheckSession(ctx context.Context, sessionID, userID string) (role string, err error)
}

// RoleResolver returns the permissions of a role.
type RoleResolver interface {
	Permissions(role string) []string
}

// Authenticator turns a bearer token into an Identity.
type Authenticator struct {
	tokens   *Tokens
	sessions SessionChecker
	roles    RoleResolver
}

// NewAuthenticator returns an Authenticator. A nil sessions checker fails
// every request closed (Unavailable) rather than trusting tokens alone.
func NewAuthenticator(tokens *Tokens, sessions SessionChecker, roles RoleResolver) *Authenticator {
	return &Authenticator{tokens: tokens, sessions: sessions, roles: roles}
}

// Authenticate verifies a raw "Bearer <token>" authorization value.
func (a *Authenticator) Authenticate(ctx context.Context, authorization string) (Identity, error) {
	token, ok := bearer(authorization)
	if !ok {
		return Identity{}, errors.Unauthorized("authentication required")
	}

	claims, err := a.tokens.ParseAccess(token)
	if err != nil {
		return Identity{}, err
	}

	if a.sessions == nil {
		return Identity{}, errors.Unavailable("authentication is not available")
	}

	// A checker in another process (auth run as its own service) needs
	// the token itself; a session cache, its expiry.
	ctx = withToken(ctx, token)
	if claims.ExpiresAt != nil {
		ctx = withTokenExpiry(ctx, claims.ExpiresAt.Time)
	}

	role, err := a.sessions.CheckSession(ctx, claims.SessionID, claims.Subject)
	if err != nil {
		return Identity{}, err
	}

	return Identity{
		UserID:      claims.Subject,
		SessionID:   claims.SessionID,
		Role:        role,
		Permissions: a.roles.Permissions(role),
	}, nil
}

// bearer extracts the token of a "Bearer <token>" value (scheme is
// case-insensitive, as RFC 6750 allows).
func bearer(authorization string) (string, bool) {
	const prefix = "bearer "
	if len(authorization) <= len(prefix) || !strings.EqualFold(authorization[:len(prefix)], prefix) {
		return "", false
	}

	token := strings.TrimSpace(authorization[len(prefix):])

	return token, token != ""
}

// UnaryServerInterceptor authenticates every unary call whose full method
// name is not public.
func UnaryServerInterceptor(a *Authenticator, public func(fullMethod string) bool) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if public(info.FullMethod) {
			return handler(ctx, req)
		}

		ctx, err := a.authenticateIncoming(ctx)
		if err != nil {
			return nil, err
		}

		return handler(ctx, req)
	}
}

// StreamServerInterceptor authenticates every streaming call whose full
// method name is not public.
func StreamServerInterceptor(a *Authenticator, public func(fullMethod string) bool) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if public(info.FullMethod) {
			return handler(srv, ss)
		}

		ctx, err := a.authenticateIncoming(ss.Context())
		if err != nil {
			return err
		}

		return handler(srv, &contextStream{ServerStream: ss, ctx: ctx})
	}
}

func (a *Authenticator) authenticateIncoming(ctx context.Context) (context.Context, error) {
	vals := metadata.ValueFromIncomingContext(ctx, "authorization")

	if len(vals) == 0 {
		// A module calling another through the in-process channel, while
		// handling a request this process authenticated, acts as that
		// request's caller: the identity carries over without a second
		// session check.
		if caller := inproc.ClientContext(ctx); caller != nil {
			if id, ok := FromContext(caller); ok {
				token, _ := TokenFromContext(caller)

				return withToken(NewContext(ctx, id), token), nil
			}
		}
	}

	var authorization string
	if len(vals) == 1 {
		authorization = vals[0]
	}

	id, err := a.Authenticate(ctx, authorization)
	if err != nil {
		return nil, err
	}

	token, _ := bearer(authorization)

	return withToken(NewContext(ctx, id), token), nil
}

// contextStream replaces a stream's context.
type contextStream struct {
	grpc.ServerStream

	ctx context.Context
}

func (s *contextStream) Context() context.Context { return s.ctx }
