package moduletest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	gqlgen "github.com/99designs/gqlgen/graphql"
	coderws "github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel"

	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/config"
	"github.com/modulith/modulith/internal/graphql"
	"github.com/modulith/modulith/internal/telemetry"
	"github.com/modulith/modulith/internal/websocket"
)

// GraphQLResponse is the answer to a GraphQL operation, or one event of a
// subscription.
type GraphQLResponse struct {
	Data   json.RawMessage `json:"data"`
	Errors []GraphQLError  `json:"errors"`
}

// GraphQLError is an error of a GraphQL response.
type GraphQLError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// Code returns the error's extensions.code: the domain code (NOT_FOUND,
// VALIDATION_FAILED, …) or the GraphQL one (GRAPHQL_VALIDATION_FAILED, …).
func (e GraphQLError) Code() string {
	code, _ := e.Extensions["code"].(string)

	return code
}

// subscriptionBuffer is how many events SubscribeGraphQL holds for a test
// that does not read them yet.
const subscriptionBuffer = 16

// serveGraphQL serves at /graphql the schema that schema builds, as the
// server does: its resolvers call the modules through the registry's
// connections, its WebSockets authenticate through the platform's tokens and
// sessions, and its subscriptions get the events of the modules' realtime
// routes, which a forwarder subscribed to the bus (not started yet) sends
// over LISTEN/NOTIFY on pool. It returns the endpoint's URL.
func serveGraphQL(t testing.TB, p *Platform, pool *pgxpool.Pool, cfg *config.Config, layers *config.Layers,
	schema func(graphql.Deps) gqlgen.ExecutableSchema, logger *slog.Logger,
) string {
	t.Helper()

	var ws websocket.Config
	if _, err := layers.Load("websocket", &ws); err != nil {
		t.Fatalf("moduletest: websocket configuration: %v", err)
	}

	hub, err := websocket.NewHub(ws, logger, otel.GetMeterProvider().Meter(telemetry.InstrumentationName))
	if err != nil {
		t.Fatalf("moduletest: websocket hub: %v", err)
	}

	fanout := websocket.NewPostgresFanout(pool, ws.PostgresChannel, hub, logger)
	if err := fanout.Start(t.Context()); err != nil {
		t.Fatalf("moduletest: websocket fan-out: %v", err)
	}

	fwd, err := websocket.NewForwarder(p.Registry.RealtimeRoutes(), fanout)
	if err == nil {
		err = fwd.Subscribe(p.Bus)
	}

	if err != nil {
		t.Fatalf("moduletest: websocket forwarder: %v", err)
	}

	h := graphql.NewHandler(graphql.Config{
		Introspection: cfg.GraphQLIntrospection, MaxDepth: cfg.GraphQLMaxDepth, MaxComplexity: cfg.GraphQLMaxComplexity,
		PingInterval: ws.PingInterval,
	}, graphql.HandlerDeps{
		Schema: schema(graphql.NewDeps(p.Registry.Client)),
		Auth:   authn.NewAuthenticator(p.Tokens, p.Registry, p.Registry),
		Hub:    hub, Logger: logger,
	})

	mux := http.NewServeMux()
	mux.Handle(graphql.Path, h)

	srv := httptest.NewServer(mux)

	t.Cleanup(func() {
		// The hub first: it ends the subscriptions and their sockets.
		ctx := context.WithoutCancel(t.Context())
		if err := errors.Join(hub.Close(ctx), fanout.Close(ctx)); err != nil {
			t.Errorf("moduletest: close the websocket hub: %v", err)
		}

		srv.Close()
	})

	return srv.URL + graphql.Path
}

// PostGraphQL posts an operation with its variables to /graphql, with
// token as the bearer token unless it is "", and returns the answer,
// whatever its HTTP status. It fails the test when the platform serves no
// GraphQL (Options.GraphQL) or the answer is not GraphQL's.
func (p *Platform) PostGraphQL(t testing.TB, token, query string, variables map[string]any) GraphQLResponse {
	t.Helper()

	if p.GraphQL == "" {
		t.Fatal("moduletest: no GraphQL endpoint: set Options.GraphQL")
	}

	body, err := json.Marshal(map[string]any{"query": query, "variables": variables})
	if err != nil {
		t.Fatal(err)
	}

	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, p.GraphQL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}

	req.Header.Set("Content-Type", "application/json")

	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("moduletest: POST %s: %v", p.GraphQL, err)
	}
	defer resp.Body.Close()

	var out GraphQLResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("moduletest: POST %s = %d, body: %v", p.GraphQL, resp.StatusCode, err)
	}

	return out
}

// wsMessage is a message of graphql-transport-ws.
type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// SubscribeGraphQL opens a WebSocket to /graphql (graphql-transport-ws),
// authenticated by token in connection_init, starts the subscription
// query and returns its events. The channel closes when the subscription
// ends (an error ends it after a last response holding the errors) and the
// socket when the test does.
//
// The protocol does not acknowledge a subscription: an event published
// right after SubscribeGraphQL returns may come before the server has
// started it, and be missed.
func (p *Platform) SubscribeGraphQL(t testing.TB, token, query string) <-chan GraphQLResponse {
	t.Helper()

	if p.GraphQL == "" {
		t.Fatal("moduletest: no GraphQL endpoint: set Options.GraphQL")
	}

	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))

	conn, resp, err := coderws.Dial(ctx, "ws"+strings.TrimPrefix(p.GraphQL, "http"), &coderws.DialOptions{
		Subprotocols: []string{"graphql-transport-ws"},
	})
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}

	if err != nil {
		cancel()
		t.Fatalf("moduletest: WebSocket %s: %v", p.GraphQL, err)
	}

	events := make(chan GraphQLResponse, subscriptionBuffer)
	done := make(chan struct{})

	t.Cleanup(func() {
		cancel()

		_ = conn.Close(coderws.StatusNormalClosure, "")

		<-done
	})

	init, _ := json.Marshal(map[string]string{"Authorization": "Bearer " + token})
	subscribe, _ := json.Marshal(map[string]string{"query": query})

	if err := handshake(ctx, conn, init, subscribe); err != nil {
		close(done)
		t.Fatalf("moduletest: subscribe over %s: %v", p.GraphQL, err)
	}

	go func() {
		defer close(done)
		defer close(events)

		receive(ctx, conn, events)
	}()

	return events
}

// handshakeTimeout bounds connection_init and its acknowledgement.
const handshakeTimeout = 10 * time.Second

// handshake initialises the connection with the payload init, waits for its
// acknowledgement and starts the subscription whose payload is subscribe.
func handshake(ctx context.Context, conn *coderws.Conn, init, subscribe json.RawMessage) error {
	ctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()

	if err := wsjson.Write(ctx, conn, wsMessage{Type: "connection_init", Payload: init}); err != nil {
		return fmt.Errorf("connection_init: %w", err)
	}

	var ack wsMessage
	if err := wsjson.Read(ctx, conn, &ack); err != nil {
		return fmt.Errorf("read connection_ack: %w", err)
	}

	if ack.Type != "connection_ack" {
		return fmt.Errorf("got %s %s, want connection_ack", ack.Type, ack.Payload)
	}

	if err := wsjson.Write(ctx, conn, wsMessage{ID: "1", Type: "subscribe", Payload: subscribe}); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}

	return nil
}

// receive hands the subscription's events to events, answering pings,
// until it completes or fails, or the connection ends.
func receive(ctx context.Context, conn *coderws.Conn, events chan<- GraphQLResponse) {
	for {
		var m wsMessage
		if err := wsjson.Read(ctx, conn, &m); err != nil {
			return
		}

		if m.Type == "ping" {
			if err := wsjson.Write(ctx, conn, wsMessage{Type: "pong"}); err != nil {
				return
			}

			continue
		}

		resp, ok := response(m)
		if !ok {
			return
		}

		select {
		case events <- resp:
		case <-ctx.Done():
			return
		}

		if m.Type == "error" {
			return
		}
	}
}

// response returns the response that a next or error message carries;
// false for any other message (complete), which ends the subscription.
func response(m wsMessage) (GraphQLResponse, bool) {
	var resp GraphQLResponse

	switch m.Type {
	case "next":
		if err := json.Unmarshal(m.Payload, &resp); err != nil {
			resp.Errors = []GraphQLError{{Message: "moduletest: undecodable next: " + err.Error()}}
		}
	case "error":
		if err := json.Unmarshal(m.Payload, &resp.Errors); err != nil {
			resp.Errors = []GraphQLError{{Message: "moduletest: undecodable error: " + string(m.Payload)}}
		}
	default:
		return resp, false
	}

	return resp, true
}
