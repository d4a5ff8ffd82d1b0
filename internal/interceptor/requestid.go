package interceptor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/netip"
	"regexp"
	"slices"

	"github.com/modulith/modulith/internal/inproc"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/modulith/modulith/internal/reqmeta"
)

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

const maxUserAgent = 512

// RequestID puts the request ID, client IP and user agent in the context.
// The gateway forwards them as metadata for REST calls; those forwarded
// values are believed only from the in-process channel and from peers in
// trusted (TRUSTED_PROXIES: the server whose gateway forwards a remote
// module's REST routes to this process), never from another network peer,
// which could otherwise spoof its IP address.
func RequestID(trusted []netip.Prefix) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		return handler(withRequestMeta(ctx, trusted), req)
	}
}

// StreamRequestID is RequestID for streams.
func StreamRequestID(trusted []netip.Prefix) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return handler(srv, &wrappedStream{ServerStream: ss, ctx: withRequestMeta(ss.Context(), trusted)})
	}
}

func withRequestMeta(ctx context.Context, trusted []netip.Prefix) context.Context {
	id := first(ctx, reqmeta.RequestIDHeader)
	if !validRequestID.MatchString(id) {
		id = newRequestID()
	}

	ctx = reqmeta.WithRequestID(ctx, id)

	p, _ := peer.FromContext(ctx)
	if p != nil && p.Addr != nil && p.Addr.Network() == inproc.Network {
		ctx = reqmeta.WithClientIP(ctx, first(ctx, reqmeta.ClientIPHeader))
		ctx = reqmeta.WithUserAgent(ctx, truncate(first(ctx, reqmeta.UserAgentHeader), maxUserAgent))

		return ctx
	}

	ip, userAgent := networkClient(ctx, p, trusted)
	if ip != "" {
		ctx = reqmeta.WithClientIP(ctx, ip)
	}

	return reqmeta.WithUserAgent(ctx, truncate(userAgent, maxUserAgent))
}

// networkClient returns the IP address and user agent of the client of a
// call from network peer p: the peer's own, or those a trusted proxy
// forwarded when it sent a valid address (a module's call to another
// module over the network sends none: the peer is then the client).
func networkClient(ctx context.Context, p *peer.Peer, trusted []netip.Prefix) (ip, userAgent string) {
	userAgent = first(ctx, "user-agent")

	if p != nil && p.Addr != nil {
		if host, _, err := net.SplitHostPort(p.Addr.String()); err == nil {
			ip = host
		}
	}

	if fwd, err := netip.ParseAddr(first(ctx, reqmeta.ClientIPHeader)); err == nil && isTrusted(ip, trusted) {
		return fwd.String(), first(ctx, reqmeta.UserAgentHeader)
	}

	return ip, userAgent
}

func isTrusted(ip string, trusted []netip.Prefix) bool {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}

	addr = addr.Unmap()

	return slices.ContainsFunc(trusted, func(p netip.Prefix) bool { return p.Contains(addr) })
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
