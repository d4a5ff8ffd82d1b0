package routepolicy

import (
	"context"
	"strconv"
	"strings"

	"github.com/modulith/modulith/internal/inproc"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// UnaryServerInterceptor applies the route policies to the unary calls of
// clients. It belongs after authentication in the chain, which it reads.
func (p *Policy) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if err := p.admit(ctx, info.FullMethod); err != nil {
			return nil, err
		}

		return handler(ctx, req)
	}
}

// StreamServerInterceptor applies the route policies to the streams of
// clients, once when each stream opens.
func (p *Policy) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if err := p.admit(ss.Context(), info.FullMethod); err != nil {
			return err
		}

		return handler(srv, ss)
	}
}

// admit charges a client's call to its rate-limit rule and checks its
// route's roles. A call over the network gets the RateLimit headers; one
// from an HTTP request leaves them to Middleware.
func (p *Policy) admit(ctx context.Context, fullMethod string) error {
	pr, _ := peer.FromContext(ctx)
	inProcess := pr != nil && pr.Addr != nil && pr.Addr.Network() == inproc.Network

	s, client := callScope(ctx, inProcess)
	if !client {
		return nil
	}

	route := strings.TrimPrefix(fullMethod, "/")
	if s != nil {
		s.called(route)
	}

	r, limited, err := p.limit(ctx, s, route, callerOf(ctx))
	if limited && s == nil {
		md := metadata.Pairs(headerPolicy, policyHeader([]result{r}), headerRateLimit, rateLimitHeader([]result{r}))
		if !r.Allowed {
			md.Set(headerRetryAfter, strconv.FormatInt(seconds(r.RetryAfter), 10))
		}
		// SetHeader fails only once headers are sent, which no handler
		// has done yet.
		_ = grpc.SetHeader(ctx, md)
	}

	if err != nil {
		return err
	}

	return p.requireRoles(ctx, route)
}

// The headers of draft-ietf-httpapi-ratelimit-headers, as gRPC metadata
// keys (lower case).
const (
	headerPolicy    = "ratelimit-policy"
	headerRateLimit = "ratelimit"
	// headerRetryAfter repeats the RetryInfo of the status for clients
	// that read metadata only.
	headerRetryAfter = "retry-after"
)
