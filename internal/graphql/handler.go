package graphql

import (
	"context"
	stderrors "errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	gqlgen "github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	coderws "github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"google.golang.org/grpc/metadata"

	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/reqmeta"
	"github.com/modulith/modulith/internal/routepolicy"
	"github.com/modulith/modulith/internal/websocket"
)

// Path is where the API is served.
const Path = "/graphql"

// queryCacheSize is how many parsed and validated queries are kept.
const queryCacheSize = 1000

// Config configures the endpoint.
type Config struct {
	// Introspection answers __schema and __type queries (dev).
	Introspection bool
	// MaxDepth bounds how deep selections nest; MaxComplexity bounds an
	// operation's cost (each field 1, plus its children).
	MaxDepth      int
	MaxComplexity int
	// AllowList, when not nil, holds the only operations that may run:
	// their SHA-256 (hex) → query (LoadAllowList).
	AllowList AllowList
	// AllowedOrigins are the browser origins that may open a WebSocket
	// (the CORS allow-list; the page's own origin always may).
	AllowedOrigins []string
	// PingInterval is how often the server pings a WebSocket; a client
	// that does not answer within two intervals is dropped.
	PingInterval time.Duration
}

// Authenticator checks an access token and its session, as every gRPC
// call does (authn.Authenticator).
type Authenticator = websocket.Authenticator

// HandlerDeps are what the endpoint needs.
type HandlerDeps struct {
	// Schema is the modules' executable schema (modules.GraphQL).
	Schema gqlgen.ExecutableSchema
	// Auth authenticates WebSocket connections.
	Auth Authenticator
	// Hub, when set, feeds subscriptions; without it they fail.
	Hub    *websocket.Hub
	Logger *slog.Logger
}

// NewHandler returns the /graphql handler: POST and GET (queries) over
// HTTP, and graphql-transport-ws over WebSocket.
func NewHandler(cfg Config, d HandlerDeps) http.Handler {
	srv := handler.New(d.Schema)

	srv.AddTransport(transport.Websocket{
		InitFunc:              (&connections{auth: d.Auth, hub: d.Hub, logger: d.Logger}).init,
		KeepAlivePingInterval: cfg.PingInterval,
		PingPongInterval:      cfg.PingInterval,
		// The handler has checked the origin against the platform's own
		// list.
		Implementation: transport.CoderWebsocketImplementation{
			AcceptOptions: coderws.AcceptOptions{InsecureSkipVerify: true},
		},
	})
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})

	srv.SetQueryCache(lru.New[*ast.QueryDocument](queryCacheSize))
	srv.AroundOperations(withLoaders)
	srv.AroundOperations(ownRequest)

	if cfg.AllowList != nil {
		srv.Use(cfg.AllowList)
	}

	if cfg.Introspection {
		srv.Use(extension.Introspection{})
	}

	srv.Use(depthLimit(cfg.MaxDepth))
	srv.Use(extension.FixedComplexityLimit(cfg.MaxComplexity))

	srv.SetErrorPresenter(presenter(d.Logger))
	srv.SetRecoverFunc(func(ctx context.Context, p any) error {
		d.Logger.ErrorContext(ctx, "graphql: resolver panicked", "panic", fmt.Sprint(p))

		return errors.Internal("internal error", fmt.Errorf("panic: %v", p))
	})

	origins := websocket.NewOriginPolicy(cfg.AllowedOrigins)

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "" {
			if !origins.Allows(r) {
				errors.WriteHTTP(w, http.StatusForbidden, errors.Forbidden("origin not allowed"))

				return
			}
			// The socket outlives the request's deadline; its operations
			// carry the metadata of the connection (connections.init).
			srv.ServeHTTP(w, r.WithContext(withHeaderAuthorization(r.Context(), r.Header.Get("Authorization"))))

			return
		}

		srv.ServeHTTP(w, r.WithContext(outgoing(r.Context(), r.Header.Get("Authorization"))))
	})
}

// ownRequest makes each operation on a WebSocket a request of its own to
// the route policies, so that its calls are charged to the rate limits;
// an operation over HTTP already is one.
func ownRequest(ctx context.Context, next gqlgen.OperationHandler) gqlgen.ResponseHandler {
	return next(routepolicy.Operation(ctx))
}

// outgoing returns ctx carrying, for the modules' gRPC clients, what the
// REST gateway forwards: the credentials, the request ID, the client's IP
// address and user agent.
func outgoing(ctx context.Context, authorization string) context.Context {
	md := reqmeta.Forwarded(ctx)
	if authorization != "" {
		md.Set("authorization", authorization)
	}

	return metadata.NewOutgoingContext(ctx, md)
}

// presenter returns the error presenter: a module's error keeps its
// message and gets its domain code (and details, e.g. the invalid fields)
// in extensions; anything else becomes INTERNAL, its cause logged, never
// shown.
func presenter(logger *slog.Logger) gqlgen.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		cause := err

		var gqlErr *gqlerror.Error
		if stderrors.As(err, &gqlErr) {
			if gqlErr.Err == nil {
				return gqlErr // the query itself is wrong: parse, validation, limits
			}

			cause = gqlErr.Err
		}

		de := errors.ToDomain(errors.FromGRPC(cause))
		if de.Type == errors.TypeInternal {
			logger.ErrorContext(ctx, "graphql: resolver failed", "error", cause)
		}

		out := gqlgen.DefaultErrorPresenter(ctx, err)
		out.Message = de.Message
		out.Err = nil

		body := errors.Body(de)
		out.Extensions = map[string]any{"code": body.Code}

		if len(body.Details) > 0 {
			out.Extensions["details"] = body.Details
		}

		return out
	}
}
