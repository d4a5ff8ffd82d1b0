// Package moduletest runs modules for their tests the way a server runs
// them, on a real database: the configuration of a dev server, a running
// event bus, the registry building the modules through their Host, the
// server's interceptor chain on the gRPC server (over loopback) and on the
// in-process channel, the REST gateway and, when asked, /graphql with its
// subscriptions. It imports nothing under cmd/ or modules/, so a module's
// tests can use it.
package moduletest

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	gqlgen "github.com/99designs/gqlgen/graphql"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/bustest"
	"github.com/modulith/modulith/internal/config"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/events/natsbus"
	"github.com/modulith/modulith/internal/gateway"
	"github.com/modulith/modulith/internal/graphql"
	"github.com/modulith/modulith/internal/grpcserver"
	"github.com/modulith/modulith/internal/notifier"
	"github.com/modulith/modulith/internal/registry"
	"github.com/modulith/modulith/internal/secrets"
	"github.com/modulith/modulith/internal/telemetry"
)

// JWTSecret signs the platform's tokens unless Options.Env sets JWT_SECRET.
const JWTSecret = "moduletest-jwt-secret-0123456789abcdef0123456789"

// Options adjust the platform; the zero value is a dev server.
type Options struct {
	// Env sets environment variables: the platform's settings (ENV,
	// EVENTS_*) and the modules' own (ORDERS_…).
	Env map[string]string
	// Logger receives the platform's logs, the messages the dev notifier
	// "sends" included; nil discards them.
	Logger *slog.Logger
	// Sessions stands in for the session check of the module that owns
	// sessions, when the test does not run it.
	Sessions authn.SessionChecker
	// Collect names the events Platform.Events records.
	Collect []string
	// Remote connects modules that run elsewhere (REMOTE_MODULES).
	Remote map[string]grpc.ClientConnInterface
	// Notifier sends the modules' messages; nil is the dev notifier, which
	// logs them to Logger.
	Notifier *notifier.Notifier
	// GraphQL, when set, builds the GraphQL schema served at
	// Platform.GraphQL: modules.GraphQL, every module's, whose resolvers
	// reach the modules the platform runs (the others answer
	// Unimplemented). Its subscriptions get the events of the modules'
	// realtime routes, as a server's do.
	GraphQL func(graphql.Deps) gqlgen.ExecutableSchema
}

// Platform is modules running in process.
type Platform struct {
	Registry *registry.Registry
	Bus      *events.Bus
	Tokens   *authn.Tokens
	// Events records the events named in Options.Collect.
	Events *bustest.Collector
	// Conn reaches the modules over loopback gRPC; InProcess is the
	// in-process channel, as the gateway and other modules call them.
	Conn      *grpc.ClientConn
	InProcess grpc.ClientConnInterface
	// REST is the base URL of the REST gateway, e.g. http://127.0.0.1:41234.
	REST string
	// GraphQL is the URL of the GraphQL endpoint when Options.GraphQL is
	// set, e.g. http://127.0.0.1:41235/graphql (PostGraphQL,
	// SubscribeGraphQL).
	GraphQL string
}

// Start builds modules on pool and serves them until the test ends. Any
// error fails the test.
func Start(t testing.TB, pool *pgxpool.Pool, modules []registry.Module, opts Options) *Platform {
	t.Helper()

	cfg, layers := configure(t, opts.Env)
	logger := opts.Logger

	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	secret := openSecret(t, cfg, logger)
	p := &Platform{Bus: newBus(t, pool, layers, secret, logger), Tokens: newTokens(t, cfg, secret)}
	p.Registry = registry.New(registry.Deps{
		Layers: layers, Secret: secret, DB: pool, Bus: p.Bus, Logger: logger,
		Notifier: newNotifier(opts.Notifier, logger), Tokens: p.Tokens, Remote: opts.Remote,
	})

	srv, err := grpcserver.New(grpcserver.Deps{
		Config: cfg, Modules: p.Registry, Tokens: p.Tokens, Logger: logger,
		Meter:  otel.GetMeterProvider().Meter(telemetry.InstrumentationName),
		Tracer: otel.GetTracerProvider(), Propagator: propagation.TraceContext{},
	})
	if err != nil {
		t.Fatalf("moduletest: gRPC server: %v", err)
	}

	if opts.Sessions != nil {
		modules = append([]registry.Module{sessions{opts.Sessions}}, modules...)
	}

	if err := p.Registry.Init(srv.Conn, modules...); err != nil {
		t.Fatalf("moduletest: %v", err)
	}

	srv.Register(p.Registry.RegisterGRPC)
	p.InProcess = srv.Conn
	p.Events = bustest.NewCollector()

	if err := p.Events.Subscribe(p.Bus, opts.Collect...); err != nil {
		t.Fatalf("moduletest: %v", err)
	}

	if opts.GraphQL != nil {
		p.GraphQL = serveGraphQL(t, p, pool, cfg, layers, opts.GraphQL, logger)
	}

	bustest.Start(t, p.Bus)
	p.Conn = serve(t, srv)
	p.REST = serveREST(t, p.Registry, srv.Conn)

	return p
}

// Token returns an access token of userID in sessionID, valid for an hour.
func (p *Platform) Token(t testing.TB, userID, sessionID, role string) string {
	t.Helper()

	token, _, err := p.Tokens.IssueAccess(userID, sessionID, role, time.Now(), time.Hour)
	if err != nil {
		t.Fatalf("moduletest: token: %v", err)
	}

	return token
}

// As returns a context whose gRPC calls carry token.
func As(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// configure loads the platform's configuration as a dev server would,
// from env over the test defaults.
func configure(t testing.TB, env map[string]string) (*config.Config, *config.Layers) {
	t.Helper()

	getenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}

		return map[string]string{"ENV": "dev", "JWT_SECRET": JWTSecret}[k]
	}

	cfg, layers, _, err := config.Load(config.Files{}, getenv)
	if err != nil {
		t.Fatalf("moduletest: configuration: %v", err)
	}

	return cfg, layers
}

// openSecret opens the platform secret as a server does
// (SECRETS_PROVIDER), re-read every SECRETS_TTL until the test ends.
func openSecret(t testing.TB, cfg *config.Config, logger *slog.Logger) *secrets.Secret {
	t.Helper()

	secret, err := secrets.Open(t.Context(), cfg, logger)
	if err != nil {
		t.Fatalf("moduletest: %v", err)
	}

	secret.Start(t.Context())
	t.Cleanup(func() {
		if err := secret.Close(context.Background()); err != nil {
			t.Errorf("moduletest: %v", err)
		}
	})

	return secret
}

func newTokens(t testing.TB, cfg *config.Config, secret *secrets.Secret) *authn.Tokens {
	t.Helper()

	tokens, err := authn.NewTokens(authn.TokenConfig{
		Secret: secret, Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience,
	})
	if err != nil {
		t.Fatalf("moduletest: tokens: %v", err)
	}

	return tokens
}

// newNotifier returns n, or without one the dev notifier on logger.
func newNotifier(n *notifier.Notifier, logger *slog.Logger) *notifier.Notifier {
	if n != nil {
		return n
	}

	dev := notifier.NewLogNotifier(logger.With("provider", "log"))

	return notifier.New(dev, dev)
}

// newBus makes a bus on pool configured by the "events" section, on
// either transport, as a server makes it.
func newBus(t testing.TB, pool *pgxpool.Pool, layers *config.Layers, secret *secrets.Secret, logger *slog.Logger) *events.Bus {
	t.Helper()

	var cfg events.Config
	if _, err := layers.Load("events", &cfg); err != nil {
		t.Fatalf("moduletest: events configuration: %v", err)
	}

	bus, err := events.New(pool, cfg, secret, logger, natsbus.Transport{})
	if err != nil {
		t.Fatalf("moduletest: event bus: %v", err)
	}

	return bus
}

// serve serves srv on loopback until the test ends and returns a client
// connection to it.
func serve(t testing.TB, srv *grpcserver.GRPC) *grpc.ClientConn {
	t.Helper()

	var lc net.ListenConfig

	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("moduletest: listen: %v", err)
	}

	served := make(chan error, 1)

	go func() { served <- srv.Server.Serve(ln) }()

	t.Cleanup(func() {
		srv.Server.Stop()

		// ErrServerStopped: the test ended before Serve began (Stop closed ln).
		if err := <-served; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			t.Errorf("moduletest: gRPC server: %v", err)
		}
	})

	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("moduletest: gRPC client: %v", err)
	}

	t.Cleanup(func() { _ = conn.Close() })

	return conn
}

// serveREST serves the modules' REST gateway, calling them through conn.
func serveREST(t testing.TB, reg *registry.Registry, conn grpc.ClientConnInterface) string {
	t.Helper()

	mux := gateway.NewMux()
	if err := reg.RegisterGateway(t.Context(), mux, conn); err != nil {
		t.Fatalf("moduletest: gateway: %v", err)
	}

	web := httptest.NewServer(mux)
	t.Cleanup(web.Close)

	return web.URL
}

// sessions is a module that only provides a session check.
type sessions struct{ check authn.SessionChecker }

func (sessions) Name() string { return "moduletest_sessions" }

func (s sessions) Init(h registry.Host) error {
	h.ProvideSessions(s.check)

	return nil
}
