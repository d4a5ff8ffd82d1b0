// Package reqmeta carries facts about the current request through its
// context: the request ID, the client's IP address and its user agent. The
// HTTP middleware and the gRPC interceptors set them; logging, rate limiting
// and the auth module read them.
package reqmeta

import (
	"context"

	"google.golang.org/grpc/metadata"
)

type ctxKey int

const (
	requestIDKey ctxKey = iota
	clientIPKey
	userAgentKey
)

// Metadata keys under which the gateway forwards these facts to gRPC.
const (
	RequestIDHeader = "x-request-id"
	ClientIPHeader  = "x-client-ip"
	UserAgentHeader = "x-client-user-agent"
)

// WithRequestID returns a context carrying the request ID.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey, id)
}

// RequestID returns the request ID, or "" outside a request.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)

	return id
}

// WithClientIP returns a context carrying the client's IP address.
func WithClientIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, clientIPKey, ip)
}

// ClientIP returns the client's IP address, or "" when unknown.
func ClientIP(ctx context.Context) string {
	ip, _ := ctx.Value(clientIPKey).(string)

	return ip
}

// WithUserAgent returns a context carrying the client's user agent.
func WithUserAgent(ctx context.Context, ua string) context.Context {
	return context.WithValue(ctx, userAgentKey, ua)
}

// UserAgent returns the client's user agent, or "" when unknown.
func UserAgent(ctx context.Context) string {
	ua, _ := ctx.Value(userAgentKey).(string)

	return ua
}

// Forwarded returns the facts of ctx as the metadata of a call to a
// module: what the REST gateway and the GraphQL endpoint forward.
func Forwarded(ctx context.Context) metadata.MD {
	return metadata.Pairs(
		RequestIDHeader, RequestID(ctx),
		ClientIPHeader, ClientIP(ctx),
		UserAgentHeader, UserAgent(ctx),
	)
}
