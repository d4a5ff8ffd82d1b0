package registry

import (
	"context"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// inProcessConn is the connection Client hands out for local modules
// before the in-process channel exists: modules build their clients in
// Initialize, and the channel, which needs every module initialized, is
// installed later (ServeInProcess), before any request is served. Errors
// pass through untouched: they are the callee's gRPC statuses.
type inProcessConn struct {
	channel atomic.Pointer[channel]
}

// channel is the installed connection's two calls.
type channel struct {
	invoke    func(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error
	newStream func(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error)
}

var (
	_ grpc.ClientConnInterface = (*inProcessConn)(nil)

	errNotReady = status.Error(codes.Unavailable, "in-process channel not ready: the server has not started")
)

func (c *inProcessConn) set(conn grpc.ClientConnInterface) {
	c.channel.Store(&channel{invoke: conn.Invoke, newStream: conn.NewStream})
}

func (c *inProcessConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	ch := c.channel.Load()
	if ch == nil {
		return errNotReady
	}

	return ch.invoke(ctx, method, args, reply, opts...)
}

func (c *inProcessConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	ch := c.channel.Load()
	if ch == nil {
		return nil, errNotReady
	}

	return ch.newStream(ctx, desc, method, opts...)
}
