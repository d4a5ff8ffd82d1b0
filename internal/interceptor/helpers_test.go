package interceptor_test

import (
	"context"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// getProfile is the full method most tests call.
const getProfile = "/auth.v1.AuthService/GetProfile"

var getProfileInfo = &grpc.UnaryServerInfo{FullMethod: getProfile}

// inprocAddr is the address the in-process channel gives its peer.
type inprocAddr struct{}

func (inprocAddr) Network() string { return "inproc" }
func (inprocAddr) String() string  { return "0" }

// withPeer returns ctx as seen by a server whose caller is at addr and sent
// the metadata key/value pairs kv.
func withPeer(ctx context.Context, addr net.Addr, kv ...string) context.Context {
	if addr != nil {
		ctx = peer.NewContext(ctx, &peer.Peer{Addr: addr})
	}

	return metadata.NewIncomingContext(ctx, metadata.Pairs(kv...))
}

func inproc(ctx context.Context, kv ...string) context.Context {
	return withPeer(ctx, inprocAddr{}, kv...)
}

func tcp(ctx context.Context, kv ...string) context.Context {
	return withPeer(ctx, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 50123}, kv...)
}

// fakeStream is a server stream that only has a context.
type fakeStream struct {
	grpc.ServerStream

	ctx context.Context
}

func (s *fakeStream) Context() context.Context { return s.ctx }

// okHandler answers every call with "ok".
func okHandler(context.Context, any) (any, error) { return "ok", nil }

// errHandler returns a handler that fails with err.
func errHandler(err error) grpc.UnaryHandler {
	return func(context.Context, any) (any, error) { return nil, err }
}
