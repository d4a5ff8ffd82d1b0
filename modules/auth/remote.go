package auth

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/errors"
)

// remoteSessions is the session check of a process that runs without
// auth (REMOTE_MODULES=auth=…): every authenticated request asks the auth
// service, with the caller's own token, through GetProfile, which checks
// the session in auth's database, so that a logout applies on the very
// next request there too.
type remoteSessions struct {
	client authv1.AuthServiceClient
}

var _ authn.SessionChecker = remoteSessions{}

func (r remoteSessions) CheckSession(ctx context.Context, _, userID string) (string, error) {
	if _, ok := authn.TokenFromContext(ctx); !ok {
		return "", errors.Unauthorized("authentication required")
	}

	resp, err := r.client.GetProfile(ctx, &authv1.GetProfileRequest{})

	switch status.Code(err) {
	case codes.OK:
	case codes.Unauthenticated:
		return "", errors.WithCode(errors.CodeAuthTokenInvalid, "session expired or revoked")
	default:
		return "", errors.Unavailable("cannot check the session now", errors.WithCause(err))
	}

	if resp.GetUser().GetId() != userID {
		return "", errors.WithCode(errors.CodeAuthTokenInvalid, "session does not match its token")
	}

	return resp.GetUser().GetRole(), nil
}
