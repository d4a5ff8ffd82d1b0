package examples

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	ordersv1 "github.com/modulith/modulith/gen/go/orders/v1"
	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/pgtest"
	"github.com/modulith/modulith/internal/redistest"
)

// TestRateLimitIsSharedByRESTGRPCAndGraphQL spends one user's budget of
// GetProfile (3 a minute) over the three transports, one request each
// charged once, and finds the fourth refused on every one of them.
func TestRateLimitIsSharedByRESTGRPCAndGraphQL(t *testing.T) {
	t.Parallel()

	s := startServer(t, map[string]string{"RATE_LIMITS": "default=1000/s,auth.v1.AuthService/GetProfile=3/m"})
	tok := s.login(t, "ada@example.com")
	client := s.authClient(t)

	// REST, then gRPC: the first and second of three.
	spendProfileOverRESTAndGRPC(t, s, tok, client)

	// GraphQL: the third (me calls GetProfile once).
	if me := s.graphQL(t, tok.Access, `{ me { id } }`, nil).data(t); me["me"] == nil {
		t.Fatalf("GraphQL me = %v", me)
	}

	// The budget is spent, whatever the transport.
	r := s.do(t, http.MethodGet, profilePath, nil, tok.Access)
	r.wantError(t, http.StatusTooManyRequests, errors.CodeRateLimited)

	if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 20 {
		t.Errorf("Retry-After = %q, want 1..20 s (a token every 20 s)", r.Header.Get("Retry-After"))
	}

	if got := r.Header.Get("RateLimit"); !strings.HasPrefix(got, `"auth.v1.AuthService/GetProfile";r=0;`) {
		t.Errorf("429 RateLimit = %q, want the rule with 0 remaining", got)
	}

	_, err := client.GetProfile(withBearer(t.Context(), tok.Access), &authv1.GetProfileRequest{})
	if de := wantGRPCError(t, err, codes.ResourceExhausted, errors.CodeRateLimited); de.RetryAfter <= 0 {
		t.Errorf("gRPC refusal retry delay = %s, want positive", de.RetryAfter)
	}

	s.graphQL(t, tok.Access, `{ me { id } }`, nil).wantCode(t, string(errors.CodeRateLimited))

	// Another user has a budget of their own.
	other := s.login(t, "grace@example.com")
	s.do(t, http.MethodGet, profilePath, nil, other.Access).wantOK(t)
}

// spendProfileOverRESTAndGRPC gets the profile over REST, then over gRPC,
// checking the RateLimit headers count down from 2 to 1.
func spendProfileOverRESTAndGRPC(t *testing.T, s *server, tok tokens, client authv1.AuthServiceClient) {
	t.Helper()

	r := s.do(t, http.MethodGet, profilePath, nil, tok.Access)
	r.wantOK(t)

	if got := r.Header.Get("RateLimit"); !strings.HasPrefix(got, `"auth.v1.AuthService/GetProfile";r=2;`) {
		t.Errorf("REST RateLimit = %q, want the rule with 2 remaining", got)
	}

	if got := r.Header.Get("RateLimit-Policy"); got != `"auth.v1.AuthService/GetProfile";q=3;w=60` {
		t.Errorf("REST RateLimit-Policy = %q, want q=3;w=60", got)
	}

	var header metadata.MD
	if _, err := client.GetProfile(withBearer(t.Context(), tok.Access), &authv1.GetProfileRequest{}, grpc.Header(&header)); err != nil {
		t.Fatalf("gRPC GetProfile: %v", err)
	}

	if got := header.Get("ratelimit"); len(got) != 1 || !strings.HasPrefix(got[0], `"auth.v1.AuthService/GetProfile";r=1;`) {
		t.Errorf("gRPC ratelimit metadata = %q, want the rule with 1 remaining", got)
	}
}

// TestRouteRolesRefuseUsersAndAdmitAdmins requires the admin role of the
// orders API, over REST, gRPC and GraphQL, on top of the module's own
// checks.
func TestRouteRolesRefuseUsersAndAdmitAdmins(t *testing.T) {
	t.Parallel()

	s := startServer(t, map[string]string{"ROUTE_ROLES": "orders.v1.OrderService/*=admin"})
	user := s.login(t, "user@example.com")
	admin := s.login(t, "admin@example.com")

	// The session check reads the user's current role on every request.
	if _, err := s.DB.Pool.Exec(t.Context(), `UPDATE auth.users SET role = 'admin' WHERE email = 'admin@example.com'`); err != nil {
		t.Fatalf("make admin@example.com an admin: %v", err)
	}

	s.do(t, http.MethodGet, "/v1/orders", nil, user.Access).wantError(t, http.StatusForbidden, errors.CodeForbidden)
	s.do(t, http.MethodGet, "/v1/orders", nil, "").wantError(t, http.StatusUnauthorized, errors.CodeAuthRequired)
	s.do(t, http.MethodGet, "/v1/orders", nil, admin.Access).wantOK(t)

	conn, err := grpc.NewClient(s.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = conn.Close() })

	orders := ordersv1.NewOrderServiceClient(conn)

	_, err = orders.ListOrders(withBearer(t.Context(), user.Access), &ordersv1.ListOrdersRequest{})
	wantGRPCError(t, err, codes.PermissionDenied, errors.CodeForbidden)

	if _, err := orders.ListOrders(withBearer(t.Context(), admin.Access), &ordersv1.ListOrdersRequest{}); err != nil {
		t.Errorf("admin ListOrders over gRPC: %v", err)
	}

	const list = `{ orders(first: 1) { edges { node { id } } } }`

	s.graphQL(t, user.Access, list, nil).wantCode(t, string(errors.CodeForbidden))
	s.graphQL(t, admin.Access, list, nil).data(t)

	// Routes without a rule keep their own checks only.
	s.do(t, http.MethodGet, profilePath, nil, user.Access).wantOK(t)
}

// TestETagRoundTrip gets the profile, then gets it again naming its ETag:
// 304 with no body, until it changes.
func TestETagRoundTrip(t *testing.T) {
	t.Parallel()

	s := startServer(t, nil)
	tok := s.login(t, "ada@example.com")

	first := s.do(t, http.MethodGet, profilePath, nil, tok.Access)
	first.wantOK(t)

	tag := first.Header.Get("ETag")
	if !strings.HasPrefix(tag, `"`) {
		t.Fatalf("ETag = %q, want a strong tag", tag)
	}

	if cc, vary := first.Header.Get("Cache-Control"), strings.Join(first.Header.Values("Vary"), ", "); cc != "private, no-cache" || !strings.Contains(vary, "Authorization") {
		t.Errorf("Cache-Control %q, Vary %q; want private, no-cache and Authorization", cc, vary)
	}

	conditional := func() response {
		r, err := s.raw(t.Context(), http.MethodGet, profilePath, nil,
			http.Header{"Authorization": {"Bearer " + tok.Access}, "If-None-Match": {tag}})
		if err != nil {
			t.Fatal(err)
		}

		return r
	}

	if r := conditional(); r.Status != http.StatusNotModified || len(r.Body) != 0 || r.Header.Get("ETag") != tag {
		t.Errorf("conditional GET = %d %q, ETag %q; want 304, no body, %s", r.Status, r.Body, r.Header.Get("ETag"), tag)
	}

	s.do(t, http.MethodPatch, profilePath, map[string]any{"display_name": "Ada"}, tok.Access).wantOK(t)

	if r := conditional(); r.Status != http.StatusOK || r.Header.Get("ETag") == tag {
		t.Errorf("conditional GET after a change = %d, ETag %q; want 200 with a new tag", r.Status, r.Header.Get("ETag"))
	}
}

// TestRateLimitIsSharedByReplicasThroughRedis runs two replicas on one
// Redis (RATE_LIMIT_URL): a client's budget of two sign-in requests a
// minute is spent across both, so each refuses the third.
func TestRateLimitIsSharedByReplicasThroughRedis(t *testing.T) {
	t.Parallel()

	db := pgtest.NewDatabase(t, migrationSources()...)
	env := envWith(harnessEnv(db.DSN),
		"RATE_LIMITS", "default=1000/s,auth.v1.AuthService/RequestLogin=2/m",
		"RATE_LIMIT_URL", redistest.URL(t),
		// The keys of this test's replicas, apart from every other's.
		"SERVICE_NAME", strings.ReplaceAll(strings.TrimSuffix(redistest.Prefix(t), ":"), ":", "-"))
	a, b := runServer(t, env), runServer(t, env)

	body := map[string]string{"email": "shared@example.com"}
	a.post(t, pathLoginRequest, body, nil).wantOK(t)
	b.post(t, pathLoginRequest, body, nil).wantOK(t)

	for name, s := range map[string]*opsServer{"a": a, "b": b} {
		r := s.post(t, pathLoginRequest, body, nil)
		if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
			t.Errorf("replica %s, third request = %d (Retry-After %q), want 429 with Retry-After", name, r.Status, r.Header.Get("Retry-After"))
		}
	}
}
