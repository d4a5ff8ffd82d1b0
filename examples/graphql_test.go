package examples

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// gqlResponse is a GraphQL response: data, and errors with their
// extensions.
type gqlResponse struct {
	Data   map[string]any `json:"data"`
	Errors []gqlError     `json:"errors"`
}

type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// Code is the error's extensions.code.
func (e gqlError) Code() string { s, _ := e.Extensions["code"].(string); return s }

// graphQL posts a GraphQL operation, with the token when not empty.
func (s *server) graphQL(t *testing.T, token, query string, variables map[string]any) gqlResponse {
	t.Helper()

	return s.graphQLRequest(t, token, map[string]any{"query": query, "variables": variables})
}

// graphQLRequest posts a GraphQL request body as JSON.
func (s *server) graphQLRequest(t *testing.T, token string, body map[string]any) gqlResponse {
	t.Helper()

	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}

	header := http.Header{"Content-Type": {"application/json"}}
	if token != "" {
		header.Set("Authorization", "Bearer "+token)
	}

	r, err := s.raw(t.Context(), http.MethodPost, "/graphql", bytes.NewReader(b), header)
	if err != nil {
		t.Fatal(err)
	}

	var out gqlResponse
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatalf("POST /graphql: %d %q is not a GraphQL response: %v", r.Status, r.Body, err)
	}

	return out
}

// data returns the response's data, failing on errors.
func (r gqlResponse) data(t *testing.T) map[string]any {
	t.Helper()

	if len(r.Errors) > 0 {
		t.Fatalf("GraphQL errors: %+v", r.Errors)
	}

	return r.Data
}

// wantCode checks that the response failed with one error of code.
func (r gqlResponse) wantCode(t *testing.T, code string) gqlError {
	t.Helper()

	if len(r.Errors) != 1 || r.Errors[0].Code() != code {
		t.Fatalf("errors = %+v, want one with extensions.code %s", r.Errors, code)
	}

	return r.Errors[0]
}

// TestGraphQLQueriesAndMutations reads and writes both modules through
// /graphql: the profile and sessions of auth, and orders with a cursor
// connection, each field resolved by the module's gRPC API.
func TestGraphQLQueriesAndMutations(t *testing.T) {
	t.Parallel()

	s := startServer(t, nil)
	tok := s.login(t, "gql@example.com")

	me := s.graphQL(t, tok.Access, `{ me { id email phone displayName role } sessions { id current } }`, nil).data(t)
	if got := jsonString(me, "me", "email"); got != "gql@example.com" {
		t.Errorf("me.email = %q, want gql@example.com (%v)", got, me)
	}

	if me["me"].(map[string]any)["phone"] != nil {
		t.Errorf("me.phone = %v, want null for a user without a phone", me["me"])
	}

	sessions, _ := me["sessions"].([]any)
	if len(sessions) != 1 || sessions[0].(map[string]any)["current"] != true {
		t.Errorf("sessions = %v, want the current one", sessions)
	}

	updated := s.graphQL(t, tok.Access, `mutation($name: String) { updateProfile(input: {displayName: $name}) { displayName } }`,
		map[string]any{"name": "Ada"}).data(t)
	if got := jsonString(updated, "updateProfile", "displayName"); got != "Ada" {
		t.Errorf("updateProfile.displayName = %q, want Ada", got)
	}

	graphQLOrders(t, s, tok)

	revoked := s.graphQL(t, tok.Access, `mutation($id: ID!) { revokeSession(id: $id) }`,
		map[string]any{"id": sessions[0].(map[string]any)["id"]}).data(t)
	if revoked["revokeSession"] != true {
		t.Errorf("revokeSession = %v, want true", revoked)
	}

	s.graphQL(t, tok.Access, `{ me { id } }`, nil).wantCode(t, "AUTH_TOKEN_INVALID")
}

// graphQLOrders places, pages through and cancels orders over GraphQL.
func graphQLOrders(t *testing.T, s *server, tok tokens) {
	t.Helper()

	ids := placeOrders(t, s, tok, 3)
	pageOrders(t, s, tok, ids)
	cancelOrder(t, s, tok, ids[0])
	graphQLOverGET(t, s, tok)
}

// placeOrders places n orders over GraphQL and returns their IDs.
func placeOrders(t *testing.T, s *server, tok tokens, n int) []string {
	t.Helper()

	ids := make([]string, 0, n)

	for i := range n {
		created := s.graphQL(t, tok.Access, `mutation($in: CreateOrderInput!) { createOrder(input: $in) { id status totalMinor currency items { sku quantity } } }`,
			map[string]any{"in": map[string]any{"currency": "EUR", "items": []any{
				map[string]any{"sku": fmt.Sprintf("sku-%d", i), "quantity": 2, "unitPriceMinor": 150},
			}}}).data(t)

		order, _ := created["createOrder"].(map[string]any)
		if order["status"] != "PLACED" || order["totalMinor"] != float64(300) {
			t.Fatalf("createOrder = %v, want PLACED with totalMinor 300", order)
		}

		ids = append(ids, order["id"].(string))
	}

	return ids
}

// pageOrders pages through three orders, two at a time, newest first.
func pageOrders(t *testing.T, s *server, tok tokens, ids []string) {
	t.Helper()

	const page = `query($after: String) { orders(first: 2, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }`

	first := s.graphQL(t, tok.Access, page, nil).data(t)
	edges, info := connection(t, first["orders"])

	if len(edges) != 2 || edges[0] != ids[2] || edges[1] != ids[1] || info["hasNextPage"] != true {
		t.Fatalf("first page = %v %v, want %v then %v, with a next page", edges, info, ids[2], ids[1])
	}

	second := s.graphQL(t, tok.Access, page, map[string]any{"after": info["endCursor"]}).data(t)
	edges, info = connection(t, second["orders"])

	if len(edges) != 1 || edges[0] != ids[0] || info["hasNextPage"] != false {
		t.Fatalf("second page = %v %v, want only %v and no next page", edges, info, ids[0])
	}
}

// cancelOrder cancels an order over GraphQL and reads it back over
// GraphQL and REST.
func cancelOrder(t *testing.T, s *server, tok tokens, id string) {
	t.Helper()

	cancelled := s.graphQL(t, tok.Access, `mutation($id: ID!) { cancelOrder(id: $id, reason: "changed my mind") { status cancelReason } }`,
		map[string]any{"id": id}).data(t)
	if jsonString(cancelled, "cancelOrder", "status") != "CANCELLED" || jsonString(cancelled, "cancelOrder", "cancelReason") != "changed my mind" {
		t.Errorf("cancelOrder = %v, want CANCELLED with its reason", cancelled)
	}

	got := s.graphQL(t, tok.Access, `query($id: ID!) { order(id: $id) { id status } }`, map[string]any{"id": id}).data(t)
	if jsonString(got, "order", "status") != "CANCELLED" {
		t.Errorf("order = %v, want the cancelled order", got)
	}

	// The same data over REST: GraphQL is another door to the same API.
	if r := s.do(t, http.MethodGet, "/v1/orders/"+id, nil, tok.Access); jsonString(r.JSON(t), "order", "status") != "ORDER_STATUS_CANCELLED" {
		t.Errorf("GET /v1/orders/%s = %s, want the order cancelled through GraphQL", id, r.Body)
	}
}

// graphQLOverGET runs a query with GET, and refuses a mutation.
func graphQLOverGET(t *testing.T, s *server, tok tokens) {
	t.Helper()

	q := url.Values{"query": {`{ me { email } }`}}
	if r := s.do(t, http.MethodGet, "/graphql?"+q.Encode(), nil, tok.Access); r.Status != http.StatusOK || !strings.Contains(string(r.Body), "gql@example.com") {
		t.Errorf("GET /graphql query = %d %s, want the profile", r.Status, r.Body)
	}

	q = url.Values{"query": {`mutation { revokeSession(id: "x") }`}}
	if r := s.do(t, http.MethodGet, "/graphql?"+q.Encode(), nil, tok.Access); r.Status == http.StatusOK && !strings.Contains(string(r.Body), "errors") {
		t.Errorf("GET /graphql mutation = %d %s, want it refused", r.Status, r.Body)
	}
}

// connection returns the node IDs and page info of a connection.
func connection(t *testing.T, v any) ([]string, map[string]any) {
	t.Helper()

	conn, _ := v.(map[string]any)
	edges, _ := conn["edges"].([]any)
	info, _ := conn["pageInfo"].(map[string]any)

	ids := make([]string, 0, len(edges))

	for _, e := range edges {
		edge, _ := e.(map[string]any)
		node, _ := edge["node"].(map[string]any)
		id, _ := node["id"].(string)

		if cursor, _ := edge["cursor"].(string); cursor == "" {
			t.Errorf("edge %v has no cursor", edge)
		}

		ids = append(ids, id)
	}

	return ids, info
}

// TestGraphQLErrors shows the errors a client gets, each with its code in
// extensions.code: the module's domain errors (those of REST and gRPC),
// and the endpoint's own limits.
func TestGraphQLErrors(t *testing.T) {
	t.Parallel()

	s := startServer(t, map[string]string{"GRAPHQL_MAX_DEPTH": "4", "GRAPHQL_MAX_COMPLEXITY": "12"})
	tok := s.login(t, "gql-errors@example.com")

	s.graphQL(t, "", `{ me { id } }`, nil).wantCode(t, "AUTH_REQUIRED")

	invalid := s.graphQL(t, tok.Access, `mutation { createOrder(input: {currency: "eur", items: []}) { id } }`, nil).wantCode(t, "VALIDATION_FAILED")
	if got := fmt.Sprint(invalid.Extensions["details"]); !strings.Contains(got, "currency") || !strings.Contains(got, "items") {
		t.Errorf("VALIDATION_FAILED details = %s, want the fields currency and items", got)
	}

	if invalid.Path == nil {
		t.Errorf("error %+v has no path", invalid)
	}

	s.graphQL(t, tok.Access, `{ order(id: "order_01h455vb4pex5vsknk084sn02q") { id } }`, nil).wantCode(t, "NOT_FOUND")
	s.graphQL(t, tok.Access, `{ nope }`, nil).wantCode(t, "GRAPHQL_VALIDATION_FAILED")
	s.graphQL(t, tok.Access, `{ me { id `, nil).wantCode(t, "GRAPHQL_PARSE_FAILED")
	s.graphQL(t, tok.Access, `{ orders { edges { node { items { sku } } } } }`, nil).wantCode(t, "DEPTH_LIMIT_EXCEEDED")
	s.graphQL(t, tok.Access, `{ me { id email phone displayName role createTime updateTime } sessions { id createTime expireTime userAgent } }`, nil).
		wantCode(t, "COMPLEXITY_LIMIT_EXCEEDED")

	// Dev answers introspection (the playground needs it); prod does not.
	if r := s.graphQL(t, tok.Access, `{ __schema { queryType { name } } }`, nil); len(r.Errors) > 0 {
		t.Errorf("introspection in dev: %+v", r.Errors)
	}
}

// browse GETs path as a browser does (Accept: text/html).
func (s *server) browse(t *testing.T, path string) response {
	t.Helper()

	r, err := s.raw(t.Context(), http.MethodGet, path, nil, http.Header{"Accept": {"text/html,application/xhtml+xml"}})
	if err != nil {
		t.Fatal(err)
	}

	return r
}

// TestGraphiQLInDev opens /graphql in a browser in dev: GraphiQL, from the
// binary, under the platform's Content-Security-Policy.
func TestGraphiQLInDev(t *testing.T) {
	t.Parallel()

	s := startServer(t, nil)

	page := s.browse(t, "/graphql")
	if page.Status != http.StatusOK || !strings.Contains(string(page.Body), "graphiql") {
		t.Fatalf("GET /graphql from a browser = %d %.200s, want GraphiQL", page.Status, page.Body)
	}

	if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("Content-Security-Policy = %q, want scripts from this origin only", csp)
	}

	// Every script and stylesheet the page names is served by the binary.
	for _, m := range regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(string(page.Body), -1) {
		if !strings.HasPrefix(m[1], "/") {
			t.Errorf("the page loads %s from elsewhere", m[1])

			continue
		}

		if r := s.do(t, http.MethodGet, m[1], nil, ""); r.Status != http.StatusOK {
			t.Errorf("GET %s = %d", m[1], r.Status)
		}
	}

	// A GET that is a query still reaches the API.
	q := url.Values{"query": {`{ __typename }`}}
	if r := s.do(t, http.MethodGet, "/graphql?"+q.Encode(), nil, ""); !strings.Contains(string(r.Body), `"Query"`) {
		t.Errorf("GET /graphql?query= = %d %s", r.Status, r.Body)
	}
}

// TestGraphQLProdLimits runs a server as prod would: no introspection, no
// playground, and only the operations of an allow-list, which a client
// may send by hash alone.
func TestGraphQLProdLimits(t *testing.T) {
	t.Parallel()

	const allowed = `{ me { email } }`

	list := filepath.Join(t.TempDir(), "operations.json")
	if err := os.WriteFile(list, []byte(fmt.Sprintf("[%q]", allowed)), 0o600); err != nil {
		t.Fatal(err)
	}

	s := startServer(t, map[string]string{
		"GRAPHQL_ALLOWLIST": list, "GRAPHQL_INTROSPECTION": "false", "GRAPHQL_PLAYGROUND": "false",
	})
	tok := s.login(t, "gql-prod@example.com")

	if got := jsonString(s.graphQL(t, tok.Access, allowed, nil).data(t), "me", "email"); got != "gql-prod@example.com" {
		t.Errorf("allowed query: me.email = %q", got)
	}

	sum := sha256.Sum256([]byte(allowed))
	byHash := s.graphQLRequest(t, tok.Access, map[string]any{
		"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(sum[:])}},
	}).data(t)

	if got := jsonString(byHash, "me", "email"); got != "gql-prod@example.com" {
		t.Errorf("allowed query by hash: me.email = %q", got)
	}

	s.graphQL(t, tok.Access, `{ me { id } }`, nil).wantCode(t, "PERSISTED_QUERY_NOT_FOUND")
	s.graphQL(t, tok.Access, `{ __schema { queryType { name } } }`, nil).wantCode(t, "PERSISTED_QUERY_NOT_FOUND")

	if r := s.browse(t, "/graphql"); strings.Contains(r.Header.Get("Content-Type"), "text/html") {
		t.Errorf("a browser's GET /graphql with GRAPHQL_PLAYGROUND=false = %d %s, want no playground", r.Status, r.Header.Get("Content-Type"))
	}
}

// gqlSocket is a graphql-transport-ws connection, the protocol of the
// graphql-ws library.
type gqlSocket struct {
	t    *testing.T
	conn *websocket.Conn
}

// gqlMessage is a graphql-transport-ws message.
type gqlMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// openGraphQLSocket connects to /graphql over WebSocket and sends
// connection_init with payload.
func (s *server) openGraphQLSocket(t *testing.T, payload map[string]any) *gqlSocket {
	t.Helper()

	u := strings.Replace(s.HTTP, "http://", "ws://", 1) + "/graphql"

	conn, resp, err := websocket.Dial(t.Context(), u, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if resp != nil && resp.Body != nil {
		defer resp.Body.Close()
	}

	if err != nil {
		t.Fatalf("dial %s: %v", u, err)
	}

	t.Cleanup(func() { _ = conn.CloseNow() })

	if got := conn.Subprotocol(); got != "graphql-transport-ws" {
		t.Fatalf("subprotocol = %q, want graphql-transport-ws", got)
	}

	sock := &gqlSocket{t: t, conn: conn}
	init, _ := json.Marshal(payload)
	sock.send(gqlMessage{Type: "connection_init", Payload: init})

	return sock
}

func (g *gqlSocket) send(m gqlMessage) {
	g.t.Helper()

	b, _ := json.Marshal(m)
	if err := g.conn.Write(g.t.Context(), websocket.MessageText, b); err != nil {
		g.t.Fatalf("write %s: %v", m.Type, err)
	}
}

// next reads the next message other than a ping or pong; an error is the
// socket's close.
func (g *gqlSocket) next() (gqlMessage, error) {
	ctx, cancel := context.WithTimeout(g.t.Context(), socketWait)
	defer cancel()

	for {
		_, b, err := g.conn.Read(ctx)
		if err != nil {
			return gqlMessage{}, err
		}

		var m gqlMessage
		if err := json.Unmarshal(b, &m); err != nil {
			g.t.Fatalf("message %q is not JSON: %v", b, err)
		}

		if m.Type == "ping" {
			g.send(gqlMessage{Type: "pong"})

			continue
		}

		if m.Type != "pong" {
			return m, nil
		}
	}
}

// want reads the next message and checks its type.
func (g *gqlSocket) want(typ string) gqlMessage {
	g.t.Helper()

	m, err := g.next()
	if err != nil {
		g.t.Fatalf("waiting for %s: %v", typ, err)
	}

	if m.Type != typ {
		g.t.Fatalf("got %s %s, want %s", m.Type, m.Payload, typ)
	}

	return m
}

// TestGraphQLSubscriptions subscribes over graphql-transport-ws: a
// connection needs a valid token, receives the user's own events as they
// happen (an order placed through REST, a profile changed through
// GraphQL), and closes when its session is revoked.
func TestGraphQLSubscriptions(t *testing.T) {
	t.Parallel()

	s := startServer(t, nil)
	tok := s.login(t, "gql-sub@example.com")
	other := s.login(t, "gql-sub-other@example.com")

	refused := s.openGraphQLSocket(t, map[string]any{"Authorization": "Bearer not-a-token"})
	if _, err := refused.next(); websocket.CloseStatus(err) != 4401 {
		t.Errorf("connection with a bad token ended with %v, want close code 4401", err)
	}

	sock := s.openGraphQLSocket(t, map[string]any{"Authorization": "Bearer " + tok.Access})
	sock.want("connection_ack")
	sock.send(gqlMessage{ID: "orders", Type: "subscribe", Payload: json.RawMessage(`{"query":"subscription { orderCreated { orderId totalMinor currency itemCount } }"}`)})
	sock.send(gqlMessage{ID: "profile", Type: "subscribe", Payload: json.RawMessage(`{"query":"subscription { profileUpdated { fields } }"}`)})

	// Subscriptions start when the server has read them; give it a moment
	// before the events they wait for.
	time.Sleep(200 * time.Millisecond)

	// Another user's order is not this subscriber's business.
	s.do(t, http.MethodPost, "/v1/orders", map[string]any{"currency": "EUR", "items": []any{map[string]any{"sku": "x", "quantity": 1, "unit_price_minor": 1}}}, other.Access).wantOK(t)

	r := s.do(t, http.MethodPost, "/v1/orders", map[string]any{"currency": "EUR", "items": []any{map[string]any{"sku": "x", "quantity": 3, "unit_price_minor": 5}}}, tok.Access)
	r.wantOK(t)
	orderID := jsonString(r.JSON(t), "order", "id")

	got := sock.want("next")
	if got.ID != "orders" || !strings.Contains(string(got.Payload), orderID) || !strings.Contains(string(got.Payload), `"totalMinor":15`) {
		t.Errorf("orderCreated = %s %s, want order %s with totalMinor 15", got.ID, got.Payload, orderID)
	}

	s.graphQL(t, tok.Access, `mutation { updateProfile(input: {displayName: "Grace"}) { id } }`, nil).data(t)

	got = sock.want("next")
	if got.ID != "profile" || !strings.Contains(string(got.Payload), "display_name") {
		t.Errorf("profileUpdated = %s %s, want display_name", got.ID, got.Payload)
	}

	// Revoking the session ends the connection, on every replica, and its
	// subscriptions with it: a "complete" would tell the client they had
	// finished normally. Clients such as graphql-ws reconnect, and the
	// token can no longer open a connection.
	s.do(t, http.MethodPost, "/v1/auth/logout", map[string]any{}, tok.Access).wantOK(t)

	if m, err := sock.next(); err == nil || websocket.CloseStatus(err) == -1 {
		t.Fatalf("after logout got %s %s (%v), want the socket closed", m.Type, m.Payload, err)
	}

	again := s.openGraphQLSocket(t, map[string]any{"Authorization": "Bearer " + tok.Access})
	if _, err := again.next(); websocket.CloseStatus(err) != 4401 {
		t.Errorf("connection with the token of an ended session ended with %v, want close code 4401", err)
	}
}

// TestGraphQLListLoadsRelatedDataOnce lists orders with the profile of the
// user who placed each: the profiles come from auth in one call for the
// whole page (a dataloader), not one per order.
func TestGraphQLListLoadsRelatedDataOnce(t *testing.T) {
	t.Parallel()

	s := startServer(t, nil)
	tok := s.login(t, "gql-n1@example.com")

	s.graphQL(t, tok.Access, `mutation { updateProfile(input: {displayName: "Lin"}) { id } }`, nil).data(t)
	placeOrders(t, s, tok, 5)

	calls := func() int {
		n := 0

		for _, l := range s.logs.snapshot() {
			if l.Msg() == "grpc request" && l.String("method") == "/auth.v1.AuthService/BatchGetPublicProfiles" {
				n++
			}
		}

		return n
	}

	before := calls()
	page := s.graphQL(t, tok.Access, `{ orders(first: 10) { edges { node { id placedBy { id displayName } } } } }`, nil).data(t)
	edges, _ := page["orders"].(map[string]any)["edges"].([]any)

	if len(edges) != 5 {
		t.Fatalf("orders = %d, want 5", len(edges))
	}

	for _, e := range edges {
		node, _ := e.(map[string]any)["node"].(map[string]any)
		if jsonString(node, "placedBy", "displayName") != "Lin" {
			t.Errorf("placedBy = %v, want Lin's profile", node["placedBy"])
		}
	}

	// The access log line of the call is written when it returns, before
	// the response.
	if got := calls() - before; got != 1 {
		t.Errorf("BatchGetPublicProfiles calls for 5 orders = %d, want 1", got)
	}
}
