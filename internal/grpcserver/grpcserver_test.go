package grpcserver_test

import (
	"context"
	stderrors "errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	ordersv1 "github.com/modulith/modulith/gen/go/orders/v1"
	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/errors"
)

func TestRules(t *testing.T) {
	h := newHarness(t, defaultConfig())

	expired, _, err := h.Tokens.IssueAccess("usr_1", "sess_1", "user", time.Now().Add(-time.Hour), time.Minute)
	if err != nil {
		t.Fatal(err)
	}

	profile := func(ctx context.Context, c authv1.AuthServiceClient) error {
		_, err := c.GetProfile(ctx, &authv1.GetProfileRequest{})

		return err
	}
	login := func(email string) func(context.Context, authv1.AuthServiceClient) error {
		return func(ctx context.Context, c authv1.AuthServiceClient) error {
			_, err := c.RequestLogin(ctx, &authv1.RequestLoginRequest{Identity: &authv1.RequestLoginRequest_Email{Email: email}})

			return err
		}
	}
	logout := func(ctx context.Context, c authv1.AuthServiceClient) error {
		_, err := c.Logout(ctx, &authv1.LogoutRequest{})

		return err
	}

	tests := []struct {
		name     string
		ctx      func(context.Context) context.Context
		call     func(context.Context, authv1.AuthServiceClient) error
		wantCode codes.Code
		wantErr  errors.Code
	}{
		{name: "no token", call: profile, wantCode: codes.Unauthenticated, wantErr: errors.CodeAuthRequired},
		{
			name: "malformed token", ctx: func(ctx context.Context) context.Context { return bearer(ctx, "not-a-jwt") },
			call: profile, wantCode: codes.Unauthenticated, wantErr: errors.CodeAuthTokenInvalid,
		},
		{
			name: "expired token", ctx: func(ctx context.Context) context.Context { return bearer(ctx, expired) },
			call: profile, wantCode: codes.Unauthenticated, wantErr: errors.CodeAuthTokenExpired,
		},
		{
			name: "revoked session", ctx: func(ctx context.Context) context.Context { return h.token(ctx, t, revokedSession) },
			call: profile, wantCode: codes.Unauthenticated, wantErr: errors.CodeAuthRequired,
		},
		{
			name: "valid token", ctx: func(ctx context.Context) context.Context { return h.token(ctx, t, "sess_1") },
			call: profile, wantCode: codes.OK,
		},
		{name: "public method without token", call: login("ada@example.com"), wantCode: codes.OK},
		{
			name: "invalid request", call: login("not-an-email"),
			wantCode: codes.InvalidArgument, wantErr: errors.CodeValidationFailed,
		},
		{
			name: "unimplemented method", ctx: func(ctx context.Context) context.Context { return h.token(ctx, t, "sess_1") },
			call: logout, wantCode: codes.Unimplemented,
		},
		{name: "unimplemented method without token", call: logout, wantCode: codes.Unauthenticated},
	}

	for transport, conn := range h.transports() {
		client := authv1.NewAuthServiceClient(conn)

		for _, tt := range tests {
			t.Run(transport+"/"+tt.name, func(t *testing.T) {
				ctx := t.Context()
				if tt.ctx != nil {
					ctx = tt.ctx(ctx)
				}

				checkCall(t, tt.call(ctx, client), tt.wantCode, tt.wantErr)
			})
		}
	}
}

func checkCall(t *testing.T, err error, wantCode codes.Code, wantErr errors.Code) {
	t.Helper()

	if got := status.Code(err); got != wantCode {
		t.Fatalf("call error = %v, want code %v", err, wantCode)
	}

	if wantErr != "" && !errors.HasCode(errors.FromGRPC(err), wantErr) {
		t.Errorf("call error = %v, want error code %s", err, wantErr)
	}
}

func TestIdentityReachesHandler(t *testing.T) {
	h := newHarness(t, defaultConfig())

	for transport, conn := range h.transports() {
		t.Run(transport, func(t *testing.T) {
			resp, err := authv1.NewAuthServiceClient(conn).GetProfile(h.token(t.Context(), t, "sess_1"), &authv1.GetProfileRequest{})
			if err != nil {
				t.Fatalf("GetProfile() = %v", err)
			}

			if resp.GetUser().GetId() != "usr_1" || resp.GetUser().GetRole() != "user" {
				t.Errorf("GetProfile() user = %v, want usr_1 with role user", resp.GetUser())
			}

			got := h.Auth.seen()
			want := authn.Identity{UserID: "usr_1", SessionID: "sess_1", Role: "user", Permissions: got.Identity.Permissions}

			if diff := cmp.Diff(want, got.Identity); diff != "" || !got.Authenticated || len(got.Identity.Permissions) == 0 {
				t.Errorf("handler identity (-want +got):\n%s", diff)
			}

			if !got.HasDeadline {
				t.Error("handler context has no deadline, want REQUEST_TIMEOUT applied")
			}
		})
	}
}

func TestRequestMetadata(t *testing.T) {
	h := newHarness(t, defaultConfig())
	ctx := metadata.AppendToOutgoingContext(t.Context(),
		"x-request-id", "req-77", "x-client-ip", "203.0.113.9", "x-client-user-agent", "browser/1")

	tests := []struct {
		transport string
		conn      grpc.ClientConnInterface
		wantIP    string
		wantUA    string
	}{
		// The gateway forwards the HTTP client's address over the channel.
		{transport: "in-process", conn: h.GRPC.Conn, wantIP: "203.0.113.9", wantUA: "browser/1"},
		// A network client cannot claim another address.
		{transport: "network", conn: h.Network, wantIP: "127.0.0.1", wantUA: "grpc-go/"},
	}
	for _, tt := range tests {
		t.Run(tt.transport, func(t *testing.T) {
			if _, err := authv1.NewAuthServiceClient(tt.conn).RequestLogin(ctx,
				&authv1.RequestLoginRequest{Identity: &authv1.RequestLoginRequest_Phone{Phone: "+14155550100"}}); err != nil {
				t.Fatalf("RequestLogin() = %v", err)
			}

			got := h.Auth.seen()
			if got.RequestID != "req-77" || got.ClientIP != tt.wantIP || !strings.HasPrefix(got.UserAgent, tt.wantUA) {
				t.Errorf("handler saw request %q, IP %q, UA %q; want req-77, %q, %q…",
					got.RequestID, got.ClientIP, got.UserAgent, tt.wantIP, tt.wantUA)
			}
		})
	}
}

func TestHealthIsPublicAndServing(t *testing.T) {
	h := newHarness(t, defaultConfig())

	resp, err := healthpb.NewHealthClient(h.Network).Check(t.Context(), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatalf("Check() without token = %v", err)
	}

	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("Check() = %v, want SERVING", resp.GetStatus())
	}
}

func TestReflection(t *testing.T) {
	tests := []struct {
		name    string
		enabled bool
	}{
		{name: "enabled", enabled: true},
		{name: "disabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := defaultConfig()
			cfg.GRPCReflection = tt.enabled
			h := newHarness(t, cfg)

			_, registered := h.GRPC.Server.GetServiceInfo()[reflectionpb.ServerReflection_ServiceDesc.ServiceName]
			if registered != tt.enabled {
				t.Errorf("reflection registered = %t, want %t", registered, tt.enabled)
			}

			services, err := listServices(t.Context(), h.Network)
			if !tt.enabled {
				if status.Code(err) != codes.Unimplemented {
					t.Errorf("ListServices() = %v, %v; want Unimplemented", services, err)
				}

				return
			}

			if err != nil || !strings.Contains(services, "auth.v1.AuthService") || !strings.Contains(services, "orders.v1.OrderService") {
				t.Errorf("ListServices() without token = %q, %v; want the modules' services listed", services, err)
			}
		})
	}
}

// listServices asks the reflection service for the service names.
func listServices(ctx context.Context, conn grpc.ClientConnInterface) (string, error) {
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		return "", err
	}

	req := &reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{ListServices: "*"},
	}
	// io.EOF from Send means the server ended the stream: Recv has its status.
	if err := stream.Send(req); err != nil && !stderrors.Is(err, io.EOF) {
		return "", err
	}

	resp, err := stream.Recv()
	if err != nil {
		return "", err
	}

	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}

	return strings.Join(names, ","), stream.CloseSend()
}

func TestTraceCrossesInProcessChannel(t *testing.T) {
	h := newHarness(t, defaultConfig())

	ctx, span := h.Tracer.Tracer("client").Start(h.token(t.Context(), t, "sess_1"), "gateway")
	_, err := authv1.NewAuthServiceClient(h.GRPC.Conn).GetProfile(ctx, &authv1.GetProfileRequest{})

	span.End()

	if err != nil {
		t.Fatalf("GetProfile() = %v", err)
	}

	if got := h.Auth.seen().TraceID; got != span.SpanContext().TraceID() {
		t.Errorf("handler trace = %v, want the caller's %v", got, span.SpanContext().TraceID())
	}

	// The call is a client span, child of the caller's, and the handler's
	// server span is the client span's child.
	spans := make(map[trace.SpanKind]sdktrace.ReadOnlySpan)

	for _, s := range h.Spans.Ended() {
		if s.Name() == "auth.v1.AuthService/GetProfile" {
			spans[s.SpanKind()] = s
		}
	}

	client, server := spans[trace.SpanKindClient], spans[trace.SpanKindServer]
	if client == nil || server == nil {
		t.Fatalf("spans of GetProfile by kind: %v, want a client and a server span", spans)
	}

	if client.Parent().SpanID() != span.SpanContext().SpanID() {
		t.Errorf("client span parent = %v, want the caller's span %v", client.Parent().SpanID(), span.SpanContext().SpanID())
	}

	if server.Parent().SpanID() != client.SpanContext().SpanID() {
		t.Errorf("server span parent = %v, want the client span %v", server.Parent().SpanID(), client.SpanContext().SpanID())
	}
}

func TestMaxBodyBytes(t *testing.T) {
	cfg := defaultConfig()
	cfg.MaxBodyBytes = 64
	h := newHarness(t, cfg)

	_, err := authv1.NewAuthServiceClient(h.Network).RequestLogin(t.Context(), &authv1.RequestLoginRequest{
		Identity: &authv1.RequestLoginRequest_Email{Email: strings.Repeat("a", 100) + "@example.com"},
	})
	if status.Code(err) != codes.ResourceExhausted {
		t.Errorf("RequestLogin(message over MAX_BODY_BYTES) = %v, want ResourceExhausted", err)
	}
}

// TestChainOrder checks the order of the interceptors that decide a
// call's outcome: authentication before validation (a caller without a
// token learns nothing of the request's shape), validation before the
// handler, and recovery inside the error mapping (a panic is an Internal
// error, and the server goes on).
func TestChainOrder(t *testing.T) {
	h := newHarness(t, defaultConfig())
	order := "order_01h455vb4pex5vsknk084sn02q"

	tests := []struct {
		name     string
		token    bool
		orderID  string
		wantCode codes.Code
		wantErr  errors.Code
	}{
		{name: "invalid request without token", orderID: "bad", wantCode: codes.Unauthenticated, wantErr: errors.CodeAuthRequired},
		{name: "invalid request", token: true, orderID: "bad", wantCode: codes.InvalidArgument, wantErr: errors.CodeValidationFailed},
		{name: "handler panics", token: true, orderID: panicOrder, wantCode: codes.Internal},
		{name: "after a panic", token: true, orderID: order, wantCode: codes.OK},
	}

	for transport, conn := range h.transports() {
		client := ordersv1.NewOrderServiceClient(conn)

		for _, tt := range tests {
			t.Run(transport+"/"+tt.name, func(t *testing.T) {
				ctx := t.Context()
				if tt.token {
					ctx = h.token(ctx, t, "sess_1")
				}

				_, err := client.GetOrder(ctx, &ordersv1.GetOrderRequest{OrderId: tt.orderID})
				checkCall(t, err, tt.wantCode, tt.wantErr)
			})
		}
	}
}

// TestIdentityCarriesOverInProcess checks that a module calling another
// through its Host's client, while handling a request, calls as that
// request's caller: the callee sees the caller's identity without a token
// and without a second session check.
func TestIdentityCarriesOverInProcess(t *testing.T) {
	h := newHarness(t, defaultConfig())

	for transport, conn := range h.transports() {
		t.Run(transport, func(t *testing.T) {
			before := h.Sessions.checks.Load()

			resp, err := ordersv1.NewOrderServiceClient(conn).GetOrder(h.token(t.Context(), t, "sess_1"),
				&ordersv1.GetOrderRequest{OrderId: "order_01h455vb4pex5vsknk084sn02q"})
			if err != nil {
				t.Fatalf("GetOrder() = %v", err)
			}

			if got := resp.GetOrder().GetUserId(); got != "usr_1" {
				t.Errorf("GetOrder() user = %q, want usr_1, as auth saw the caller", got)
			}

			got := h.Auth.seen()
			want := authn.Identity{UserID: "usr_1", SessionID: "sess_1", Role: "user", Permissions: got.Identity.Permissions}

			if diff := cmp.Diff(want, got.Identity); diff != "" || !got.Authenticated {
				t.Errorf("auth handler identity (-want +got):\n%s", diff)
			}

			if checks := h.Sessions.checks.Load() - before; checks != 1 {
				t.Errorf("GetOrder() ran %d session checks, want 1 (the call into orders only)", checks)
			}
		})
	}
}

// TestInProcessWithoutCallerNeedsToken checks that the carry-over needs
// an authenticated caller: a call on the channel from outside a request
// (a background job) is authenticated like any other.
func TestInProcessWithoutCallerNeedsToken(t *testing.T) {
	h := newHarness(t, defaultConfig())
	client := authv1.NewAuthServiceClient(h.GRPC.Conn)

	_, err := client.GetProfile(t.Context(), &authv1.GetProfileRequest{})
	checkCall(t, err, codes.Unauthenticated, errors.CodeAuthRequired)

	// The identity of a context the process authenticated carries over.
	caller := authn.NewContext(t.Context(), authn.Identity{UserID: "usr_2", SessionID: "sess_2", Role: "admin"})

	resp, err := client.GetProfile(caller, &authv1.GetProfileRequest{})
	if err != nil || resp.GetUser().GetId() != "usr_2" || resp.GetUser().GetRole() != "admin" {
		t.Errorf("GetProfile(as usr_2) = %v, %v; want usr_2 with role admin", resp, err)
	}
}

// TestMaxConnectionAge checks that the server closes a client's connection
// after GRPC_MAX_CONNECTION_AGE (so DNS-balanced clients resolve again and
// find new replicas) and that the client's next call simply reconnects; with
// 0 the connection stays.
func TestMaxConnectionAge(t *testing.T) {
	t.Parallel()

	for _, tt := range []struct {
		age       time.Duration
		wantClose bool
	}{{age: 200 * time.Millisecond, wantClose: true}, {age: 0, wantClose: false}} {
		t.Run(tt.age.String(), func(t *testing.T) {
			t.Parallel()

			cfg := defaultConfig()
			cfg.GRPCMaxConnectionAge = tt.age
			h := newHarness(t, cfg)
			client := healthpb.NewHealthClient(h.Network)

			if _, err := client.Check(t.Context(), &healthpb.HealthCheckRequest{}); err != nil {
				t.Fatalf("Check() = %v", err)
			}

			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
			defer cancel()

			if st := h.Network.GetState(); st != connectivity.Ready {
				t.Fatalf("connection state after a call = %v, want READY", st)
			}

			// true once the state leaves READY: the server sent GOAWAY.
			closed := h.Network.WaitForStateChange(ctx, connectivity.Ready)

			if closed != tt.wantClose {
				t.Errorf("GRPC_MAX_CONNECTION_AGE=%v: connection closed within 2s = %v, want %v", tt.age, closed, tt.wantClose)
			}

			if _, err := client.Check(t.Context(), &healthpb.HealthCheckRequest{}); err != nil {
				t.Errorf("Check() after the connection aged = %v, want a new connection", err)
			}
		})
	}
}
