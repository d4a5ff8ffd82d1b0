package inproc

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// clientKey is the context key of the caller's context.
type clientKey struct{}

// ClientContext returns, on the context of a handler serving an in-process
// call, the context the caller made the call with; nil elsewhere.
func ClientContext(ctx context.Context) context.Context {
	c, _ := ctx.Value(clientKey{}).(context.Context)

	return c
}

// serverContext returns the handler's context for a call made with ctx,
// and the cancel that ends it when the call returns, as a network call's
// context ends.
func serverContext(ctx context.Context, st *transportStream) (context.Context, context.CancelFunc) {
	done, cancel := context.WithCancel(ctx)

	values := context.WithValue(context.Background(), clientKey{}, ctx)
	values = grpc.NewContextWithServerTransportStream(values, st)
	values = peer.NewContext(values, &the)

	if md, ok := metadata.FromOutgoingContext(ctx); ok {
		values = metadata.NewIncomingContext(values, md)
	}

	return &handlerContext{Context: done, values: values}, cancel
}

// handlerContext has the deadline and cancellation of Context (the
// caller's, cancelled when the call returns) and the values of values
// only.
//
// Contexts derived from it by the handler (a timeout, pgx watching a
// query) must not each start a goroutine to follow its cancellation, which
// the context package does for a parent it does not recognise. It
// recognises a parent whose Value(key) of its private key returns the
// cancelCtx whose Done channel the parent returns: so Value answers any
// key whose value in Context is Context itself, which only that key is.
type handlerContext struct {
	context.Context

	values context.Context
}

func (c *handlerContext) Value(key any) any {
	if v := c.values.Value(key); v != nil {
		return v
	}

	if v := c.Context.Value(key); v == any(c.Context) {
		return v
	}

	return nil
}
