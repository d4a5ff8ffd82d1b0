package inproc_test

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/modulith/modulith/internal/inproc"
)

const echo = "/test.v1.Echo/Echo"

// echoer is the test service: Echo hands its request and context to fn.
type echoer interface {
	echo(ctx context.Context, in *wrapperspb.StringValue) (*wrapperspb.StringValue, error)
}

type echoFunc func(ctx context.Context, in *wrapperspb.StringValue) (*wrapperspb.StringValue, error)

func (f echoFunc) echo(ctx context.Context, in *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
	return f(ctx, in)
}

// echoDesc is written as protoc-gen-go-grpc writes a service's.
var echoDesc = grpc.ServiceDesc{
	ServiceName: "test.v1.Echo",
	HandlerType: (*echoer)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Echo",
		Handler: func(srv any, ctx context.Context, dec func(any) error, intercept grpc.UnaryServerInterceptor) (any, error) {
			in := new(wrapperspb.StringValue)
			if err := dec(in); err != nil {
				return nil, err
			}

			if intercept == nil {
				return srv.(echoer).echo(ctx, in)
			}

			info := &grpc.UnaryServerInfo{Server: srv, FullMethod: echo}

			return intercept(ctx, in, info, func(ctx context.Context, req any) (any, error) {
				return srv.(echoer).echo(ctx, req.(*wrapperspb.StringValue))
			})
		},
	}},
}

func channel(fn echoFunc) *inproc.Channel {
	ch := inproc.New(nil, nil)
	ch.RegisterService(&echoDesc, fn)

	return ch
}

func call(ctx context.Context, ch *inproc.Channel, in string, opts ...grpc.CallOption) (string, error) {
	out := new(wrapperspb.StringValue)
	err := ch.Invoke(ctx, echo, wrapperspb.String(in), out, opts...)

	return out.GetValue(), err
}

// A call runs the client interceptor, the server interceptor and the
// handler, in that order, and returns the handler's response.
func TestInvokeRunsTheChain(t *testing.T) {
	t.Parallel()

	var trail []string

	impl := echoFunc(func(_ context.Context, in *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
		trail = append(trail, "handler")

		return wrapperspb.String("re: " + in.GetValue()), nil
	})
	server := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		trail = append(trail, "server "+info.FullMethod)
		if _, ok := info.Server.(echoFunc); !ok {
			t.Errorf("info.Server = %T, want the registered implementation", info.Server)
		}

		return h(ctx, req)
	}
	client := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoke grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		trail = append(trail, "client "+method)

		return invoke(ctx, method, req, reply, cc, opts...)
	}

	ch := inproc.New(server, client)
	ch.RegisterService(&echoDesc, impl)

	got, err := call(t.Context(), ch, "hi")
	if err != nil || got != "re: hi" {
		t.Fatalf("Invoke() = %q, %v; want re: hi", got, err)
	}

	if want := []string{"client " + echo, "server " + echo, "handler"}; !slices.Equal(trail, want) {
		t.Errorf("ran %q, want %q", trail, want)
	}
}

// Caller and handler never share a message.
func TestInvokeCopiesMessages(t *testing.T) {
	t.Parallel()

	var kept *wrapperspb.StringValue

	ch := channel(func(_ context.Context, in *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
		in.Value = "changed by the handler"
		kept = wrapperspb.String("response")

		return kept, nil
	})

	req := wrapperspb.String("request")
	reply := wrapperspb.String("stale")

	if err := ch.Invoke(t.Context(), echo, req, reply); err != nil {
		t.Fatal(err)
	}

	kept.Value = "changed after the call"

	if req.GetValue() != "request" || reply.GetValue() != "response" {
		t.Errorf("caller's request %q and reply %q, want request and response", req.GetValue(), reply.GetValue())
	}
}

type key struct{}

// The handler gets the caller's deadline and metadata, an in-process peer
// and its method, but not the caller's values, which ClientContext gives;
// its context ends when the call returns.
func TestHandlerContext(t *testing.T) {
	t.Parallel()

	var (
		seen     context.Context
		deadline time.Time
	)

	ch := channel(func(ctx context.Context, _ *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
		seen = ctx
		deadline, _ = ctx.Deadline()

		return wrapperspb.String(""), nil
	})

	ctx, cancel := context.WithTimeout(context.WithValue(t.Context(), key{}, "caller's"), time.Hour)
	defer cancel()

	ctx = metadata.AppendToOutgoingContext(ctx, "x-request-id", "r-1")

	if _, err := call(ctx, ch, ""); err != nil {
		t.Fatal(err)
	}

	want, _ := ctx.Deadline()
	md, _ := metadata.FromIncomingContext(seen)
	p, _ := peer.FromContext(seen)
	method, _ := grpc.Method(seen)

	for _, c := range []struct {
		what string
		ok   bool
	}{
		{"the caller's deadline", deadline.Equal(want)},
		{"none of the caller's values", seen.Value(key{}) == nil},
		{"the caller's values through ClientContext", inproc.ClientContext(seen).Value(key{}) == "caller's"},
		{"the caller's metadata", slices.Equal(md.Get("x-request-id"), []string{"r-1"})},
		{"the inproc peer", p != nil && p.Addr.Network() == inproc.Network},
		{"its method", method == echo},
		{"an end when the call returns", errors.Is(seen.Err(), context.Canceled)},
	} {
		if !c.ok {
			t.Errorf("the handler's context lacks %s", c.what)
		}
	}

	if inproc.ClientContext(t.Context()) != nil {
		t.Error("ClientContext outside a handler is not nil")
	}
}

// What the handler sets with grpc.SetHeader, SendHeader and SetTrailer
// reaches the caller's grpc.Header and grpc.Trailer, as over the network.
func TestHeadersAndTrailers(t *testing.T) {
	t.Parallel()

	ch := channel(func(ctx context.Context, _ *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
		_ = grpc.SetHeader(ctx, metadata.Pairs("a", "1"))
		_ = grpc.SendHeader(ctx, metadata.Pairs("b", "2"))
		_ = grpc.SetTrailer(ctx, metadata.Pairs("c", "3"))

		return wrapperspb.String(""), nil
	})

	var (
		header, trailer metadata.MD
		p               peer.Peer
	)

	if _, err := call(t.Context(), ch, "", grpc.Header(&header), grpc.Trailer(&trailer), grpc.Peer(&p)); err != nil {
		t.Fatal(err)
	}

	if header.Get("a")[0] != "1" || header.Get("b")[0] != "2" || trailer.Get("c")[0] != "3" {
		t.Errorf("header %v, trailer %v; want a=1 b=2, c=3", header, trailer)
	}

	if p.Addr == nil || p.Addr.Network() != "inproc" {
		t.Errorf("peer %v, want inproc", p)
	}
}

// The handler runs in the caller's goroutine, and contexts it derives
// (after adding values, as interceptors do) follow the caller's
// cancellation without a goroutine each. Not parallel: it counts
// goroutines.
func TestNoGoroutinePerCall(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	ch := channel(func(ctx context.Context, _ *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
		buf := make([]byte, 64<<10)
		if stack := string(buf[:runtime.Stack(buf, false)]); !strings.Contains(stack, "TestNoGoroutinePerCall") {
			t.Errorf("the handler runs in a goroutine of its own:\n%s", stack)
		}

		before := runtime.NumGoroutine()

		derived, stop := context.WithTimeout(context.WithValue(ctx, key{}, "interceptor's"), time.Hour)
		defer stop()

		if n := runtime.NumGoroutine(); n != before {
			t.Errorf("%d goroutines after deriving a context, want %d", n, before)
		}

		cancel() // the caller's

		select {
		case <-derived.Done():
		case <-time.After(time.Second):
			t.Error("the derived context did not end with the caller's")
		}

		return wrapperspb.String(""), nil
	})

	if _, err := call(ctx, ch, ""); status.Code(err) != codes.Canceled {
		t.Errorf("call whose context ended during the handler = %v, want Canceled", err)
	}
}

func TestInvokeErrors(t *testing.T) {
	t.Parallel()

	ok := channel(func(context.Context, *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
		return wrapperspb.String(""), nil
	})

	fail := func(err error) func() error {
		ch := channel(func(context.Context, *wrapperspb.StringValue) (*wrapperspb.StringValue, error) { return nil, err })

		return func() error {
			_, err := call(t.Context(), ch, "")

			return err
		}
	}
	invoke := func(method string, req any) func() error {
		return func() error { return ok.Invoke(t.Context(), method, req, new(wrapperspb.StringValue)) }
	}
	tests := []struct {
		name   string
		invoke func() error
		want   codes.Code
	}{
		{"unknown service", invoke("/test.v1.Nope/Echo", wrapperspb.String("")), codes.Unimplemented},
		{"unknown method", invoke("/test.v1.Echo/Nope", wrapperspb.String("")), codes.Unimplemented},
		{"not a method", invoke("Echo", wrapperspb.String("")), codes.Unimplemented},
		{"not protobuf", invoke(echo, "hi"), codes.Internal},
		{"another request type", invoke(echo, wrapperspb.Int64(1)), codes.Internal},
		{"status error", fail(status.Error(codes.NotFound, "no")), codes.NotFound},
		{"plain error", fail(errors.New("boom")), codes.Unknown},
		{"context error", fail(context.DeadlineExceeded), codes.DeadlineExceeded},
		{"no response", fail(nil), codes.Internal},
		{"stream", func() error {
			_, err := ok.NewStream(t.Context(), &grpc.StreamDesc{ServerStreams: true}, "/test.v1.Echo/Watch")

			return err
		}, codes.Unimplemented},
	}

	for _, tt := range tests {
		if err := tt.invoke(); status.Code(err) != tt.want {
			t.Errorf("%s: error %v, want code %v", tt.name, err, tt.want)
		}
	}
}

// RegisterService refuses what grpc.Server refuses.
func TestRegisterServicePanics(t *testing.T) {
	t.Parallel()

	for name, register := range map[string]func(ch *inproc.Channel){
		"twice": func(ch *inproc.Channel) {
			ch.RegisterService(&echoDesc, echoFunc(nil))
			ch.RegisterService(&echoDesc, echoFunc(nil))
		},
		"wrong type": func(ch *inproc.Channel) { ch.RegisterService(&echoDesc, "not an echoer") },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: RegisterService did not panic", name)
				}
			}()

			register(inproc.New(nil, nil))
		}()
	}
}
