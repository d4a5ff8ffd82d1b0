package graphql

import (
	"context"
	stderrors "errors"
	"log/slog"

	"github.com/99designs/gqlgen/graphql/handler/transport"

	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/websocket"
)

// connections authenticates WebSocket connections and gives each its feed
// of events.
type connections struct {
	auth   Authenticator
	hub    *websocket.Hub
	logger *slog.Logger
}

// init authenticates a connection from its connection_init payload
// ({"Authorization": "Bearer <access token>"}) or, for clients that can
// set headers, the upgrade request's Authorization header: the same check
// as /ws (a valid access token of a live session). Its operations then run
// with those credentials, and its subscriptions get the session's events
// until the session ends, which closes the connection.
func (c *connections) init(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
	authorization := payload.Authorization()
	if authorization == "" {
		authorization = headerAuthorization(ctx)
	}

	if authorization == "" {
		return withCloseCode(ctx), nil, errors.Unauthorized("authentication required: send {\"Authorization\": \"Bearer <access token>\"} in connection_init")
	}

	id, err := c.auth.Authenticate(ctx, authorization)
	if err != nil {
		return withCloseCode(ctx), nil, errors.ToDomain(err)
	}

	ctx = authn.NewContext(outgoing(ctx, authorization), id)

	if c.hub == nil {
		return ctx, nil, nil
	}

	l, err := c.hub.Listen(id.UserID, id.SessionID)
	if stderrors.Is(err, websocket.ErrTooMany) {
		return ctx, nil, errors.RateLimited("too many connections for this user", 0)
	} else if err != nil {
		return ctx, nil, errors.Unavailable("server shutting down; reconnect")
	}

	ctx, cancel := context.WithCancel(ctx)
	f := newFeed(l, c.logger)

	// The session ended or the hub closed: so does the connection. Why
	// does not matter to the connection: it closes.
	go func() { _ = f.run(ctx, cancel) }()

	return context.WithValue(ctx, feedKey{}, f), nil, nil
}

// withCloseCode marks a refused connection for closing with 4401
// Unauthorized, as graphql-transport-ws says.
func withCloseCode(ctx context.Context) context.Context {
	return transport.WithWebsocketCloseCode(ctx, int(websocket.CloseSessionEnded))
}

// upgradeAuthorizationKey holds the Authorization header of the upgrade
// request.
type upgradeAuthorizationKey struct{}

func withHeaderAuthorization(ctx context.Context, authorization string) context.Context {
	return context.WithValue(ctx, upgradeAuthorizationKey{}, authorization)
}

func headerAuthorization(ctx context.Context) string {
	a, _ := ctx.Value(upgradeAuthorizationKey{}).(string)

	return a
}
