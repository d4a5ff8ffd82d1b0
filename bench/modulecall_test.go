package bench

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric/noop"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/modulith/modulith/cmd/server/observability"
	"github.com/modulith/modulith/cmd/server/setup"
	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/config"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/events/natsbus"
	"github.com/modulith/modulith/internal/grpcclient"
	"github.com/modulith/modulith/internal/grpcserver"
	"github.com/modulith/modulith/internal/notifier"
	"github.com/modulith/modulith/internal/pgtest"
	"github.com/modulith/modulith/internal/registry"
	"github.com/modulith/modulith/internal/reqmeta"
	"github.com/modulith/modulith/internal/resilience"
	"github.com/modulith/modulith/internal/secrets"
	"github.com/modulith/modulith/modules/auth"
)

// BenchmarkModuleCall measures one module calling another, one call at a
// time, the two ways the registry connects them: the in-process channel
// (the callee runs in this process) and a grpcclient connection (it runs
// elsewhere; here, the same server on a loopback port). Both run the
// server's full interceptor chain. Over the network the callee
// authenticates the caller's token again, session check in PostgreSQL
// included; in process the caller's identity carries over. The -public
// runs call a method that needs no token, which leaves the transport alone.
//
// Goal: in process ≥ 10 x-faster-than-loopback (p50).
func BenchmarkModuleCall(b *testing.B) {
	mc := startModuleCall(b)

	for _, m := range []struct{ suffix, method string }{{"", echoMethod}, {"-public", publicEchoMethod}} {
		var loopback latency

		b.Run("loopback"+m.suffix, func(b *testing.B) {
			loopback = sequential(b, echo(mc.remoteCaller, mc.loopback, m.method))
			loopback.report(b, latency{})
		})
		b.Run("in-process"+m.suffix, func(b *testing.B) {
			sequential(b, echo(mc.localCaller, mc.inProcess, m.method)).report(b, loopback)
		})
	}
}

// moduleCall is a server running the auth and echo modules, the two
// connections another module would reach echo through, and the context
// that module's handler would call with while serving a signed-in user.
type moduleCall struct {
	inProcess grpc.ClientConnInterface // what Host.Client("echo") hands a module of this process
	loopback  *grpc.ClientConn         // grpcclient.Dial of the server's port, as for REMOTE_MODULES
	// localCaller carries the user's identity, as the handler's context
	// does after authentication, and a request ID.
	localCaller context.Context
	// remoteCaller carries the user's access token instead, which
	// grpcclient sends along.
	remoteCaller context.Context
}

func startModuleCall(b *testing.B) *moduleCall {
	b.Helper()

	db := pgtest.NewDatabase(b, echoMigrations()...)

	// The server's logger in production: JSON at info level.
	logger, err := observability.NewLogger(io.Discard, "modulith", "json", "info")
	if err != nil {
		b.Fatal(err)
	}

	env := map[string]string{"ENV": "prod", "JWT_SECRET": secret, "DB_DSN": db.DSN}

	cfg, layers, _, err := config.Load(config.Files{}, func(k string) string { return env[k] })
	if err != nil {
		b.Fatal(err)
	}

	tel := telemetry(b, cfg)
	deps := registry.Deps{Layers: layers, Secret: secrets.Fixed([]byte(cfg.JWTSecret)), DB: db.Pool, Logger: logger}
	deps.Bus, deps.Notifier, deps.Tokens = platformServices(b, cfg, layers, db, logger)
	reg := registry.New(deps)

	// Built as the serve command builds it: the server and its channel on
	// the registry, the modules on the channel, their services on both.
	g, err := grpcserver.New(grpcserver.Deps{
		Config: cfg, Modules: reg, Tokens: deps.Tokens, Logger: logger, Meter: tel.Metrics.Meter(),
		Tracer: tel.Tracer, Propagator: tel.Propagator, Meters: tel.Metrics.Provider,
	})
	if err != nil {
		b.Fatal(err)
	}

	if err := reg.Init(g.Conn, auth.Module{}, echoModule{}); err != nil {
		b.Fatal(err)
	}

	g.Register(reg.RegisterGRPC)

	loopback, err := grpcclient.Dial(serveGRPC(b, g), grpcclient.Config{
		Timeout: cfg.RemoteTimeout, Retries: cfg.RemoteRetries, Propagator: tel.Propagator,
	})
	if err != nil {
		b.Fatal(err)
	}

	b.Cleanup(func() { _ = loopback.Close() })

	// signIn needs only the database: a user, a live session, a token.
	token := signIn(b, &platform{db: db})

	id, err := authn.NewAuthenticator(deps.Tokens, reg, reg).Authenticate(b.Context(), "Bearer "+token)
	if err != nil {
		b.Fatal(err)
	}

	caller := reqmeta.WithRequestID(b.Context(), "bench-module-call")
	mc := &moduleCall{
		inProcess: g.Conn, loopback: loopback,
		localCaller:  authn.NewContext(caller, id),
		remoteCaller: metadata.AppendToOutgoingContext(caller, "authorization", "Bearer "+token),
	}
	mc.check(b)

	return mc
}

// platformServices returns what the serve command hands the modules
// besides the database: the event bus (not started: nothing here
// publishes), the notifier and the token issuer.
func platformServices(
	b *testing.B, cfg *config.Config, layers *config.Layers, db *pgtest.Database, logger *slog.Logger,
) (*events.Bus, *notifier.Notifier, *authn.Tokens) {
	b.Helper()

	var busCfg events.Config
	if _, err := layers.Load("events", &busCfg); err != nil {
		b.Fatal(err)
	}

	bus, err := events.New(db.Pool, busCfg, secrets.Fixed([]byte(cfg.JWTSecret)), logger, natsbus.Transport{})
	if err != nil {
		b.Fatal(err)
	}

	guards, err := resilience.New(resilience.DefaultConfig(), noop.NewMeterProvider().Meter("bench"))
	if err != nil {
		b.Fatal(err)
	}

	n, err := setup.Notifier(cfg, logger, guards)
	if err != nil {
		b.Fatal(err)
	}

	tokens, err := authn.NewTokens(authn.TokenConfig{Secret: secrets.Fixed([]byte(cfg.JWTSecret)), Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience})
	if err != nil {
		b.Fatal(err)
	}

	return bus, n, tokens
}

// check fails the benchmark unless both connections echo on both methods
// and Echo refuses a caller without identity (it is not public).
func (mc *moduleCall) check(b *testing.B) {
	b.Helper()

	conns := map[string]struct {
		caller context.Context
		conn   grpc.ClientConnInterface
	}{"loopback": {mc.remoteCaller, mc.loopback}, "in-process": {mc.localCaller, mc.inProcess}}

	for name, c := range conns {
		for _, method := range []string{echoMethod, publicEchoMethod} {
			reply := new(wrapperspb.StringValue)
			if err := c.conn.Invoke(c.caller, method, wrapperspb.String("ping"), reply); err != nil || reply.GetValue() != "ping" {
				b.Fatalf("%s %s(ping) = %q, %v; want ping, nil", name, method, reply.GetValue(), err)
			}
		}

		err := c.conn.Invoke(b.Context(), echoMethod, wrapperspb.String("ping"), new(wrapperspb.StringValue))
		if status.Code(err) != codes.Unauthenticated {
			b.Fatalf("%s %s without identity = %v, want Unauthenticated", name, echoMethod, err)
		}
	}
}

// telemetry sets up production telemetry (metrics, tracing, propagation)
// as the serve command does, until the benchmark ends.
func telemetry(b *testing.B, cfg *config.Config) *observability.Telemetry {
	b.Helper()

	tel, err := observability.Setup(b.Context(), cfg.ServiceName, "bench")
	if err != nil {
		b.Fatal(err)
	}

	b.Cleanup(func() {
		if err := tel.Shutdown(context.Background()); err != nil {
			b.Errorf("telemetry: %v", err)
		}
	})

	return tel
}

// serveGRPC serves g's server on a loopback port until the benchmark
// ends, and returns the address.
func serveGRPC(b *testing.B, g *grpcserver.GRPC) string {
	b.Helper()

	var lc net.ListenConfig

	ln, err := lc.Listen(b.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}

	served := make(chan error, 1)

	go func() { served <- g.Server.Serve(ln) }()

	b.Cleanup(func() {
		g.Server.Stop()

		if err := <-served; err != nil && !errors.Is(err, grpc.ErrServerStopped) { // Stop before Serve began
			b.Errorf("gRPC server: %v", err)
		}
	})

	return ln.Addr().String()
}

// echo is one call of method, as a generated client makes it (a new reply
// each time).
func echo(ctx context.Context, conn grpc.ClientConnInterface, method string) func() error {
	req := wrapperspb.String("ping")

	return func() error { return conn.Invoke(ctx, method, req, new(wrapperspb.StringValue)) }
}

// latency is the p50 and p99 of a run of sequential calls.
type latency struct {
	p50, p99 time.Duration
}

// report prints the figures and, when the loopback run came first, how
// many times faster than it this run was at p50.
func (l latency) report(b *testing.B, loopback latency) {
	b.ReportMetric(micros(l.p50), "p50-µs")
	b.ReportMetric(micros(l.p99), "p99-µs")

	if loopback.p50 > 0 && l.p50 > 0 {
		b.ReportMetric(float64(loopback.p50)/float64(l.p50), "x-faster-than-loopback")
	}
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// sequential makes b.N calls, each after the previous one returned, and
// records how long each took.
func sequential(b *testing.B, call func() error) latency {
	b.Helper()
	b.ReportAllocs()

	durations := make([]time.Duration, b.N)

	b.ResetTimer()

	for i := range durations {
		start := time.Now()

		if err := call(); err != nil {
			b.Fatal(err)
		}

		durations[i] = time.Since(start)
	}

	b.StopTimer()
	slices.Sort(durations)

	return latency{p50: percentile(durations, 0.50), p99: percentile(durations, 0.99)}
}
