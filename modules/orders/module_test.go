package orders_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/testing/protocmp"

	ordersv1 "github.com/modulith/modulith/gen/go/orders/v1"
	"github.com/modulith/modulith/internal/authz"
	"github.com/modulith/modulith/internal/bustest"
	"github.com/modulith/modulith/internal/ids"
	"github.com/modulith/modulith/internal/moduletest"
	"github.com/modulith/modulith/internal/pgtest"
	"github.com/modulith/modulith/internal/registry"
	"github.com/modulith/modulith/modules"
	orderevents "github.com/modulith/modulith/modules/orders/events"
)

// customerEmail is the address of the user who places the orders.
const customerEmail = "ada@example.com"

// TestPlaceOrder places an order over REST and over gRPC as a server runs
// the module: with the auth module in process, which checks the caller's
// session and answers orders' GetProfile, and a running bus that delivers
// order.created with the order and where to confirm it.
func TestPlaceOrder(t *testing.T) {
	t.Parallel()

	all := modules.All() // auth runs in process, as in the monolith
	db := pgtest.NewDatabase(t, registry.MigrationSources(all)...)
	p := moduletest.Start(t, db.Pool, all, moduletest.Options{Collect: []string{orderevents.OrderCreated{}.EventName()}})
	userID, sessionID := signUp(t, db.Pool)
	token := p.Token(t, userID, sessionID, authz.RoleUser)

	tests := []struct {
		name  string
		place func(t *testing.T) *ordersv1.Order
	}{
		{name: "REST", place: func(t *testing.T) *ordersv1.Order { return placeREST(t, p.REST, token) }},
		{name: "gRPC", place: func(t *testing.T) *ordersv1.Order {
			resp, err := ordersv1.NewOrderServiceClient(p.Conn).CreateOrder(moduletest.As(t.Context(), token), &ordersv1.CreateOrderRequest{
				Currency: "EUR", Items: []*ordersv1.OrderItem{{Sku: "A-1", Quantity: 2, UnitPriceMinor: 150}, {Sku: "B-2", Quantity: 3, UnitPriceMinor: 1000}},
			})
			if err != nil {
				t.Fatalf("CreateOrder() = %v", err)
			}

			return resp.GetOrder()
		}},
	}

	for _, tt := range tests { // in turn: they share the collector
		t.Run(tt.name, func(t *testing.T) {
			got := tt.place(t)

			want := &ordersv1.Order{
				Id: got.GetId(), UserId: userID, Status: ordersv1.OrderStatus_ORDER_STATUS_PLACED, Currency: "EUR", TotalMinor: 3300,
				Items:      []*ordersv1.OrderItem{{Sku: "A-1", Quantity: 2, UnitPriceMinor: 150}, {Sku: "B-2", Quantity: 3, UnitPriceMinor: 1000}},
				CreateTime: got.GetCreateTime(), UpdateTime: got.GetCreateTime(),
			}
			if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" || !ids.Valid(got.GetId(), "order") {
				t.Errorf("placed order (-want +got):\n%s", diff)
			}

			stored, err := ordersv1.NewOrderServiceClient(p.Conn).GetOrder(moduletest.As(t.Context(), token), &ordersv1.GetOrderRequest{OrderId: got.GetId()})
			if diff := cmp.Diff(want, stored.GetOrder(), protocmp.Transform()); err != nil || diff != "" {
				t.Errorf("GetOrder(%s) = %v (-placed +stored):\n%s", got.GetId(), err, diff)
			}

			wantEvent := orderevents.OrderCreated{
				OrderID: got.GetId(), UserID: userID, TotalMinor: 3300, Currency: "EUR", ItemCount: 2,
				Channel: "email", Destination: customerEmail,
			}

			e := bustest.Wait[orderevents.OrderCreated](t, p.Events, 15*time.Second)
			if diff := cmp.Diff(wantEvent, e.Payload); diff != "" {
				t.Errorf("order.created (-want +got):\n%s", diff)
			}
		})
	}
}

// signUp stores a user with an email address and a live session of theirs
// in auth's tables, as signing in would, and returns their IDs.
func signUp(t *testing.T, pool *pgxpool.Pool) (userID, sessionID string) {
	t.Helper()

	userID, err := ids.New("user")
	if err == nil {
		sessionID, err = ids.New("sess")
	}

	if err != nil {
		t.Fatalf("ids.New() = %v", err)
	}

	_, err = pool.Exec(t.Context(), `
		WITH u AS (INSERT INTO auth.users (id, email, created_at, updated_at) VALUES ($1, $3, now(), now()) RETURNING id)
		INSERT INTO auth.sessions (id, user_id, created_at, expires_at) SELECT $2, id, now(), now() + interval '1 hour' FROM u`,
		userID, sessionID, customerEmail)
	if err != nil {
		t.Fatalf("insert user and session: %v", err)
	}

	return userID, sessionID
}

// placeREST places the test order with POST /v1/orders, as a web client
// does, and returns the order answered.
func placeREST(t *testing.T, base, token string) *ordersv1.Order {
	t.Helper()

	body := `{"currency": "EUR", "items": [
		{"sku": "A-1", "quantity": 2, "unit_price_minor": 150},
		{"sku": "B-2", "quantity": 3, "unit_price_minor": "1000"}]}`

	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/v1/orders", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}

	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /v1/orders: %v", err)
	}
	defer resp.Body.Close()

	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /v1/orders = %d %s (%v), want 200", resp.StatusCode, b, err)
	}

	var out ordersv1.CreateOrderResponse
	if err := protojson.Unmarshal(b, &out); err != nil {
		t.Fatalf("POST /v1/orders answered %s: %v", b, err)
	}

	return out.GetOrder()
}
