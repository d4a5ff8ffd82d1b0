package grpcclient_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/modulith/modulith/internal/authn"
	apperrors "github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/grpcclient"
	"github.com/modulith/modulith/internal/reqmeta"
	"github.com/modulith/modulith/internal/resilience"
	"github.com/modulith/modulith/internal/secrets"
	"github.com/modulith/modulith/internal/servicetest"
)

// call is what the server saw of one incoming call.
type call struct {
	md       metadata.MD
	deadline time.Duration // left when the call arrived; 0 without one
}

// recorder is the test server's interceptor: it records every incoming
// call and answers the first fail calls with code.
type recorder struct {
	fail int
	code codes.Code
	err  error // answered instead of code when set

	mu    sync.Mutex
	calls []call
}

func (r *recorder) record(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()

	c := call{}
	c.md, _ = metadata.FromIncomingContext(ctx)

	if d, ok := ctx.Deadline(); ok {
		c.deadline = time.Until(d)
	}

	r.calls = append(r.calls, c)
	if len(r.calls) <= r.fail {
		if r.err != nil {
			return r.err
		}

		return status.Error(r.code, "refused by the test")
	}

	return nil
}

func (r *recorder) unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := r.record(ctx); err != nil {
		return nil, err
	}

	return handler(ctx, req)
}

func (r *recorder) stream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if err := r.record(ss.Context()); err != nil {
		return err
	}

	return handler(srv, ss)
}

func (r *recorder) seen() []call {
	r.mu.Lock()
	defer r.mu.Unlock()

	return append([]call(nil), r.calls...)
}

// only returns the one call the server saw.
func (r *recorder) only(t *testing.T) call {
	t.Helper()

	calls := r.seen()
	if len(calls) != 1 {
		t.Fatalf("server saw %d calls, want 1", len(calls))
	}

	return calls[0]
}

// serve runs a gRPC server with the health service on a loopback port
// until the test ends, and returns a client of it dialed with cfg.
func serve(t *testing.T, rec *recorder, cfg grpcclient.Config) healthpb.HealthClient {
	t.Helper()

	var lc net.ListenConfig

	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}

	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(rec.unary), grpc.ChainStreamInterceptor(rec.stream))
	healthpb.RegisterHealthServer(srv, health.NewServer())

	served := make(chan error, 1)

	go func() { served <- srv.Serve(ln) }()

	conn, err := grpcclient.Dial(ln.Addr().String(), cfg)
	if err != nil {
		t.Fatalf("Dial(%s, %+v) = %v", ln.Addr(), cfg, err)
	}

	t.Cleanup(func() {
		if err := conn.Close(); err != nil {
			t.Errorf("close client: %v", err)
		}

		srv.Stop()

		if err := <-served; err != nil && !errors.Is(err, grpc.ErrServerStopped) { // Stop before Serve began
			t.Errorf("serve: %v", err)
		}
	})

	return healthpb.NewHealthClient(conn)
}

func check(ctx context.Context, client healthpb.HealthClient) error {
	_, err := client.Check(ctx, &healthpb.HealthCheckRequest{})

	return err
}

// defaults is a configuration with no retries and a long timeout.
var defaults = grpcclient.Config{Timeout: time.Minute}

// fixedRole is a SessionChecker that confirms every session.
type fixedRole string

func (r fixedRole) CheckSession(context.Context, string, string) (string, error) {
	return string(r), nil
}

func (fixedRole) Permissions(string) []string { return nil }

// asCaller authenticates a request bearing token the way the server does
// (authn's interceptor) and runs fn in the handler, whose context carries
// the caller's token.
func asCaller(t *testing.T, token string, fn func(ctx context.Context) error) error {
	t.Helper()

	tokens := newTokens(t)
	intercept := authn.UnaryServerInterceptor(authn.NewAuthenticator(tokens, fixedRole("user"), fixedRole("user")),
		func(string) bool { return false })
	ctx := metadata.NewIncomingContext(t.Context(), metadata.Pairs("authorization", "Bearer "+token))

	_, err := intercept(ctx, nil, &grpc.UnaryServerInfo{FullMethod: "/orders.v1.OrderService/CreateOrder"},
		func(ctx context.Context, _ any) (any, error) { return nil, fn(ctx) })

	return err
}

func newTokens(t *testing.T) *authn.Tokens {
	t.Helper()

	tokens, err := authn.NewTokens(authn.TokenConfig{Secret: secrets.Fixed(bytes.Repeat([]byte{7}, 32)), Issuer: "modulith", Audience: "modulith"})
	if err != nil {
		t.Fatalf("NewTokens() = %v", err)
	}

	return tokens
}

func issue(t *testing.T) string {
	t.Helper()

	token, _, err := newTokens(t).IssueAccess("user_1", "sess_1", "user", time.Now(), time.Minute)
	if err != nil {
		t.Fatalf("IssueAccess() = %v", err)
	}

	return token
}

// TestMetadata checks the caller's token and request ID travel with the
// call, and that values the caller set itself are kept, not doubled.
func TestMetadata(t *testing.T) {
	t.Parallel()

	token := issue(t)

	tests := []struct {
		name   string
		token  bool // call while handling a request authenticated with token
		ctx    func(context.Context) context.Context
		wantMD map[string][]string // a nil value: the key is absent
	}{
		{
			name: "nothing to carry", ctx: func(ctx context.Context) context.Context { return ctx },
			wantMD: map[string][]string{"authorization": nil, "x-request-id": nil},
		},
		{
			name: "caller's token", token: true, ctx: func(ctx context.Context) context.Context { return ctx },
			wantMD: map[string][]string{"authorization": {"Bearer " + token}, "x-request-id": nil},
		},
		{
			name: "request ID", ctx: func(ctx context.Context) context.Context { return reqmeta.WithRequestID(ctx, "req-42") },
			wantMD: map[string][]string{"authorization": nil, "x-request-id": {"req-42"}},
		},
		{
			name: "explicit authorization wins", token: true,
			ctx: func(ctx context.Context) context.Context {
				return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer explicit")
			},
			wantMD: map[string][]string{"authorization": {"Bearer explicit"}},
		},
		{
			name: "explicit request ID wins",
			ctx: func(ctx context.Context) context.Context {
				return metadata.AppendToOutgoingContext(reqmeta.WithRequestID(ctx, "req-42"), "x-request-id", "req-explicit")
			},
			wantMD: map[string][]string{"x-request-id": {"req-explicit"}},
		},
		{
			name: "both, with other metadata", token: true,
			ctx: func(ctx context.Context) context.Context {
				return metadata.AppendToOutgoingContext(reqmeta.WithRequestID(ctx, "req-42"), "x-other", "kept")
			},
			wantMD: map[string][]string{"authorization": {"Bearer " + token}, "x-request-id": {"req-42"}, "x-other": {"kept"}},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			rec := &recorder{}
			client := serve(t, rec, defaults)

			var err error
			if tt.token {
				err = asCaller(t, token, func(ctx context.Context) error { return check(tt.ctx(ctx), client) })
			} else {
				err = check(tt.ctx(t.Context()), client)
			}

			if err != nil {
				t.Fatalf("Check() = %v", err)
			}

			md := rec.only(t).md
			for key, want := range tt.wantMD {
				if diff := cmp.Diff(want, md.Get(key)); diff != "" {
					t.Errorf("server saw %s (-want +got):\n%s", key, diff)
				}
			}
		})
	}
}

// TestTraceContext checks the trace context travels when a propagator is
// configured, and only then.
func TestTraceContext(t *testing.T) {
	t.Parallel()

	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, SpanID: trace.SpanID{1, 2, 3, 4, 5, 6, 7, 8},
		TraceFlags: trace.FlagsSampled,
	})

	tests := []struct {
		name string
		prop propagation.TextMapPropagator
		want []string
	}{
		{name: "propagator", prop: propagation.TraceContext{}, want: []string{"00-0102030405060708090a0b0c0d0e0f10-0102030405060708-01"}},
		{name: "none"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			rec := &recorder{}
			client := serve(t, rec, grpcclient.Config{Timeout: time.Minute, Propagator: tt.prop})

			if err := check(trace.ContextWithSpanContext(t.Context(), sc), client); err != nil {
				t.Fatalf("Check() = %v", err)
			}

			if diff := cmp.Diff(tt.want, rec.only(t).md.Get("traceparent")); diff != "" {
				t.Errorf("server saw traceparent (-want +got):\n%s", diff)
			}
		})
	}
}

// TestClientSpanAndMetrics: a call is a client span, child of the caller's
// span, whose context the server receives, and is measured in
// rpc.client.call.duration.
func TestClientSpanAndMetrics(t *testing.T) {
	t.Parallel()

	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))

	rec := &recorder{}
	client := serve(t, rec, grpcclient.Config{Timeout: time.Minute, Propagator: propagation.TraceContext{}, Tracer: tp, Meters: mp})

	ctx, caller := tp.Tracer("test").Start(t.Context(), "caller")
	if err := check(ctx, client); err != nil {
		t.Fatalf("Check() = %v", err)
	}

	caller.End()

	ended := spans.Ended()
	if len(ended) != 2 {
		t.Fatalf("ended %d spans, want the client span and the caller's", len(ended))
	}

	span := ended[0]
	if span.Name() != "grpc.health.v1.Health/Check" || span.SpanKind() != trace.SpanKindClient ||
		span.Parent().SpanID() != caller.SpanContext().SpanID() {
		t.Errorf("span %q kind %v parent %v, want grpc.health.v1.Health/Check CLIENT child of %v",
			span.Name(), span.SpanKind(), span.Parent().SpanID(), caller.SpanContext().SpanID())
	}

	want := []string{"00-" + span.SpanContext().TraceID().String() + "-" + span.SpanContext().SpanID().String() + "-01"}
	if diff := cmp.Diff(want, rec.only(t).md.Get("traceparent")); diff != "" {
		t.Errorf("server saw traceparent (-want +got):\n%s", diff)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}

	if got := histogramCount(rm, "rpc.client.call.duration"); got != 1 {
		t.Errorf("rpc.client.call.duration count = %d, want 1", got)
	}
}

// histogramCount is the number of measurements of the histogram name.
func histogramCount(rm metricdata.ResourceMetrics, name string) uint64 {
	var n uint64

	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if h, ok := m.Data.(metricdata.Histogram[float64]); ok && m.Name == name {
				for _, dp := range h.DataPoints {
					n += dp.Count
				}
			}
		}
	}

	return n
}

// TestRetries checks a call answered Unavailable is tried again, up to
// Retries more times, and no other failure is.
func TestRetries(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name     string
		retries  int
		fail     int
		code     codes.Code
		want     codes.Code
		attempts int
	}{
		{name: "two refusals, three retries", retries: 3, fail: 2, code: codes.Unavailable, want: codes.OK, attempts: 3},
		{name: "two refusals, two retries", retries: 2, fail: 2, code: codes.Unavailable, want: codes.OK, attempts: 3},
		{name: "two refusals, one retry", retries: 1, fail: 2, code: codes.Unavailable, want: codes.Unavailable, attempts: 2},
		{name: "one refusal, no retries", retries: 0, fail: 1, code: codes.Unavailable, want: codes.Unavailable, attempts: 1},
		{name: "four refusals, four retries", retries: 4, fail: 4, code: codes.Unavailable, want: codes.OK, attempts: 5},
		{name: "internal error, not retried", retries: 3, fail: 1, code: codes.Internal, want: codes.Internal, attempts: 1},
		{name: "unauthenticated, not retried", retries: 3, fail: 1, code: codes.Unauthenticated, want: codes.Unauthenticated, attempts: 1},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			rec := &recorder{fail: tt.fail, code: tt.code}
			client := serve(t, rec, grpcclient.Config{Timeout: time.Minute, Retries: tt.retries})

			err := check(reqmeta.WithRequestID(t.Context(), "req-retried"), client)
			if got := status.Code(err); got != tt.want {
				t.Errorf("Check() = %v, want code %s", err, tt.want)
			}

			calls := rec.seen()
			if len(calls) != tt.attempts {
				t.Errorf("server saw %d attempts, want %d", len(calls), tt.attempts)
			}

			for i, c := range calls { // every attempt carries the metadata
				if got := c.md.Get("x-request-id"); !cmp.Equal(got, []string{"req-retried"}) {
					t.Errorf("attempt %d x-request-id = %q, want [req-retried]", i+1, got)
				}
			}
		})
	}
}

// TestDeadline checks a call gets the configured timeout unless its caller
// set an earlier deadline.
func TestDeadline(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name     string
		timeout  time.Duration
		caller   time.Duration // the caller's deadline; 0 for none
		min, max time.Duration // of what the server sees left; 0, 0: no deadline
	}{
		{name: "no caller deadline", timeout: 5 * time.Second, min: 4 * time.Second, max: 5 * time.Second},
		{name: "earlier caller deadline", timeout: time.Minute, caller: 2 * time.Second, min: time.Second, max: 2 * time.Second},
		{name: "later caller deadline", timeout: 5 * time.Second, caller: time.Hour, min: 4 * time.Second, max: 5 * time.Second},
		{name: "no timeout, no caller deadline"},
		{name: "no timeout, caller deadline", caller: 2 * time.Second, min: time.Second, max: 2 * time.Second},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			rec := &recorder{}
			client := serve(t, rec, grpcclient.Config{Timeout: tt.timeout})

			ctx := t.Context()

			if tt.caller > 0 {
				var cancel context.CancelFunc

				ctx, cancel = context.WithTimeout(ctx, tt.caller)
				defer cancel()
			}

			if err := check(ctx, client); err != nil {
				t.Fatalf("Check() = %v", err)
			}

			if got := rec.only(t).deadline; got < tt.min || got > tt.max {
				t.Errorf("Timeout %v, caller deadline %v: server saw %v left, want %v to %v (0: none)", tt.timeout, tt.caller, got, tt.min, tt.max)
			}
		})
	}
}

// TestStream checks a stream carries the metadata but gets no deadline:
// it lives as long as its caller wants.
func TestStream(t *testing.T) {
	t.Parallel()

	rec := &recorder{}
	client := serve(t, rec, grpcclient.Config{Timeout: 5 * time.Second})
	token := issue(t)

	err := asCaller(t, token, func(ctx context.Context) error {
		ctx, cancel := context.WithCancel(reqmeta.WithRequestID(ctx, "req-stream"))
		defer cancel()

		stream, err := client.Watch(ctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			return err
		}

		_, err = stream.Recv() // the first status: the call has reached the server

		return err
	})
	if err != nil {
		t.Fatalf("Watch() = %v", err)
	}

	c := rec.only(t)
	if c.deadline != 0 {
		t.Errorf("stream deadline = %v left, want none", c.deadline)
	}

	want := metadata.MD{"authorization": {"Bearer " + token}, "x-request-id": {"req-stream"}}
	for key, v := range want {
		if diff := cmp.Diff(v, c.md.Get(key)); diff != "" {
			t.Errorf("stream %s (-want +got):\n%s", key, diff)
		}
	}
}

func TestDialRetries(t *testing.T) {
	t.Parallel()

	tests := []struct {
		retries int
		wantErr bool
	}{
		{retries: -1, wantErr: true},
		{retries: 0},
		{retries: 4},
		{retries: 5, wantErr: true},
	}

	for _, tt := range tests {
		conn, err := grpcclient.Dial("127.0.0.1:1", grpcclient.Config{Retries: tt.retries})
		if (err != nil) != tt.wantErr {
			t.Errorf("Dial(Retries %d) = %v, want error %t", tt.retries, err, tt.wantErr)
		}

		if conn != nil {
			if err := conn.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		}
	}
}

// TestBreaker checks that a module that keeps answering Unavailable is
// refused at once, after its retries, and that answers such as
// InvalidArgument do not count against it.
func TestBreaker(t *testing.T) {
	t.Parallel()

	guards, err := resilience.New(resilience.Config{Failures: 2, Cooldown: time.Hour, Retries: 0},
		sdkmetric.NewMeterProvider().Meter("test"))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("failures open it", func(t *testing.T) {
		t.Parallel()

		rec := &recorder{fail: 100, code: codes.Unavailable}
		client := serve(t, rec, grpcclient.Config{Timeout: time.Minute, Retries: 1,
			Breaker: guards.Breaker("module:down", resilience.GRPCFailure)})

		for range 2 {
			if err := check(t.Context(), client); status.Code(err) != codes.Unavailable {
				t.Fatalf("Check() = %v, want Unavailable from the server", err)
			}
		}

		err := check(t.Context(), client)
		if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "module:down is unavailable") {
			t.Fatalf("Check() with the breaker open = %v, want the breaker's Unavailable", err)
		}

		if n := len(rec.seen()); n != 4 { // two calls of two attempts each, then none
			t.Errorf("server saw %d attempts, want 4", n)
		}
	})

	t.Run("answers keep it closed", func(t *testing.T) {
		t.Parallel()

		rec := &recorder{fail: 100, code: codes.InvalidArgument}
		client := serve(t, rec, grpcclient.Config{Timeout: time.Minute,
			Breaker: guards.Breaker("module:picky", resilience.GRPCFailure)})

		for range 5 {
			if err := check(t.Context(), client); status.Code(err) != codes.InvalidArgument {
				t.Fatalf("Check() = %v, want the server's InvalidArgument", err)
			}
		}
	})
}

// TestNetworkErrorsAreOpaque checks that what the gRPC library says of a
// failed connection (the address it dialed) does not reach the caller,
// who may pass it on to a client, while a module's own errors pass as
// they are.
func TestNetworkErrorsAreOpaque(t *testing.T) {
	t.Parallel()

	addr := servicetest.ClosedAddr(t)

	conn, err := grpcclient.Dial(addr, grpcclient.Config{Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = conn.Close() })

	err = check(t.Context(), healthpb.NewHealthClient(conn))
	if status.Code(err) != codes.Unavailable || strings.Contains(err.Error(), "127.0.0.1") ||
		!strings.Contains(err.Error(), "[UNAVAILABLE]") {
		t.Errorf("Check() on a closed port = %v, want the platform's UNAVAILABLE without the address", err)
	}

	own := apperrors.ToGRPC(apperrors.Unavailable("billing is closed for the night"))
	rec := &recorder{fail: 1, code: codes.Unavailable}
	client := serve(t, rec, grpcclient.Config{Timeout: time.Minute})

	rec.err = own
	if err := check(t.Context(), client); !strings.Contains(err.Error(), "billing is closed for the night") {
		t.Errorf("Check() = %v, want the module's own error", err)
	}
}
