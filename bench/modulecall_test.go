package bench

import (
	"context"
	"io"
	"log/slog"
	"net"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/modulith/modulith/cmd/server/observability"
	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/grpcclient"
	"github.com/modulith/modulith/internal/grpcserver"
	"github.com/modulith/modulith/internal/registry"
	"github.com/modulith/modulith/internal/reqmeta"
	"github.com/modulith/modulith/internal/testutil"
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
	inProcess grpc.ClientConnInterface // reg.Client("echo")
	loopback  *grpc.ClientConn         // grpcclient.Dial of the server's port
	// localCaller carries the user's identity, as the handler's context
	// does after authentication, and a request ID.
	localCaller context.Context
	// remoteCaller carries the user's access token instead, which
	// grpcclient sends along.
	remoteCaller context.Context
}

func startModuleCall(b *testing.B) *moduleCall {
	b.Helper()

	db := testutil.NewDatabase(b, echoMigrations(b)...)

	// The server's logger in production: JSON at info level.
	logger, err := observability.NewLogger(io.Discard, "modulith", "json", "info")
	if err != nil {
		b.Fatal(err)
	}

	reg := testutil.NewRegistryBuilder().
		WithEnv(map[string]string{"ENV": "prod", "JWT_SECRET": secret, "DB_DSN": db.DSN}).
		WithDatabase(db.Pool).WithLogger(logger).WithModules(auth.New(), echoModule{}).Build(b)
	if err := reg.InitializeAll(); err != nil {
		b.Fatal(err)
	}

	addr, propagator := serveGRPC(b, reg, logger)
	cfg := reg.Config()

	loopback, err := grpcclient.Dial(addr, grpcclient.Config{
		Timeout: cfg.RemoteTimeout, Retries: cfg.RemoteRetries, Propagator: propagator,
	})
	if err != nil {
		b.Fatal(err)
	}

	b.Cleanup(func() { _ = loopback.Close() })

	inProcess, err := reg.Client(echoModuleName)
	if err != nil {
		b.Fatal(err)
	}

	// signIn needs only the database: a user, a live session, a token.
	token := signIn(b, &platform{db: db})

	id, err := authn.NewAuthenticator(reg.Tokens(), reg.SessionChecker(), reg.Policy()).
		Authenticate(b.Context(), "Bearer "+token)
	if err != nil {
		b.Fatal(err)
	}

	caller := reqmeta.WithRequestID(b.Context(), "bench-module-call")
	mc := &moduleCall{
		inProcess: inProcess, loopback: loopback,
		localCaller:  authn.NewContext(caller, id),
		remoteCaller: metadata.AppendToOutgoingContext(caller, "authorization", "Bearer "+token),
	}
	mc.check(b)

	return mc
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

// serveGRPC builds the gRPC server and the in-process channel as the serve
// command does (production telemetry: metrics, tracing, propagation),
// installs the channel in reg and serves the server on a loopback port
// until the benchmark ends. It returns the address and the propagator.
func serveGRPC(b *testing.B, reg *registry.Registry, logger *slog.Logger) (string, propagation.TextMapPropagator) {
	b.Helper()

	cfg := reg.Config()

	tel, err := observability.Setup(b.Context(), cfg.ServiceName, "bench", observability.TracingConfig{
		Endpoint: cfg.OTLPEndpoint, Insecure: cfg.OTLPInsecure, SampleRatio: cfg.TraceSampleRatio,
	})
	if err != nil {
		b.Fatal(err)
	}

	b.Cleanup(func() {
		if err := tel.Shutdown(context.Background()); err != nil {
			b.Errorf("telemetry: %v", err)
		}
	})

	g, err := grpcserver.New(grpcserver.Deps{
		Config: cfg, Registry: reg, Logger: logger, Meter: tel.Metrics.Meter(),
		Tracer: tel.Tracer, Propagator: tel.Propagator,
	})
	if err != nil {
		b.Fatal(err)
	}

	reg.ServeInProcess(g.Conn)

	var lc net.ListenConfig

	ln, err := lc.Listen(b.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}

	served := make(chan error, 1)

	go func() { served <- g.Server.Serve(ln) }()

	b.Cleanup(func() {
		g.Server.Stop()

		if err := <-served; err != nil {
			b.Errorf("gRPC server: %v", err)
		}
	})

	return ln.Addr().String(), tel.Propagator
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
