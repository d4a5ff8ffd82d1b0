package routepolicy_test

import (
	"encoding/json"
	stderrors "errors"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/reqmeta"
	"github.com/modulith/modulith/internal/routepolicy"
)

func TestHTTPOverTheLimitIs429WithHeaders(t *testing.T) {
	h := newHarness(t, routepolicy.Config{RateLimits: "default=100/s,grpc.health.v1.Health/*=2/m"})
	srv := h.serve(t, h.gateway(1))

	for i := range 2 {
		resp := get(t, srv.URL)
		if resp.Status != http.StatusOK {
			t.Fatalf("request %d: status %d, want 200", i, resp.Status)
		}

		wantHeaders(t, resp, `"grpc.health.v1.Health/*";r=`+strconv.Itoa(1-i)+";", `"grpc.health.v1.Health/*";q=2;w=60`)
	}

	resp := get(t, srv.URL)
	if resp.Status != http.StatusTooManyRequests {
		t.Fatalf("third request: status %d, want 429", resp.Status)
	}

	wantHeaders(t, resp, `"grpc.health.v1.Health/*";r=0;`, `"grpc.health.v1.Health/*";q=2;w=60`)

	if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 30 {
		t.Errorf("Retry-After = %q, want 1..30 seconds (one token is 30 s)", resp.Header.Get("Retry-After"))
	}

	wantRefusalBody(t, resp, "grpc.health.v1.Health/*")

	if got := rejected(t, h.reader, "grpc.health.v1.Health/*"); got != 1 {
		t.Errorf("ratelimit.rejected{rule} = %d, want 1", got)
	}
}

// wantRefusalBody checks that r's body is the platform's RATE_LIMITED
// error naming rule.
func wantRefusalBody(t *testing.T, r reply, rule string) {
	t.Helper()

	var body struct {
		Code    string         `json:"code"`
		Details map[string]any `json:"details"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil || body.Code != "RATE_LIMITED" || body.Details["rule"] != rule {
		t.Errorf("body = %s (%v), want code RATE_LIMITED naming %s", r.Body, err, rule)
	}
}

// wantHeaders checks that RateLimit starts with rateLimit and that
// RateLimit-Policy is policy.
func wantHeaders(t *testing.T, r reply, rateLimit, policy string) {
	t.Helper()

	if got := r.Header.Get("RateLimit"); !strings.HasPrefix(got, rateLimit) {
		t.Errorf("RateLimit = %q, want it to start %q", got, rateLimit)
	}

	if got := r.Header.Get("RateLimit-Policy"); got != policy {
		t.Errorf("RateLimit-Policy = %q, want %q", got, policy)
	}
}

// A request whose calls fall under one rule is charged once.
func TestARequestIsChargedOncePerRule(t *testing.T) {
	h := newHarness(t, routepolicy.Config{RateLimits: "default=3/m"})
	srv := h.serve(t, h.gateway(5))

	for i := range 3 {
		if resp := get(t, srv.URL); resp.Status != http.StatusOK {
			t.Fatalf("request %d making 5 calls: status %d, want 200 (3 requests allowed)", i, resp.Status)
		}
	}

	if resp := get(t, srv.URL); resp.Status != http.StatusTooManyRequests {
		t.Errorf("fourth request: status %d, want 429", resp.Status)
	}
}

// Once a rule refused a request, its other calls under the rule are
// refused too, not let through as already charged (GraphQL resolves every
// field, whatever the others got).
func TestARefusalStandsForTheRestOfTheRequest(t *testing.T) {
	h := newHarness(t, routepolicy.Config{RateLimits: "default=1/m"})
	client := healthpb.NewHealthClient(h.channel)

	var admitted atomic.Int32

	srv := h.serve(t, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		ctx := metadata.NewOutgoingContext(r.Context(), reqmeta.Forwarded(r.Context()))
		for range 3 {
			if _, err := client.Check(ctx, &healthpb.HealthCheckRequest{}); err == nil {
				admitted.Add(1)
			}
		}
	}))

	get(t, srv.URL) // spends the budget on its first call

	admitted.Store(0)
	get(t, srv.URL)

	if n := admitted.Load(); n != 0 {
		t.Errorf("calls admitted after the rule refused the request = %d, want 0", n)
	}
}

// A call through the channel that no HTTP request made (a module calling
// another) is not a client's: never charged.
func TestInternalCallsAreNotCharged(t *testing.T) {
	h := newHarness(t, routepolicy.Config{RateLimits: "default=1/m"})
	client := healthpb.NewHealthClient(h.channel)

	for i := range 5 {
		if _, err := client.Check(t.Context(), &healthpb.HealthCheckRequest{}); err != nil {
			t.Fatalf("internal call %d: %v", i, err)
		}
	}
}

// Over the network a call over the limit is RESOURCE_EXHAUSTED with the
// rule in ErrorInfo, RetryInfo and the RateLimit headers as metadata.
func TestGRPCOverTheLimitIsResourceExhausted(t *testing.T) {
	h := newHarness(t, routepolicy.Config{RateLimits: "default=1/m"})

	var header metadata.MD
	if _, err := h.network.Check(t.Context(), &healthpb.HealthCheckRequest{}, grpc.Header(&header)); err != nil {
		t.Fatalf("first call: %v", err)
	}

	if got := header.Get("ratelimit"); len(got) != 1 || got[0] != `"default";r=0;t=60` {
		t.Errorf("ratelimit header = %q, want \"default\";r=0;t=60", got)
	}

	header = nil

	_, err := h.network.Check(t.Context(), &healthpb.HealthCheckRequest{}, grpc.Header(&header))
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("second call: %v, want ResourceExhausted", err)
	}

	wantRefusalDetails(t, err)

	if header.Get("retry-after") == nil || header.Get("ratelimit-policy") == nil {
		t.Errorf("metadata = %v, want retry-after and ratelimit-policy", header)
	}
}

// wantRefusalDetails checks what the status says, read back as the
// domain error it carries (its ErrorInfo and RetryInfo): RATE_LIMITED
// under the rule default, 1/m, with a delay.
func wantRefusalDetails(t *testing.T, err error) {
	t.Helper()

	var de *errors.DomainError
	if !stderrors.As(errors.FromGRPC(err), &de) {
		t.Fatalf("%v carries no domain error", err)
	}

	if de.Code != errors.CodeRateLimited || de.Details["rule"] != "default" || de.Details["limit"] != "1/m:1" || de.RetryAfter <= 0 {
		t.Errorf("refusal = %+v, want RATE_LIMITED, rule default, limit 1/m:1, a positive retry delay", de)
	}
}

// Users have budgets of their own, apart from the anonymous callers of
// their IP address.
func TestCallersHaveTheirOwnBudgets(t *testing.T) {
	h := newHarness(t, routepolicy.Config{RateLimits: "default=1/m"})
	srv := h.serve(t, h.gateway(1))

	for _, who := range [][]string{{}, {mdUser, "alice", mdRole, "user"}, {mdUser, "bob", mdRole, "user"}} {
		if resp := get(t, srv.URL, who...); resp.Status != http.StatusOK {
			t.Errorf("first request of %q: status %d, want 200", who, resp.Status)
		}

		if resp := get(t, srv.URL, who...); resp.Status != http.StatusTooManyRequests {
			t.Errorf("second request of %q: status %d, want 429", who, resp.Status)
		}
	}
}

// Paths that are not gRPC methods are charged at the edge.
func TestEdgePathsAreChargedUpFront(t *testing.T) {
	h := newHarness(t, routepolicy.Config{RateLimits: "default=100/m,/graphql=1/m"})
	srv := h.serve(t, h.gateway(0), "/graphql")

	if resp := get(t, srv.URL+"/graphql"); resp.Status != http.StatusOK || resp.Header.Get("RateLimit") == "" {
		t.Errorf("first request: status %d, RateLimit %q; want 200 with the header", resp.Status, resp.Header.Get("RateLimit"))
	}

	if resp := get(t, srv.URL+"/graphql"); resp.Status != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("second request: status %d, Retry-After %q; want 429 with it", resp.Status, resp.Header.Get("Retry-After"))
	}

	// Other paths are not charged at the edge.
	for range 3 {
		if resp := get(t, srv.URL+"/other"); resp.Status != http.StatusOK {
			t.Errorf("uncharged path: status %d, want 200", resp.Status)
		}
	}
}

func TestRouteRoles(t *testing.T) {
	h := newHarness(t, routepolicy.Config{RouteRoles: "grpc.health.v1.Health/*=admin|support"})
	srv := h.serve(t, h.gateway(1))

	tests := []struct {
		who  []string
		want int
	}{
		{nil, http.StatusUnauthorized},
		{[]string{mdUser, "u1", mdRole, "user"}, http.StatusForbidden},
		{[]string{mdUser, "u2", mdRole, "admin"}, http.StatusOK},
		{[]string{mdUser, "u3", mdRole, "support"}, http.StatusOK},
	}
	for _, tt := range tests {
		if resp := get(t, srv.URL, tt.who...); resp.Status != tt.want {
			t.Errorf("caller %q: status %d, want %d", tt.who, resp.Status, tt.want)
		}
	}

	// Internal calls are not held to the routes' roles.
	if _, err := healthpb.NewHealthClient(h.channel).Check(t.Context(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Errorf("internal call: %v, want admitted", err)
	}

	if _, err := h.network.Check(t.Context(), &healthpb.HealthCheckRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("anonymous gRPC call: %v, want Unauthenticated", err)
	}
}

func rejected(t *testing.T, reader *sdkmetric.ManualReader, rule string) int64 {
	t.Helper()

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(t.Context(), &rm); err != nil {
		t.Fatalf("Collect: %v", err)
	}

	var n int64

	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			sum, ok := m.Data.(metricdata.Sum[int64])
			if !ok || m.Name != "ratelimit.rejected" {
				continue
			}

			for _, dp := range sum.DataPoints {
				if v, _ := dp.Attributes.Value("rule"); v.AsString() == rule {
					n += dp.Value
				}
			}
		}
	}

	return n
}
