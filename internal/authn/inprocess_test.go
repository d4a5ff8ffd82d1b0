package authn_test

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/inproc"
	"github.com/modulith/modulith/internal/interceptor"
)

// countingSessions is a SessionChecker that confirms every session with
// role and counts its calls; it is safe for concurrent use.
type countingSessions struct {
	role  string
	calls atomic.Int32
}

func (c *countingSessions) CheckSession(context.Context, string, string) (string, error) {
	c.calls.Add(1)

	return c.role, nil
}

// seen is what the test service's handlers found in their context.
type seen struct {
	mu    sync.Mutex
	calls int
	id    authn.Identity
	token string
}

func (s *seen) record(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()

	s.calls++
	s.id, _ = authn.FromContext(ctx)
	s.token, _ = authn.TokenFromContext(ctx)
}

func (s *seen) get() (int, authn.Identity, string) {
	s.mu.Lock()
	defer s.mu.Unlock()

	return s.calls, s.id, s.token
}

const (
	whoService = "test.v1.WhoService"
	whoUnary   = "/" + whoService + "/Who"
)

// whoServiceDesc is a service with one method, whose handler records its
// context in the *seen it is registered with.
var whoServiceDesc = grpc.ServiceDesc{
	ServiceName: whoService,
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Who",
		Handler: func(srv any, ctx context.Context, dec func(any) error, intercept grpc.UnaryServerInterceptor) (any, error) {
			in := new(emptypb.Empty)
			if err := dec(in); err != nil {
				return nil, err
			}

			handler := func(ctx context.Context, _ any) (any, error) {
				srv.(*seen).record(ctx)

				return &emptypb.Empty{}, nil
			}

			return intercept(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: whoUnary}, handler)
		},
	}},
}

// channel returns an in-process channel serving the test service behind
// authn's interceptors, whose every method needs authentication.
func channel(t *testing.T, sessions authn.SessionChecker) (*inproc.Channel, *seen) {
	t.Helper()

	a := authn.NewAuthenticator(newTokens(t), sessions, testRoles)
	protected := func(string) bool { return false }
	s := &seen{}

	// Errors turns the platform's errors into statuses, as in the server.
	ch := inproc.New(interceptor.ChainUnary(
		interceptor.Errors(slog.New(slog.DiscardHandler)), authn.UnaryServerInterceptor(a, protected),
	), nil)
	ch.RegisterService(&whoServiceDesc, s)

	return ch, s
}

// TestInProcessCarriesTheCaller checks a module calling another through
// the in-process channel acts as the request's caller: the identity in its
// context carries over without a second session check, unless the call
// bears its own authorization, which is verified as any other.
func TestInProcessCarriesTheCaller(t *testing.T) {
	tokens := newTokens(t)
	caller := authn.Identity{UserID: "user-9", SessionID: "sess-9", Role: "admin", Permissions: []string{"*"}}
	// issue's token is user-1's; the checker gives it role user.
	tokenUser := authn.Identity{UserID: "user-1", SessionID: "sess-1", Role: "user", Permissions: []string{"users:read"}}
	token := issue(t, tokens)

	tests := []inProcessCase{
		{
			name: "caller's identity", ctx: func(ctx context.Context) context.Context { return authn.NewContext(ctx, caller) },
			wantID: caller,
		},
		{
			name: "no identity, no token", ctx: func(ctx context.Context) context.Context { return ctx },
			want: errors.CodeAuthRequired,
		},
		{
			name: "identity and an explicit token", checks: 1, wantID: tokenUser, wantToken: token,
			ctx: func(ctx context.Context) context.Context {
				return metadata.AppendToOutgoingContext(authn.NewContext(ctx, caller), "authorization", "Bearer "+token)
			},
		},
		{
			name: "identity and an explicit bad token", want: errors.CodeAuthTokenInvalid,
			ctx: func(ctx context.Context) context.Context {
				return metadata.AppendToOutgoingContext(authn.NewContext(ctx, caller), "authorization", "Bearer junk")
			},
		},
		{
			name: "identity and an explicit empty authorization", want: errors.CodeAuthRequired,
			ctx: func(ctx context.Context) context.Context {
				return metadata.AppendToOutgoingContext(authn.NewContext(ctx, caller), "authorization", "")
			},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sessions := &countingSessions{role: "user"}
			ch, s := channel(t, sessions)

			err := ch.Invoke(tt.ctx(t.Context()), whoUnary, &emptypb.Empty{}, new(emptypb.Empty))
			checkInProcess(t, tt, err, s, sessions.calls.Load())
		})
	}
}

// inProcessCase is an in-process call and what it must lead to.
type inProcessCase struct {
	name      string
	ctx       func(ctx context.Context) context.Context
	want      errors.Code    // "" = the handler runs
	wantID    authn.Identity // the identity the handler sees
	wantToken string         // the token the handler sees
	checks    int32          // session checks
}

func checkInProcess(t *testing.T, tt inProcessCase, err error, s *seen, checks int32) {
	t.Helper()

	calls, id, tok := s.get()

	switch {
	case tt.want != "" && (!errors.HasCode(errors.FromGRPC(err), tt.want) || calls != 0):
		t.Errorf("call = %v, handler ran %d times; want code %s and no run", err, calls, tt.want)
	case tt.want == "" && (err != nil || calls != 1):
		t.Errorf("call = %v, handler ran %d times; want it to run once", err, calls)
	}

	if diff := cmp.Diff(tt.wantID, id); diff != "" {
		t.Errorf("handler's identity (-want +got):\n%s", diff)
	}

	if tok != tt.wantToken {
		t.Errorf("handler's token = %q, want %q", tok, tt.wantToken)
	}

	if checks != tt.checks {
		t.Errorf("session checks = %d, want %d", checks, tt.checks)
	}
}

// TestInProcessCarriesTheToken checks a request authenticated with a
// token hands both its identity and its token to the modules it calls in
// process, so that they can call a module in another process as the same
// caller; only the first hop checks the session.
func TestInProcessCarriesTheToken(t *testing.T) {
	tokens := newTokens(t)
	sessions := &countingSessions{role: "user"}
	ch, s := channel(t, sessions)

	token, _, err := tokens.IssueAccess("user-1", "sess-1", "user", time.Now(), time.Minute)
	if err != nil {
		t.Fatalf("IssueAccess() = %v", err)
	}

	// The first hop: the server authenticates the request.
	first := authn.UnaryServerInterceptor(authn.NewAuthenticator(tokens, sessions, testRoles), func(string) bool { return false })
	incoming := metadata.NewIncomingContext(t.Context(), metadata.Pairs("authorization", "Bearer "+token))

	_, err = first(incoming, nil, &grpc.UnaryServerInfo{FullMethod: "/orders.v1.OrderService/CreateOrder"},
		func(ctx context.Context, _ any) (any, error) {
			return nil, ch.Invoke(ctx, whoUnary, &emptypb.Empty{}, new(emptypb.Empty))
		})
	if err != nil {
		t.Fatalf("in-process call from an authenticated request = %v", err)
	}

	calls, id, tok := s.get()
	want := authn.Identity{UserID: "user-1", SessionID: "sess-1", Role: "user", Permissions: []string{"users:read"}}

	if diff := cmp.Diff(want, id); calls != 1 || diff != "" {
		t.Errorf("handler ran %d times with identity (-want +got):\n%s", calls, diff)
	}

	if tok != token {
		t.Errorf("handler's token = %q, want the request's", tok)
	}

	if n := sessions.calls.Load(); n != 1 {
		t.Errorf("session checks = %d, want 1 (the first hop's)", n)
	}
}
