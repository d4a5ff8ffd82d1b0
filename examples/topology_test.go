package examples

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/modulith/modulith/cmd/server/commands"
	ordersv1 "github.com/modulith/modulith/gen/go/orders/v1"
	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/pgtest"
	"github.com/modulith/modulith/modules"
)

const pathOrders = "/v1/orders"

// topology is where a user signs in and where they order: the server,
// whose gateway serves every module's REST routes, forwarding those of a
// module in another process to it, so that clients have one base URL.
type topology struct {
	login, app *server
}

// monolith is every module in one process.
func monolith(t *testing.T) topology {
	t.Helper()

	s := startServer(t, nil)

	return topology{login: s, app: s}
}

// authOverNetwork is the auth module served alone (as cmd/auth serves it)
// and the server without it: REMOTE_MODULES points the server's auth
// client, its session check and its gateway's auth routes at the auth
// service's gRPC port. Clients use the server only.
func authOverNetwork(t *testing.T) topology {
	t.Helper()

	split := startSplit(t)

	return topology{login: split.app.server, app: split.app.server}
}

// split is the auth service and the server that reaches it over the
// network.
type split struct {
	auth, app *opsServer
}

// startSplit starts the auth service and the server with
// REMOTE_MODULES=auth=…; they share the database (each owns its schemas)
// and their log lines, told apart by SERVICE_NAME (auth, app). Each
// trusts loopback as a proxy: the server its clients' X-Forwarded-For, the
// auth service the client IP and user agent the server's gateway forwards.
func startSplit(t *testing.T) split {
	t.Helper()

	db := pgtest.NewDatabase(t, migrationSources()...)
	logs := newLogs()
	env := envWith(harnessEnv(db.DSN), "TRUSTED_PROXIES", "127.0.0.1")

	authSrv := runProgram(t, commands.Service("auth", modules.All()), envWith(env, "SERVICE_NAME", "auth"), logs)
	app := runProgram(t, commands.Server(modules.All(), modules.GraphQL), envWith(env,
		"SERVICE_NAME", "app", "REMOTE_MODULES", "auth="+authSrv.GRPC), logs)

	return split{auth: authSrv, app: app}
}

// TestOrdersInBothTopologies runs one suite (sign-in, orders over REST
// and gRPC, events to the user's WebSocket, authorization, logout) with
// every module in one process, and with auth in a process of its own.
func TestOrdersInBothTopologies(t *testing.T) {
	for name, start := range map[string]func(*testing.T) topology{
		"monolith":          monolith,
		"auth-over-network": authOverNetwork,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ordersSuite(t, start(t))
		})
	}
}

func ordersSuite(t *testing.T, top topology) {
	ada := signInEmail(t, top.login, "ada@example.com")
	bob := signInEmail(t, top.login, "bob@example.com")
	socket := top.app.openSocket(t, ada.Access)
	top.app.awaitSocketStats(t, 1, 1)

	id := placeOverREST(t, top.app, ada, socket)

	// The notifier confirms it by email (the dev notifier logs it).
	if _, err := top.app.logs.wait(10*time.Second, func(l logLine) bool {
		return l.Msg() == "dev email (not sent)" && l.String("to") == ada.Email && l.String("subject") == "Order "+id+" placed"
	}); err != nil {
		t.Errorf("no order confirmation emailed to %s: %v", ada.Email, err)
	}

	// Ada sees it; to Bob it does not exist.
	top.app.do(t, http.MethodGet, pathOrders+"/"+id, nil, ada.Access).wantOK(t)
	top.app.do(t, http.MethodGet, pathOrders+"/"+id, nil, bob.Access).wantError(t, http.StatusNotFound, errors.CodeNotFound)
	top.app.do(t, http.MethodPost, pathOrders+"/"+id+"/cancel", map[string]any{}, bob.Access).wantError(t, http.StatusNotFound, errors.CodeNotFound)

	newest := placeOverGRPC(t, top.app, ada)
	checkPages(t, top.app, ada, newest, id)

	// Cancel once; twice is a conflict.
	cancelled := top.app.do(t, http.MethodPost, pathOrders+"/"+id+"/cancel", map[string]any{"reason": "changed my mind"}, ada.Access)
	cancelled.wantOK(t)

	if got := jsonString(cancelled.JSON(t), "order", "status"); got != "ORDER_STATUS_CANCELLED" {
		t.Errorf("status after cancel = %q", got)
	}

	awaitEvent(t, socket, "order.cancelled", func(d map[string]any) bool { return d["order_id"] == id })
	top.app.do(t, http.MethodPost, pathOrders+"/"+id+"/cancel", map[string]any{}, ada.Access).wantError(t, http.StatusConflict, errors.CodeConflict)

	// Bad input names the field; no token is refused.
	bad := top.app.do(t, http.MethodPost, pathOrders, map[string]any{"currency": "EUR", "items": []any{}}, ada.Access)
	if details := bad.wantError(t, http.StatusBadRequest, errors.CodeValidationFailed); !slices.Contains(fieldsOf(details), "items") {
		t.Errorf("400 does not name the field items: %v", details)
	}

	top.app.do(t, http.MethodGet, pathOrders, nil, "").wantError(t, http.StatusUnauthorized, errors.CodeAuthRequired)

	// Logging out ends the session at once (at the auth service, through
	// the server's gateway, when auth runs elsewhere).
	top.login.do(t, http.MethodPost, pathLogout, map[string]any{}, ada.Access).wantOK(t)
	top.app.do(t, http.MethodGet, pathOrders, nil, ada.Access).wantError(t, http.StatusUnauthorized, errors.CodeAuthTokenInvalid)
}

// placeOverREST places an order for u over REST, checks it, and waits for
// order.created on u's socket; it returns the order's ID.
func placeOverREST(t *testing.T, app *server, u signedIn, socket *websocket.Conn) string {
	t.Helper()

	r := app.do(t, http.MethodPost, pathOrders, map[string]any{
		"currency": "EUR",
		"items":    []map[string]any{{"sku": "book-1", "quantity": 2, "unit_price_minor": 1250}, {"sku": "pen", "quantity": 1, "unit_price_minor": 199}},
	}, u.Access)
	r.wantOK(t)

	order := r.JSON(t)
	id := jsonString(order, "order", "id")

	if got := jsonString(order, "order", "status"); got != "ORDER_STATUS_PLACED" {
		t.Errorf("status = %q, want ORDER_STATUS_PLACED", got)
	}

	if got := jsonString(order, "order", "total_minor"); got != "2699" {
		t.Errorf("total_minor = %q, want 2699 (2×1250 + 199)", got)
	}

	awaitEvent(t, socket, "order.created", func(d map[string]any) bool { return d["order_id"] == id && d["user_id"] == u.UserID })

	return id
}

// placeOverGRPC places an order for u over gRPC with u's token and returns
// its ID.
func placeOverGRPC(t *testing.T, app *server, u signedIn) string {
	t.Helper()

	conn, err := grpc.NewClient(app.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = conn.Close() })

	created, err := ordersv1.NewOrderServiceClient(conn).CreateOrder(withBearer(t.Context(), u.Access), &ordersv1.CreateOrderRequest{
		Currency: "EUR", Items: []*ordersv1.OrderItem{{Sku: "lamp", Quantity: 1, UnitPriceMinor: 4900}},
	})
	noError(t, "CreateOrder", err)

	return created.GetOrder().GetId()
}

// checkPages lists u's two orders a page of one at a time, newest first.
func checkPages(t *testing.T, app *server, u signedIn, newest, oldest string) {
	t.Helper()

	page1 := app.do(t, http.MethodGet, pathOrders+"?page_size=1", nil, u.Access)
	page1.wantOK(t)

	if got := firstOrderID(page1.JSON(t)); got != newest {
		t.Errorf("first page holds %s, want the newest order %s", got, newest)
	}

	page2 := app.do(t, http.MethodGet, pathOrders+"?page_size=1&page_token="+jsonString(page1.JSON(t), "next_page_token"), nil, u.Access)
	page2.wantOK(t)

	if got := firstOrderID(page2.JSON(t)); got != oldest {
		t.Errorf("second page holds %s, want %s", got, oldest)
	}

	if next := jsonString(page2.JSON(t), "next_page_token"); next != "" {
		t.Errorf("second page has next_page_token %q, want none (two orders)", next)
	}

	app.do(t, http.MethodGet, pathOrders+"?page_token=bm90LWFuLWlk", nil, u.Access).wantError(t, http.StatusBadRequest, errors.CodeValidationFailed)
}

// firstOrderID is the ID of the first order of a ListOrders page.
func firstOrderID(page map[string]any) string {
	list, _ := page["orders"].([]any)
	if len(list) == 0 {
		return ""
	}

	first, _ := list[0].(map[string]any)

	return jsonString(first, "id")
}

// TestSplitTopologyOneBaseURL signs in through the server's REST base URL
// alone while auth runs in its own process: every auth route is forwarded
// over gRPC, errors keep their status and code (400 naming the field, 401,
// 429 with Retry-After, 503 when the auth service is gone), the client's
// IP address and user agent reach the auth service, and the dev code is
// in the auth service's log, as the README says.
func TestSplitTopologyOneBaseURL(t *testing.T) {
	t.Parallel()

	sp := startSplit(t)
	app := sp.app.server
	device := http.Header{"User-Agent": {"split/1.0"}, "X-Forwarded-For": {"203.0.113.7"}}

	access, refreshToken := signInThroughServer(t, app, device)

	if got := jsonString(app.do(t, http.MethodGet, pathProfile, nil, access).JSON(t), "user", "email"); got != "ada@example.com" {
		t.Errorf("GET %s email = %q, want ada@example.com", pathProfile, got)
	}

	// The auth service saw the client, not the server.
	if got := listSessions(t, app, access); len(got) != 1 || got[0].IPAddress != "203.0.113.7" || got[0].UserAgent != "split/1.0" {
		t.Errorf("sessions = %+v, want one from 203.0.113.7 with user agent split/1.0", got)
	}

	patch := app.do(t, http.MethodPatch, pathProfile, map[string]string{"display_name": strings.Repeat("a", 500)}, access)
	if details := patch.wantError(t, http.StatusBadRequest, errors.CodeValidationFailed); !slices.Contains(fieldsOf(details), "display_name") {
		t.Errorf("400 does not name the field display_name: %v", details)
	}

	app.do(t, http.MethodGet, pathProfile, nil, "").wantError(t, http.StatusUnauthorized, errors.CodeAuthRequired)

	rotated := refresh(t, app, refreshToken)
	rotated.wantOK(t)

	access = jsonString(rotated.JSON(t), "tokens", "access_token")
	app.do(t, http.MethodGet, pathProfile, nil, access).wantOK(t)
	app.do(t, http.MethodPost, pathLogout, map[string]any{}, access).wantOK(t)
	app.do(t, http.MethodGet, pathProfile, nil, access).wantError(t, http.StatusUnauthorized, errors.CodeAuthTokenInvalid)

	limited := requestUntilLimited(t, app, "bob@example.com", device)
	if limited.Header.Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After: %v", limited.Header)
	}

	if err := sp.auth.Stop(); err != nil {
		t.Errorf("auth service stopped with error: %v", err)
	}

	app.post(t, pathLoginRequest, map[string]string{"email": "carol@example.com"}, device).
		wantError(t, http.StatusServiceUnavailable, errors.CodeUnavailable)
}

// signInThroughServer signs ada@example.com in through app, from device,
// checking the errors on the way and where the code was logged; it returns
// the access and refresh tokens.
func signInThroughServer(t *testing.T, app *server, device http.Header) (access, refreshToken string) {
	t.Helper()

	bad := app.post(t, pathLoginRequest, map[string]string{"email": "not-an-address"}, device)
	if details := bad.wantError(t, http.StatusBadRequest, errors.CodeValidationFailed); !slices.Contains(fieldsOf(details), "email") {
		t.Errorf("400 does not name the field email: %v", details)
	}

	app.post(t, pathLoginRequest, map[string]string{"email": "ada@example.com"}, device).wantOK(t)

	// The auth service runs auth's event handlers, so it sends the code:
	// with the log notifier, in its own log (SERVICE_NAME auth).
	line, err := app.logs.wait(10*time.Second, func(l logLine) bool { return sentCode(l, "ada@example.com") != "" })
	if err != nil {
		t.Fatalf("no code logged for ada@example.com: %v", err)
	}

	if got := line.String("service"); got != "auth" {
		t.Errorf("the code was logged by service %q, want the auth service (auth)", got)
	}

	app.post(t, pathLoginComplete, map[string]string{"email": "ada@example.com", "code": "000000"}, device).
		wantError(t, http.StatusUnauthorized, errors.CodeAuthCodeInvalid)

	done := app.post(t, pathLoginComplete, map[string]string{"email": "ada@example.com", "code": sentCode(line, "ada@example.com")}, device)
	done.wantOK(t)

	return jsonString(done.JSON(t), "tokens", "access_token"), jsonString(done.JSON(t), "tokens", "refresh_token")
}

// requestUntilLimited asks for codes for email until the limit answers 429
// RATE_LIMITED, and returns that answer.
func requestUntilLimited(t *testing.T, s *server, email string, header http.Header) response {
	t.Helper()

	for range 30 {
		r := s.post(t, pathLoginRequest, map[string]string{"email": email}, header)
		if r.Status == http.StatusOK {
			continue
		}

		r.wantError(t, http.StatusTooManyRequests, errors.CodeRateLimited)

		return r
	}

	t.Fatalf("30 code requests for %s were never limited", email)

	return response{}
}
