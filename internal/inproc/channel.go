// Package inproc is the gRPC channel between the modules of one process
// (and from the REST gateway and GraphQL to them): a call runs the
// server's interceptor chain and the method's handler in the caller's
// goroutine, on a copy of the request, and copies the response into the
// caller's reply. There is no socket, no encoding and no goroutine per
// call.
//
// The handler's context carries the caller's deadline and cancellation and
// the call's metadata (outgoing on the caller's side, incoming on the
// handler's), but none of the caller's context values: a module serving a
// call sees the caller's context only through ClientContext, so that
// nothing leaks into it by accident. The peer's address is on the network
// Network ("inproc"), which the interceptors use to tell in-process calls
// apart.
//
// Only unary methods are served in process; NewStream answers
// Unimplemented, and streaming methods are reached over the gRPC listener.
package inproc

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Channel is a grpc.ClientConnInterface to the services registered on it
// (a grpc.ServiceRegistrar). Register every service before the first call.
type Channel struct {
	services map[string]service
	server   grpc.UnaryServerInterceptor
	client   grpc.UnaryClientInterceptor
}

type service struct {
	impl    any
	methods map[string]grpc.MethodHandler
}

// New returns a channel whose calls run client (optional) on the caller's
// side, then server (optional) around the handler, as a network call would
// run a client's and a server's interceptors.
func New(server grpc.UnaryServerInterceptor, client grpc.UnaryClientInterceptor) *Channel {
	return &Channel{services: make(map[string]service), server: server, client: client}
}

// RegisterService registers impl, which must implement desc.HandlerType,
// as grpc.Server does, and panics as it does on a mismatch or a service
// registered twice.
func (c *Channel) RegisterService(desc *grpc.ServiceDesc, impl any) {
	if impl != nil {
		if want := reflect.TypeOf(desc.HandlerType).Elem(); !reflect.TypeOf(impl).Implements(want) {
			panic(fmt.Sprintf("inproc: RegisterService found the handler of type %T that does not satisfy %v", impl, want))
		}
	}

	if _, ok := c.services[desc.ServiceName]; ok {
		panic("inproc: service " + desc.ServiceName + " registered twice")
	}

	s := service{impl: impl, methods: make(map[string]grpc.MethodHandler, len(desc.Methods))}
	for _, m := range desc.Methods {
		s.methods[m.MethodName] = m.Handler
	}

	c.services[desc.ServiceName] = s
}

// Invoke calls the unary method ("/package.Service/Method"): the client
// interceptor, then the server interceptor and the handler, all in the
// calling goroutine. req and reply must be protobuf messages. The
// grpc.Header, grpc.Trailer and grpc.Peer call options receive what a
// network call would give them.
func (c *Channel) Invoke(ctx context.Context, method string, req, reply any, opts ...grpc.CallOption) error {
	if c.client != nil {
		return c.client(ctx, method, req, reply, nil, c.invoke, opts...)
	}

	return c.invoke(ctx, method, req, reply, nil, opts...)
}

func (c *Channel) invoke(ctx context.Context, method string, req, reply any, _ *grpc.ClientConn, opts ...grpc.CallOption) error {
	s, handler, err := c.lookup(method)
	if err != nil {
		return err
	}

	in, inOK := req.(proto.Message)
	out, outOK := reply.(proto.Message)

	if !inOK || !outOK {
		return status.Errorf(codes.Internal, "inproc: %s: request and reply must be protobuf messages, not %T and %T", method, req, reply)
	}

	st := &transportStream{method: method}
	sctx, cancel := serverContext(ctx, st)

	resp, err := handler(s.impl, sctx, func(m any) error { return decode(m, in) }, c.server)

	cancel()
	deliver(st, opts)

	switch {
	case err != nil:
		if _, ok := status.FromError(err); ok {
			return err
		}

		return status.FromContextError(err).Err() // Unknown, but for context errors, as gRPC's server does
	case ctx.Err() != nil:
		return status.FromContextError(ctx.Err()).Err()
	}

	r, ok := resp.(proto.Message)
	if !ok || r == nil || !r.ProtoReflect().IsValid() {
		return status.Errorf(codes.Internal, "inproc: %s: the handler returned neither an error nor a response", method)
	}

	proto.Reset(out)
	proto.Merge(out, r)

	return nil
}

// NewStream answers Unimplemented: streaming methods are served over the
// gRPC listener only.
func (c *Channel) NewStream(_ context.Context, _ *grpc.StreamDesc, method string, _ ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, status.Errorf(codes.Unimplemented, "inproc: %s is a streaming method; call it over the gRPC listener", method)
}

// lookup finds the service and handler of a unary method.
func (c *Channel) lookup(method string) (service, grpc.MethodHandler, error) {
	name, m, ok := strings.Cut(strings.TrimPrefix(method, "/"), "/")

	s, found := c.services[name]
	if !ok || !found {
		return service{}, nil, status.Errorf(codes.Unimplemented, "unknown service %s", name)
	}

	h, found := s.methods[m]
	if !found {
		return service{}, nil, status.Errorf(codes.Unimplemented, "unknown method %s for service %s", m, name)
	}

	return s, h, nil
}

// decode copies the caller's request into the handler's message.
func decode(m any, req proto.Message) error {
	dst, ok := m.(proto.Message)
	if !ok {
		return status.Errorf(codes.Internal, "inproc: cannot decode into %T", m)
	}

	if dst.ProtoReflect().Descriptor() != req.ProtoReflect().Descriptor() {
		return status.Errorf(codes.Internal, "inproc: request %s for a handler of %s",
			req.ProtoReflect().Descriptor().FullName(), dst.ProtoReflect().Descriptor().FullName())
	}

	proto.Merge(dst, req)

	return nil
}

// deliver hands the call's header, trailer and peer to the call options
// that ask for them.
func deliver(st *transportStream, opts []grpc.CallOption) {
	for _, o := range opts {
		switch o := o.(type) {
		case grpc.HeaderCallOption:
			*o.HeaderAddr = st.header
		case grpc.TrailerCallOption:
			*o.TrailerAddr = st.trailer
		case grpc.PeerCallOption:
			*o.PeerAddr = the
		}
	}
}

// the is the peer of every in-process call.
var the = peer.Peer{Addr: addr{}, AuthInfo: addr{}}

// Network is the network of the in-process peer's address.
const Network = "inproc"

// addr is the in-process peer's address and authentication.
type addr struct{}

func (addr) Network() string  { return Network }
func (addr) String() string   { return Network }
func (addr) AuthType() string { return Network }

// transportStream collects what the handler sets with grpc.SetHeader,
// grpc.SendHeader and grpc.SetTrailer. Only the calling goroutine runs the
// handler, so it needs no lock.
type transportStream struct {
	method          string
	header, trailer metadata.MD
}

func (s *transportStream) Method() string { return s.method }

func (s *transportStream) SetHeader(md metadata.MD) error {
	s.header = metadata.Join(s.header, md)

	return nil
}

func (s *transportStream) SendHeader(md metadata.MD) error { return s.SetHeader(md) }

func (s *transportStream) SetTrailer(md metadata.MD) error {
	s.trailer = metadata.Join(s.trailer, md)

	return nil
}
