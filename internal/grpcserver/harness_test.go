package grpcserver_test

import (
	"context"
	stderrors "errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	ordersv1 "github.com/modulith/modulith/gen/go/orders/v1"
	"github.com/modulith/modulith/internal/apiversion"
	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/config"
	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/grpcserver"
	"github.com/modulith/modulith/internal/registry"
	"github.com/modulith/modulith/internal/reqmeta"
	"github.com/modulith/modulith/internal/secrets"
)

// revokedSession is the session the fake checker refuses.
const revokedSession = "sess_revoked"

// seen is what the fake service saw of its last call.
type seen struct {
	Identity      authn.Identity
	Authenticated bool
	RequestID     string
	ClientIP      string
	UserAgent     string
	TraceID       trace.TraceID
	HasDeadline   bool
}

// fakeAuth serves GetProfile (the caller) and RequestLogin (public); every
// other method is unimplemented.
type fakeAuth struct {
	authv1.UnimplementedAuthServiceServer

	mu   sync.Mutex
	last seen
}

func (f *fakeAuth) record(ctx context.Context) authn.Identity {
	id, ok := authn.FromContext(ctx)
	_, hasDeadline := ctx.Deadline()

	f.mu.Lock()
	defer f.mu.Unlock()

	f.last = seen{
		Identity: id, Authenticated: ok,
		RequestID: reqmeta.RequestID(ctx), ClientIP: reqmeta.ClientIP(ctx), UserAgent: reqmeta.UserAgent(ctx),
		TraceID: trace.SpanContextFromContext(ctx).TraceID(), HasDeadline: hasDeadline,
	}

	return id
}

func (f *fakeAuth) seen() seen {
	f.mu.Lock()
	defer f.mu.Unlock()

	return f.last
}

func (f *fakeAuth) GetProfile(ctx context.Context, _ *authv1.GetProfileRequest) (*authv1.GetProfileResponse, error) {
	id := f.record(ctx)

	return &authv1.GetProfileResponse{User: &authv1.User{Id: id.UserID, Role: id.Role}}, nil
}

func (f *fakeAuth) RequestLogin(ctx context.Context, _ *authv1.RequestLoginRequest) (*authv1.RequestLoginResponse, error) {
	f.record(ctx)

	return &authv1.RequestLoginResponse{ExpiresIn: 600}, nil
}

// fakeSessions accepts every session but revokedSession, and counts the
// checks it made.
type fakeSessions struct{ checks atomic.Int32 }

func (s *fakeSessions) CheckSession(_ context.Context, sessionID, _ string) (string, error) {
	s.checks.Add(1)

	if sessionID == revokedSession {
		return "", errors.Unauthorized("session revoked")
	}

	return "user", nil
}

// authModule serves fakeAuth, RequestLogin publicly, and provides the
// session check.
type authModule struct {
	srv      *fakeAuth
	sessions *fakeSessions
}

func (authModule) Name() string { return "auth" }

func (m authModule) Init(h registry.Host) error {
	h.ProvideSessions(m.sessions)
	h.Serve(apiversion.API{
		Service:      &authv1.AuthService_ServiceDesc,
		RegisterGRPC: func(s grpc.ServiceRegistrar) { authv1.RegisterAuthServiceServer(s, m.srv) },
	})
	h.Public(authv1.AuthService_RequestLogin_FullMethodName)

	return nil
}

// panicOrder is the order whose GetOrder panics.
const panicOrder = "order_00000000000000000000000000"

// fakeOrders serves GetOrder by asking auth, through the module's client,
// who the caller is: the call of one module to another while handling a
// request.
type fakeOrders struct {
	ordersv1.UnimplementedOrderServiceServer

	auth authv1.AuthServiceClient
}

func (f *fakeOrders) GetOrder(ctx context.Context, req *ordersv1.GetOrderRequest) (*ordersv1.GetOrderResponse, error) {
	if req.GetOrderId() == panicOrder {
		panic("order handler bug")
	}

	profile, err := f.auth.GetProfile(ctx, &authv1.GetProfileRequest{})
	if err != nil {
		return nil, err
	}

	return &ordersv1.GetOrderResponse{Order: &ordersv1.Order{Id: req.GetOrderId(), UserId: profile.GetUser().GetId()}}, nil
}

// ordersModule serves fakeOrders, which calls auth through h.Client.
type ordersModule struct{}

func (ordersModule) Name() string { return "orders" }

func (ordersModule) Init(h registry.Host) error {
	conn, err := h.Client("auth")
	if err != nil {
		return err
	}

	srv := &fakeOrders{auth: authv1.NewAuthServiceClient(conn)}

	h.Serve(apiversion.API{
		Service:      &ordersv1.OrderService_ServiceDesc,
		RegisterGRPC: func(s grpc.ServiceRegistrar) { ordersv1.RegisterOrderServiceServer(s, srv) },
	})

	return nil
}

// harness is a gRPC server of the fake modules, listening on loopback.
type harness struct {
	GRPC     *grpcserver.GRPC
	Network  *grpc.ClientConn
	Auth     *fakeAuth
	Sessions *fakeSessions
	Tokens   *authn.Tokens
	Tracer   *sdktrace.TracerProvider
	Spans    *tracetest.SpanRecorder
}

// newHarness builds the server as a process does: the registry, the
// server and its channel on the registry, the modules on the channel, and
// their services on both.
func newHarness(t *testing.T, cfg config.Config) *harness {
	t.Helper()

	tokens, err := authn.NewTokens(authn.TokenConfig{
		Secret: secrets.Fixed([]byte("grpcserver-test-secret-0123456789abcdef")), Issuer: "test", Audience: "test",
	})
	if err != nil {
		t.Fatal(err)
	}

	h := &harness{Auth: &fakeAuth{}, Sessions: &fakeSessions{}, Tokens: tokens, Spans: tracetest.NewSpanRecorder()}
	h.Tracer = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(h.Spans))

	reg := registry.New(registry.Deps{Tokens: tokens})

	h.GRPC, err = grpcserver.New(grpcserver.Deps{
		Config: &cfg, Modules: reg, Tokens: tokens, Logger: slog.New(slog.DiscardHandler),
		Meter: noop.NewMeterProvider().Meter("test"), Tracer: h.Tracer, Propagator: propagation.TraceContext{},
	})
	if err != nil {
		t.Fatalf("New() = %v", err)
	}

	if err := reg.Init(h.GRPC.Conn, authModule{srv: h.Auth, sessions: h.Sessions}, ordersModule{}); err != nil {
		t.Fatalf("Init() = %v", err)
	}

	h.GRPC.Register(reg.RegisterGRPC)
	h.Network = serve(t, h.GRPC.Server)

	return h
}

// serve runs srv on a loopback port until the test ends and returns a
// client of it.
func serve(t *testing.T, srv *grpc.Server) *grpc.ClientConn {
	t.Helper()

	lis, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}

	done := make(chan error, 1)

	go func() { done <- srv.Serve(lis) }()

	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() {
		_ = conn.Close()

		srv.Stop()

		if err := <-done; err != nil && !stderrors.Is(err, grpc.ErrServerStopped) { // Stop before Serve began
			t.Errorf("Serve() = %v", err)
		}
	})

	return conn
}

func defaultConfig() config.Config {
	return config.Config{MaxBodyBytes: 1 << 20, RequestTimeout: 30 * time.Second}
}

// token returns a context sending a valid access token of usr_1 on session.
func (h *harness) token(ctx context.Context, t *testing.T, session string) context.Context {
	t.Helper()

	tok, _, err := h.Tokens.IssueAccess("usr_1", session, "user", time.Now(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}

	return bearer(ctx, tok)
}

func bearer(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// transports are the two ways to reach the server.
func (h *harness) transports() map[string]grpc.ClientConnInterface {
	return map[string]grpc.ClientConnInterface{"in-process": h.GRPC.Conn, "network": h.Network}
}
