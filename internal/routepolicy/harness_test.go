package routepolicy_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/modulith/modulith/internal/inproc"

	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/interceptor"
	"github.com/modulith/modulith/internal/middleware"
	"github.com/modulith/modulith/internal/ratelimit"
	"github.com/modulith/modulith/internal/reqmeta"
	"github.com/modulith/modulith/internal/routepolicy"
)

// Metadata keys the fake authentication reads: the caller's user and role.
const (
	mdUser = "x-test-user"
	mdRole = "x-test-role"
)

// harness serves the gRPC health service through the policy's
// interceptor, in process and over the network, and an HTTP handler that
// calls it through the channel as the REST gateway does.
type harness struct {
	policy  *routepolicy.Policy
	channel *inproc.Channel
	network healthpb.HealthClient
	reader  *sdkmetric.ManualReader
}

func newHarness(t *testing.T, cfg routepolicy.Config) *harness {
	t.Helper()

	local := ratelimit.NewLocal(1000)
	t.Cleanup(local.Close)

	reader := sdkmetric.NewManualReader()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))

	p, err := routepolicy.New(cfg, routepolicy.Deps{
		Limiter: local, Logger: logger,
		Meter: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)).Meter("test"),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}

	unary := []grpc.UnaryServerInterceptor{
		interceptor.RequestID(nil), interceptor.Errors(logger), fakeAuthn, p.UnaryServerInterceptor(),
	}
	hs := health.NewServer()

	ch := inproc.New(interceptor.ChainUnary(unary...), nil)
	healthpb.RegisterHealthServer(ch, hs)

	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(unary...))
	healthpb.RegisterHealthServer(srv, hs)

	ln, err := new(net.ListenConfig).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}

	go func() { _ = srv.Serve(ln) }()

	t.Cleanup(srv.Stop)

	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}

	t.Cleanup(func() { _ = conn.Close() })

	return &harness{policy: p, channel: ch, network: healthpb.NewHealthClient(conn), reader: reader}
}

// fakeAuthn authenticates the caller named in the metadata, if any.
func fakeAuthn(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if u := metadata.ValueFromIncomingContext(ctx, mdUser); len(u) == 1 {
		role := metadata.ValueFromIncomingContext(ctx, mdRole)
		ctx = authn.NewContext(ctx, authn.Identity{UserID: u[0], Role: role[0]})
	}

	return handler(ctx, req)
}

// gateway is an HTTP handler that makes calls health checks through the
// channel with the request's context, forwarding what the REST gateway
// forwards and the test headers, and answers errors as the gateway does.
func (h *harness) gateway(calls int) http.Handler {
	client := healthpb.NewHealthClient(h.channel)

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		md := reqmeta.Forwarded(r.Context())
		if u := r.Header.Get(mdUser); u != "" {
			md.Set(mdUser, u)
			md.Set(mdRole, r.Header.Get(mdRole))
		}

		ctx := metadata.NewOutgoingContext(r.Context(), md)

		for range calls {
			if _, err := client.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
				de := errors.ToDomain(errors.FromGRPC(err))
				errors.WriteHTTP(w, 0, de)

				return
			}
		}

		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"SERVING"}`)
	})
}

// serve returns an HTTP server of handler behind ClientIP and the
// policy's Middleware, charging the given paths at the edge.
func (h *harness) serve(t *testing.T, handler http.Handler, charged ...string) *httptest.Server {
	t.Helper()

	srv := httptest.NewServer(middleware.Chain(handler, middleware.ClientIP(nil), h.policy.Middleware(charged...)))
	t.Cleanup(srv.Close)

	return srv
}

// reply is a response read whole.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// get sends GET url with headers (name, value pairs) and reads the reply.
func get(t *testing.T, url string, headers ...string) reply {
	t.Helper()

	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatalf("request: %v", err)
	}

	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}

	return send(t, req)
}

func send(t *testing.T, req *http.Request) reply {
	t.Helper()

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}

	defer func() { _ = resp.Body.Close() }()

	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read the body: %v", req.Method, req.URL, err)
	}

	return reply{Status: resp.StatusCode, Header: resp.Header, Body: body}
}
