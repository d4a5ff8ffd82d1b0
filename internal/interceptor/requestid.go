package interceptor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"regexp"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/modulith/modulith/internal/reqmeta"
)

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

const maxUserAgent = 512

// RequestID puts the request ID, client IP and user agent in the context.
// The gateway forwards them as metadata for REST calls; those forwarded
// values are believed only from the in-process channel, never from a
// network peer, which could otherwise spoof its IP address.
func RequestID() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		return handler(withRequestMeta(ctx), req)
	}
}

// StreamRequestID is RequestID for streams.
func StreamRequestID() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return handler(srv, &wrappedStream{ServerStream: ss, ctx: withRequestMeta(ss.Context())})
	}
}

func withRequestMeta(ctx context.Context) context.Context {
	id := first(ctx, reqmeta.RequestIDHeader)
	if !validRequestID.MatchString(id) {
		id = newRequestID()
	}

	ctx = reqmeta.WithRequestID(ctx, id)

	p, _ := peer.FromContext(ctx)
	if p != nil && p.Addr != nil && p.Addr.Network() == "inproc" {
		ctx = reqmeta.WithClientIP(ctx, first(ctx, reqmeta.ClientIPHeader))
		ctx = reqmeta.WithUserAgent(ctx, truncate(first(ctx, reqmeta.UserAgentHeader), maxUserAgent))

		return ctx
	}

	if p != nil && p.Addr != nil {
		if host, _, err := net.SplitHostPort(p.Addr.String()); err == nil {
			ctx = reqmeta.WithClientIP(ctx, host)
		}
	}

	return reqmeta.WithUserAgent(ctx, truncate(first(ctx, "user-agent"), maxUserAgent))
}

// first returns the first incoming metadata value of key, without copying
// the metadata as metadata.FromIncomingContext does.
func first(ctx context.Context, key string) string {
	if vals := metadata.ValueFromIncomingContext(ctx, key); len(vals) > 0 {
		return vals[0]
	}

	return ""
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}

	return s
}

func newRequestID() string {
	var b [16]byte

	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms

	return hex.EncodeToString(b[:])
}
