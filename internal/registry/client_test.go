package registry_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/modulith/modulith/internal/registry"
)

// ctxKey marks the contexts the tests pass, to check they reach the conn.
type ctxKey struct{}

// connCall is one call a fakeConn received.
type connCall struct {
	ctxMark string
	method  string
	args    any
	reply   any
	desc    *grpc.StreamDesc
	opts    int
}

// fakeConn is a client connection that records its calls and answers
// them with err (and stream, for NewStream).
type fakeConn struct {
	err    error
	stream grpc.ClientStream

	mu    sync.Mutex
	calls []connCall
}

func (c *fakeConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	c.add(connCall{ctxMark: mark(ctx), method: method, args: args, reply: reply, opts: len(opts)})

	return c.err
}

func (c *fakeConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	c.add(connCall{ctxMark: mark(ctx), method: method, desc: desc, opts: len(opts)})

	return c.stream, c.err
}

func (c *fakeConn) add(call connCall) {
	c.mu.Lock()
	defer c.mu.Unlock()

	c.calls = append(c.calls, call)
}

func (c *fakeConn) received() []connCall {
	c.mu.Lock()
	defer c.mu.Unlock()

	return append([]connCall(nil), c.calls...)
}

func mark(ctx context.Context) string {
	s, _ := ctx.Value(ctxKey{}).(string)

	return s
}

// fakeStream is a client stream the fake connection hands out.
type fakeStream struct{ grpc.ClientStream }

const testMethod = "/auth.v1.AuthService/GetProfile"

// localRegistry returns a registry running auth and orders in process.
func localRegistry(t *testing.T, deps registry.Deps) *registry.Registry {
	t.Helper()

	mod, _ := fakes()

	r := registry.New(deps)
	if err := r.Register(mod("auth"), mod("orders")); err != nil {
		t.Fatalf("Register() = %v", err)
	}

	return r
}

func client(t *testing.T, r *registry.Registry, module string) grpc.ClientConnInterface {
	t.Helper()

	conn, err := r.Client(module)
	if err != nil || conn == nil {
		t.Fatalf("Client(%q) = %v, %v; want a connection", module, conn, err)
	}

	return conn
}

// TestClientLocalBeforeServe checks a local module's connection, handed
// out in Initialize, answers Unavailable until the in-process channel is
// installed.
func TestClientLocalBeforeServe(t *testing.T) {
	t.Parallel()

	conn := client(t, localRegistry(t, registry.Deps{}), "auth")

	if err := conn.Invoke(t.Context(), testMethod, "req", new(string)); status.Code(err) != codes.Unavailable {
		t.Errorf("Invoke() before ServeInProcess = %v, want code Unavailable", err)
	}

	stream, err := conn.NewStream(t.Context(), &grpc.StreamDesc{ServerStreams: true}, testMethod)
	if status.Code(err) != codes.Unavailable || stream != nil {
		t.Errorf("NewStream() before ServeInProcess = %v, %v; want no stream and code Unavailable", stream, err)
	}
}

// TestClientLocalDelegates checks that once ServeInProcess has run, the
// connections handed out before delegate every call to the channel, as
// they are: context, method, messages, options and errors.
func TestClientLocalDelegates(t *testing.T) {
	t.Parallel()

	errCallee := status.Error(codes.NotFound, "user not found")
	stream := &fakeStream{}
	channel := &fakeConn{err: errCallee, stream: stream}

	r := localRegistry(t, registry.Deps{})
	authConn, ordersConn := client(t, r, "auth"), client(t, r, "orders")

	r.ServeInProcess(channel)

	ctx := context.WithValue(t.Context(), ctxKey{}, "caller")
	args, reply := "req", new(string)

	if err := authConn.Invoke(ctx, testMethod, args, reply, grpc.WaitForReady(true)); !errors.Is(err, errCallee) {
		t.Errorf("Invoke() = %v, want the channel's error %v as is", err, errCallee)
	}

	desc := &grpc.StreamDesc{StreamName: "Watch", ServerStreams: true}

	got, err := ordersConn.NewStream(ctx, desc, "/orders.v1.OrderService/Watch")
	if got != stream || !errors.Is(err, errCallee) {
		t.Errorf("NewStream() = %v, %v; want the channel's stream and error", got, err)
	}

	want := []connCall{
		{ctxMark: "caller", method: testMethod, args: args, reply: reply, opts: 1},
		{ctxMark: "caller", method: "/orders.v1.OrderService/Watch", desc: desc},
	}
	// The very messages and descriptor, not copies.
	same := cmp.Options{
		cmp.Comparer(func(a, b *string) bool { return a == b }),
		cmp.Comparer(func(a, b *grpc.StreamDesc) bool { return a == b }),
	}
	if diff := cmp.Diff(want, channel.received(), cmp.AllowUnexported(connCall{}), same); diff != "" {
		t.Errorf("channel calls (-want +got):\n%s", diff)
	}
}

// TestClientLocalWhileServing checks calls and ServeInProcess may race:
// each call sees no channel or the whole channel.
func TestClientLocalWhileServing(t *testing.T) {
	t.Parallel()

	r := localRegistry(t, registry.Deps{})
	conn := client(t, r, "auth")
	channel := &fakeConn{}

	var wg sync.WaitGroup

	for range 4 {
		wg.Go(func() {
			for range 50 {
				if err := conn.Invoke(t.Context(), testMethod, nil, nil); err != nil && status.Code(err) != codes.Unavailable {
					t.Errorf("Invoke() = %v, want nil or code Unavailable", err)
				}
			}
		})
	}

	r.ServeInProcess(channel)
	wg.Wait()

	if err := conn.Invoke(t.Context(), testMethod, nil, nil); err != nil {
		t.Errorf("Invoke() after ServeInProcess = %v, want the channel's nil", err)
	}
}

func TestClientRemote(t *testing.T) {
	t.Parallel()

	remote := &fakeConn{}
	r := localRegistry(t, registry.Deps{Remote: map[string]grpc.ClientConnInterface{"billing": remote}})

	if conn := client(t, r, "billing"); conn != remote {
		t.Errorf("Client(billing) = %v, want the REMOTE_MODULES connection %v", conn, remote)
	}

	// Local modules still go in process, even with remote ones configured.
	r.ServeInProcess(&fakeConn{})

	if err := client(t, r, "auth").Invoke(t.Context(), testMethod, nil, nil); err != nil {
		t.Errorf("Client(auth).Invoke() = %v, want the in-process channel's nil", err)
	}

	if calls := remote.received(); len(calls) != 0 {
		t.Errorf("remote connection received %d calls for a local module, want 0", len(calls))
	}
}

func TestClientUnknown(t *testing.T) {
	t.Parallel()

	r := localRegistry(t, registry.Deps{Remote: map[string]grpc.ClientConnInterface{"billing": &fakeConn{}}})

	conn, err := r.Client("shipping")
	if err == nil || conn != nil {
		t.Fatalf("Client(shipping) = %v, %v; want an error", conn, err)
	}

	for _, want := range []string{"shipping", "REMOTE_MODULES"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Client(shipping) error %q does not mention %s", err, want)
		}
	}
}
