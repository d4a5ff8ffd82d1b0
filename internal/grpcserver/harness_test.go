package grpcserver_test

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/config"
	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/grpcserver"
	"github.com/modulith/modulith/internal/registry"
	"github.com/modulith/modulith/internal/reqmeta"
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

// fakeSessions accepts every session but revokedSession.
type fakeSessions struct{}

func (fakeSessions) CheckSession(_ context.Context, sessionID, _ string) (string, error) {
	if sessionID == revokedSession {
		return "", errors.Unauthorized("session revoked")
	}

	return "user", nil
}

// fakeModule is a module serving fakeAuth.
type fakeModule struct {
	srv *fakeAuth
}

func (*fakeModule) Name() string { return "auth" }

func (*fakeModule) Initialize(r *registry.Registry) error {
	r.ProvideSessionChecker(fakeSessions{})

	return nil
}

func (m *fakeModule) RegisterGRPC(s grpc.ServiceRegistrar) {
	authv1.RegisterAuthServiceServer(s, m.srv)
}

func (*fakeModule) RegisterGateway(context.Context, *runtime.ServeMux, grpc.ClientConnInterface) error {
	return nil
}

func (*fakeModule) PublicEndpoints() []string {
	return []string{authv1.AuthService_RequestLogin_FullMethodName}
}

// harness is a gRPC server of the fake module, listening on loopback.
type harness struct {
	GRPC    *grpcserver.GRPC
	Network *grpc.ClientConn
	Auth    *fakeAuth
	Tokens  *authn.Tokens
	Tracer  *sdktrace.TracerProvider
	Spans   *tracetest.SpanRecorder
}

func newHarness(t *testing.T, cfg config.Config) *harness {
	t.Helper()

	tokens, err := authn.NewTokens(authn.TokenConfig{
		Secret: []byte("grpcserver-test-secret-0123456789abcdef"), Issuer: "test", Audience: "test",
	})
	if err != nil {
		t.Fatal(err)
	}

	h := &harness{Auth: &fakeAuth{}, Tokens: tokens, Spans: tracetest.NewSpanRecorder()}
	h.Tracer = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(h.Spans))

	reg := registry.New(registry.Deps{Tokens: tokens})
	if err := reg.Register(&fakeModule{srv: h.Auth}); err != nil {
		t.Fatal(err)
	}

	if err := reg.InitializeAll(); err != nil {
		t.Fatal(err)
	}

	h.GRPC, err = grpcserver.New(grpcserver.Deps{
		Config: &cfg, Registry: reg, Logger: slog.New(slog.DiscardHandler), Meter: noop.NewMeterProvider().Meter("test"),
		Tracer: h.Tracer, Propagator: propagation.TraceContext{},
	})
	if err != nil {
		t.Fatalf("New() = %v", err)
	}

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

		if err := <-done; err != nil {
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
