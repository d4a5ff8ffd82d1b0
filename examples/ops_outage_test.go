package examples

import (
	"context"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	ordersv1 "github.com/modulith/modulith/gen/go/orders/v1"
	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/pgtest"
)

// TestDatabaseOutageAnswersUnavailable cuts the database off behind a
// proxy: sign-in (request and complete), refresh, the profile and the
// orders answer 503 UNAVAILABLE over REST and Unavailable over gRPC, never
// 500 or Internal, so clients know to retry; once the database is back the
// same process serves them again.
func TestDatabaseOutageAnswersUnavailable(t *testing.T) {
	t.Parallel()

	db := pgtest.NewDatabase(t, migrationSources()...)
	proxy, dsn := pgtest.NewDatabaseProxy(t, db.DSN)
	s := runServer(t, harnessEnv(dsn))
	ada := signInEmail(t, s.server, "ada@example.com")

	proxy.Break()

	rest := map[string]func() response{
		"POST " + pathLoginRequest: func() response {
			return s.do(t, http.MethodPost, pathLoginRequest, map[string]string{"email": "bob@example.com"}, "")
		},
		"POST " + pathLoginComplete: func() response {
			return s.do(t, http.MethodPost, pathLoginComplete, map[string]string{"email": "bob@example.com", "code": "123456"}, "")
		},
		"POST " + pathRefresh: func() response { return refresh(t, s.server, ada.Refresh) },
		"GET " + pathProfile:  func() response { return s.do(t, http.MethodGet, pathProfile, nil, ada.Access) },
		"GET " + pathOrders:   func() response { return s.do(t, http.MethodGet, pathOrders, nil, ada.Access) },
	}
	for name, call := range rest {
		if r := call(); r.Status != http.StatusServiceUnavailable || r.JSON(t)["code"] != string(errors.CodeUnavailable) {
			t.Errorf("%s during the outage = %d %s, want 503 UNAVAILABLE", name, r.Status, r.Body)
		}
	}

	for name, err := range grpcCallsDuringOutage(t, s.server, ada) {
		if status.Code(err) != codes.Unavailable || !errors.HasCode(errors.FromGRPC(err), errors.CodeUnavailable) {
			t.Errorf("gRPC %s during the outage = %v, want Unavailable [UNAVAILABLE]", name, err)
		}
	}

	proxy.Restore()

	if r := s.pollReadyz(t, http.StatusOK); r.Status != http.StatusOK {
		t.Fatalf("GET /readyz after the outage = %d %s, want 200 within %v", r.Status, r.Body, outageWait)
	}

	back := signInEmail(t, s.server, "bob@example.com")
	s.do(t, http.MethodGet, pathProfile, nil, back.Access).wantOK(t)
	s.do(t, http.MethodGet, pathOrders, nil, ada.Access).wantOK(t)
	refresh(t, s.server, ada.Refresh).wantOK(t)
}

// grpcCallsDuringOutage makes the calls of the outage test over gRPC and
// returns their errors by method.
func grpcCallsDuringOutage(t *testing.T, s *server, u signedIn) map[string]error {
	t.Helper()

	conn, err := grpc.NewClient(s.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = conn.Close() })

	auth, orders := authv1.NewAuthServiceClient(conn), ordersv1.NewOrderServiceClient(conn)
	ctx, authed := context.Background(), withBearer(context.Background(), u.Access)
	errs := make(map[string]error)

	_, errs["RequestLogin"] = auth.RequestLogin(ctx, &authv1.RequestLoginRequest{
		Identity: &authv1.RequestLoginRequest_Email{Email: "bob@example.com"},
	})
	_, errs["CompleteLogin"] = auth.CompleteLogin(ctx, &authv1.CompleteLoginRequest{
		Identity: &authv1.CompleteLoginRequest_Email{Email: "bob@example.com"}, Code: "123456",
	})
	_, errs["RefreshToken"] = auth.RefreshToken(ctx, &authv1.RefreshTokenRequest{RefreshToken: u.Refresh})
	_, errs["GetProfile"] = auth.GetProfile(authed, &authv1.GetProfileRequest{})
	_, errs["ListOrders"] = orders.ListOrders(authed, &ordersv1.ListOrdersRequest{})

	return errs
}

// TestGRPCHealthFollowsReadiness: grpc.health.v1 answers for the server
// ("") and for each service (auth.v1.AuthService…) what /readyz answers:
// NOT_SERVING while the database is cut off, SERVING once it is back, and
// a Watch stream sees both changes.
func TestGRPCHealthFollowsReadiness(t *testing.T) {
	t.Parallel()

	db := pgtest.NewDatabase(t, migrationSources()...)
	proxy, dsn := pgtest.NewDatabaseProxy(t, db.DSN)
	s := runServer(t, harnessEnv(dsn))

	conn, err := grpc.NewClient(s.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = conn.Close() })

	client := healthpb.NewHealthClient(conn)
	services := []string{"", "auth.v1.AuthService", "orders.v1.OrderService"}

	watchCtx, cancel := context.WithTimeout(t.Context(), 3*outageWait)
	defer cancel()

	watch, err := client.Watch(watchCtx, &healthpb.HealthCheckRequest{Service: ""})
	if err != nil {
		t.Fatal(err)
	}

	awaitHealth(t, client, services, healthpb.HealthCheckResponse_SERVING)
	awaitWatched(t, watch, healthpb.HealthCheckResponse_SERVING)

	proxy.Break()
	awaitHealth(t, client, services, healthpb.HealthCheckResponse_NOT_SERVING)
	awaitWatched(t, watch, healthpb.HealthCheckResponse_NOT_SERVING)

	proxy.Restore()
	awaitHealth(t, client, services, healthpb.HealthCheckResponse_SERVING)
	awaitWatched(t, watch, healthpb.HealthCheckResponse_SERVING)
}

// awaitHealth polls Check for each service until it reports want, for up
// to outageWait.
func awaitHealth(t *testing.T, client healthpb.HealthClient, services []string, want healthpb.HealthCheckResponse_ServingStatus) {
	t.Helper()

	deadline := time.Now().Add(outageWait)

	for _, service := range services {
		for {
			resp, err := client.Check(t.Context(), &healthpb.HealthCheckRequest{Service: service})
			if err == nil && resp.GetStatus() == want {
				break
			}

			if time.Now().After(deadline) {
				t.Fatalf("Check(%q) = %v, %v; want %v within %v", service, resp.GetStatus(), err, want, outageWait)
			}

			time.Sleep(100 * time.Millisecond)
		}
	}
}

// awaitWatched reads a Watch stream until it reports want.
func awaitWatched(t *testing.T, watch healthpb.Health_WatchClient, want healthpb.HealthCheckResponse_ServingStatus) {
	t.Helper()

	for {
		resp, err := watch.Recv()
		if err != nil {
			t.Fatalf("Watch: %v, want a %v update", err, want)
		}

		if resp.GetStatus() == want {
			return
		}
	}
}
