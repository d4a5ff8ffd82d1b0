package setup

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	gqlgen "github.com/99designs/gqlgen/graphql"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"

	"github.com/modulith/modulith/cmd/server/health"
	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/config"
	"github.com/modulith/modulith/internal/gateway"
	"github.com/modulith/modulith/internal/graphql"
	"github.com/modulith/modulith/internal/graphql/playground"
	"github.com/modulith/modulith/internal/middleware"
	"github.com/modulith/modulith/internal/openapi"
	"github.com/modulith/modulith/internal/routepolicy"
	"github.com/modulith/modulith/internal/websocket"
)

// Modules is what the HTTP handler asks of the modules: their REST
// handlers, and the session check and roles that authenticate /ws
// (registry.Registry).
type Modules interface {
	RegisterGateway(ctx context.Context, mux *runtime.ServeMux, conn grpc.ClientConnInterface) error
	authn.SessionChecker
	authn.RoleResolver
}

// HTTPDeps are what the HTTP handler needs.
type HTTPDeps struct {
	Config     *config.Config
	Modules    Modules
	Tokens     *authn.Tokens
	Conn       grpc.ClientConnInterface
	Health     *health.Checker
	Logger     *slog.Logger
	Meter      metric.Meter
	Tracer     trace.TracerProvider
	Propagator propagation.TextMapPropagator
	// WebSocket, when set, serves /ws.
	WebSocket *websocket.Hub
	// WebSocketQueryToken also accepts ?token= on /ws (WS_QUERY_TOKEN).
	WebSocketQueryToken bool
	// WebSocketPing is how often sockets are pinged (WS_PING_INTERVAL).
	WebSocketPing time.Duration
	// GraphQL, when set and GRAPHQL_ENABLED, is served at /graphql; its
	// subscriptions need WebSocket.
	GraphQL gqlgen.ExecutableSchema
	// Policy marks client requests for the route policies of the gRPC
	// chain, charges /graphql and /ws, and makes the gateway's GETs
	// conditional (ETag).
	Policy *routepolicy.Policy
}

// HTTPHandler serves the REST gateway of every module, the probes (where
// the orchestrator reaches them), the WebSocket endpoint and, when enabled
// (dev), the Swagger UI, behind the middleware stack. The operational
// endpoints are on the admin listener (AdminHandler).
func HTTPHandler(ctx context.Context, d HTTPDeps) (http.Handler, error) {
	gw := gateway.NewMux()
	if err := d.Modules.RegisterGateway(ctx, gw, d.Conn); err != nil {
		return nil, err
	}

	cfg := d.Config

	mux := http.NewServeMux()
	d.Health.Register(mux)

	if cfg.SwaggerEnabled {
		docs := http.NewServeMux()
		openapi.Register(docs)
		mux.Handle(openapi.SpecPath, middleware.Timeout(cfg.RequestTimeout)(docs))
		mux.Handle(openapi.UIPath, middleware.Timeout(cfg.RequestTimeout)(docs))
	}

	if d.WebSocket != nil {
		mountWebSocket(mux, d)
	}

	if d.GraphQL != nil && cfg.GraphQLEnabled {
		if err := mountGraphQL(mux, d); err != nil {
			return nil, err
		}
	}

	// The gateway answers 504 by itself when the deadline passes: its calls
	// go through the in-process channel, which returns DeadlineExceeded at
	// once. It needs the deadline, not Timeout's buffering. Its answers
	// carry tokens and personal data: no cache may keep them, except the
	// successful GETs, which a client revalidates (Policy.Cache).
	mux.Handle("/", d.Policy.Cache(middleware.NoStore(middleware.Deadline(cfg.RequestTimeout)(gw))))

	metrics, err := middleware.Metrics(d.Meter)
	if err != nil {
		return nil, err
	}

	trusted, err := prefixes(d.Config.TrustedProxies)
	if err != nil {
		return nil, err
	}

	return middleware.Chain(mux,
		middleware.RequestID,
		middleware.ClientIP(trusted),
		middleware.Recovery(d.Logger),
		middleware.Tracing(d.Tracer, d.Propagator),
		metrics,
		middleware.AccessLog(d.Logger, middleware.LoggingConfig{
			SkipPaths: cfg.LogSkipPaths, SlowRequestThreshold: cfg.LogSlowRequest,
		}),
		middleware.SecurityHeaders(middleware.SecurityConfig{HSTS: !cfg.IsDev()}),
		middleware.CORS(middleware.CORSConfig{
			AllowedOrigins: cfg.CORSAllowedOrigins, AllowCredentials: cfg.CORSAllowCredentials,
		}),
		middleware.BodyReadTimeout(cfg.RequestReadTimeout),
		middleware.BodyLimit(cfg.MaxBodyBytes),
		d.Policy.Middleware(graphql.Path, wsPath),
	), nil
}

// mountWebSocket serves /ws outside the request deadline:
// a socket lives as long as its connection. /ws authenticates like every
// gRPC call (the same Authenticator: access token and live session) and
// admits the browser origins CORS allows.
func mountWebSocket(mux *http.ServeMux, d HTTPDeps) {
	auth := authn.NewAuthenticator(d.Tokens, d.Modules, d.Modules)
	ws := websocket.NewHandler(d.WebSocket, auth, websocket.HandlerConfig{
		AllowedOrigins: d.Config.CORSAllowedOrigins, QueryToken: d.WebSocketQueryToken,
	}, d.Logger.With("component", "websocket"))

	mux.Handle("GET "+wsPath, ws)
}

// wsPath is where clients open WebSockets.
const wsPath = "/ws"

// mountGraphQL serves /graphql: over HTTP within the request deadline,
// never cached; over WebSocket (subscriptions) outside it, authenticated
// like /ws; and, when enabled (dev), GraphiQL to browsers.
func mountGraphQL(mux *http.ServeMux, d HTTPDeps) error {
	cfg := d.Config

	var allow graphql.AllowList

	if cfg.GraphQLAllowList != "" {
		list, err := graphql.LoadAllowList(cfg.GraphQLAllowList)
		if err != nil {
			return err
		}

		allow = list
	}

	ping := d.WebSocketPing
	if ping <= 0 {
		ping = defaultPing
	}

	h := graphql.NewHandler(graphql.Config{
		Introspection: cfg.GraphQLIntrospection, MaxDepth: cfg.GraphQLMaxDepth, MaxComplexity: cfg.GraphQLMaxComplexity,
		AllowList: allow, AllowedOrigins: cfg.CORSAllowedOrigins, PingInterval: ping,
	}, graphql.HandlerDeps{
		Schema: d.GraphQL, Auth: authn.NewAuthenticator(d.Tokens, d.Modules, d.Modules), Hub: d.WebSocket,
		Logger: d.Logger.With("component", "graphql"),
	})
	api := middleware.NoStore(middleware.Deadline(cfg.RequestTimeout)(h))
	endpoint := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "" {
			h.ServeHTTP(w, r)

			return
		}

		api.ServeHTTP(w, r)
	})

	mux.Handle(graphql.Path, endpoint)

	// In dev a browser's GET /graphql is GraphiQL, served from the binary;
	// every other GET (queries, the WebSocket upgrade) is the endpoint's.
	if cfg.GraphQLPlayground {
		playground.Register(mux, graphql.Path, graphql.Path, endpoint)
	}

	return nil
}

// defaultPing is the WebSocket ping interval when none is configured.
const defaultPing = 30 * time.Second

func prefixes(cidrs []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(cidrs))

	for _, c := range cidrs {
		if p, err := netip.ParsePrefix(c); err == nil {
			out = append(out, p)

			continue
		}

		addr, err := netip.ParseAddr(c)
		if err != nil {
			return nil, fmt.Errorf("TRUSTED_PROXIES: %q is neither a CIDR nor an IP address", c)
		}

		out = append(out, netip.PrefixFrom(addr, addr.BitLen()))
	}

	return out, nil
}
