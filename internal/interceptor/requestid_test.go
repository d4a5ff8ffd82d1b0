package interceptor_test

import (
	"context"
	"net/netip"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"

	"github.com/modulith/modulith/internal/interceptor"
	"github.com/modulith/modulith/internal/reqmeta"
)

var generatedID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// meta is what RequestID put in a handler's context.
type meta struct {
	RequestID string
	ClientIP  string
	UserAgent string
}

func metaOf(ctx context.Context) meta {
	return meta{RequestID: reqmeta.RequestID(ctx), ClientIP: reqmeta.ClientIP(ctx), UserAgent: reqmeta.UserAgent(ctx)}
}

func unaryMeta(ctx context.Context, t *testing.T, trusted ...netip.Prefix) meta {
	t.Helper()

	var got meta

	_, err := interceptor.RequestID(trusted)(ctx, "req", getProfileInfo, func(ctx context.Context, _ any) (any, error) {
		got = metaOf(ctx)

		return nil, nil
	})
	if err != nil {
		t.Fatalf("RequestID() = %v", err)
	}

	return got
}

func streamMeta(ctx context.Context, t *testing.T, trusted ...netip.Prefix) meta {
	t.Helper()

	var got meta

	err := interceptor.StreamRequestID(trusted)(nil, &fakeStream{ctx: ctx}, &grpc.StreamServerInfo{FullMethod: getProfile},
		func(_ any, ss grpc.ServerStream) error {
			got = metaOf(ss.Context())

			return nil
		})
	if err != nil {
		t.Fatalf("StreamRequestID() = %v", err)
	}

	return got
}

func TestRequestIDMetadata(t *testing.T) {
	longUA := strings.Repeat("u", 600)

	proxy := []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}

	tests := []struct {
		name    string
		ctx     context.Context
		trusted []netip.Prefix // TRUSTED_PROXIES
		want    meta
	}{
		{
			name: "in process: forwarded values believed",
			ctx: inproc(t.Context(), "x-request-id", "req-1.a:b_c", "x-client-ip", "203.0.113.9",
				"x-client-user-agent", "browser/1", "user-agent", "grpc-go/1.84"),
			want: meta{RequestID: "req-1.a:b_c", ClientIP: "203.0.113.9", UserAgent: "browser/1"},
		},
		{
			name: "network: forwarded values ignored",
			ctx: tcp(t.Context(), "x-request-id", "req-2", "x-client-ip", "6.6.6.6",
				"x-client-user-agent", "spoofed/1", "user-agent", "grpc-go/1.84"),
			want: meta{RequestID: "req-2", ClientIP: "192.0.2.1", UserAgent: "grpc-go/1.84"},
		},
		{
			name: "network: forwarded values ignored from a peer outside TRUSTED_PROXIES",
			ctx: tcp(t.Context(), "x-request-id", "req-6", "x-client-ip", "6.6.6.6",
				"x-client-user-agent", "spoofed/1", "user-agent", "grpc-go/1.84"),
			trusted: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")},
			want:    meta{RequestID: "req-6", ClientIP: "192.0.2.1", UserAgent: "grpc-go/1.84"},
		},
		{
			name: "network: forwarded values believed from a trusted proxy (a gateway forwarding REST)",
			ctx: tcp(t.Context(), "x-request-id", "req-7", "x-client-ip", "203.0.113.9",
				"x-client-user-agent", "browser/1", "user-agent", "grpc-go/1.84"),
			trusted: proxy,
			want:    meta{RequestID: "req-7", ClientIP: "203.0.113.9", UserAgent: "browser/1"},
		},
		{
			name:    "network: a trusted proxy forwarding nothing is the client",
			ctx:     tcp(t.Context(), "x-request-id", "req-8", "user-agent", "grpc-go/1.84"),
			trusted: proxy,
			want:    meta{RequestID: "req-8", ClientIP: "192.0.2.1", UserAgent: "grpc-go/1.84"},
		},
		{
			name: "network: a trusted proxy's invalid address is ignored",
			ctx: tcp(t.Context(), "x-request-id", "req-9", "x-client-ip", "not-an-ip",
				"x-client-user-agent", "browser/1", "user-agent", "grpc-go/1.84"),
			trusted: proxy,
			want:    meta{RequestID: "req-9", ClientIP: "192.0.2.1", UserAgent: "grpc-go/1.84"},
		},
		{
			name: "network: user agent truncated",
			ctx:  tcp(t.Context(), "x-request-id", "req-3", "user-agent", longUA),
			want: meta{RequestID: "req-3", ClientIP: "192.0.2.1", UserAgent: longUA[:512]},
		},
		{
			name: "in process: user agent truncated",
			ctx:  inproc(t.Context(), "x-request-id", "req-4", "x-client-user-agent", longUA),
			want: meta{RequestID: "req-4", UserAgent: longUA[:512]},
		},
		{
			name: "no peer",
			ctx:  withPeer(t.Context(), nil, "x-request-id", "req-5", "x-client-ip", "6.6.6.6", "user-agent", "cli/2"),
			want: meta{RequestID: "req-5", UserAgent: "cli/2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, unaryMeta(tt.ctx, t, tt.trusted...)); diff != "" {
				t.Errorf("unary (-want +got):\n%s", diff)
			}

			if diff := cmp.Diff(tt.want, streamMeta(tt.ctx, t, tt.trusted...)); diff != "" {
				t.Errorf("stream (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRequestIDReplacesInvalidIDs(t *testing.T) {
	tests := []struct {
		name string
		ctx  context.Context
	}{
		{name: "missing", ctx: tcp(t.Context())},
		{name: "no metadata", ctx: t.Context()},
		{name: "empty", ctx: tcp(t.Context(), "x-request-id", "")},
		{name: "space", ctx: tcp(t.Context(), "x-request-id", "a b")},
		{name: "newline", ctx: inproc(t.Context(), "x-request-id", "a\nlevel=ERROR")},
		{name: "slash", ctx: tcp(t.Context(), "x-request-id", "../etc")},
		{name: "too long", ctx: tcp(t.Context(), "x-request-id", strings.Repeat("a", 129))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, got := range []meta{unaryMeta(tt.ctx, t), streamMeta(tt.ctx, t)} {
				if !generatedID.MatchString(got.RequestID) {
					t.Errorf("request ID = %q, want 32 hex characters", got.RequestID)
				}
			}
		})
	}
}

func TestRequestIDGeneratesDistinctIDs(t *testing.T) {
	one, two := unaryMeta(tcp(t.Context()), t), unaryMeta(tcp(t.Context()), t)
	if one.RequestID == two.RequestID {
		t.Errorf("two requests got the same ID %q", one.RequestID)
	}
}

func TestRequestIDKeepsLongestValidID(t *testing.T) {
	id := strings.Repeat("a", 128)
	if got := unaryMeta(tcp(t.Context(), "x-request-id", id), t); got.RequestID != id {
		t.Errorf("request ID = %q, want the 128-character %q kept", got.RequestID, id)
	}
}
