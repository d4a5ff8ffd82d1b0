package setup

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/registry"
)

// authModule names the module that owns sessions.
const authModule = "auth"

// RemoteSessions installs the session check of a process that runs
// without the auth module (REMOTE_MODULES=auth=…): every authenticated
// request asks the auth service, with the caller's own token, which
// checks the session in its database, so that a logout applies on the
// very next request here too. When auth runs in this process it has
// installed its own check already, and nothing changes.
func RemoteSessions(reg *registry.Registry) error {
	if _, remote := reg.Config().Remotes()[authModule]; !remote || reg.SessionChecker() != nil {
		return nil // without either, authenticated requests fail closed
	}

	conn, err := reg.Client(authModule)
	if err != nil {
		return err
	}

	reg.ProvideSessionChecker(remoteSessions{client: authv1.NewAuthServiceClient(conn)})

	return nil
}

// remoteSessions checks sessions through the auth service's GetProfile,
// which authenticates the caller's token there.
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
