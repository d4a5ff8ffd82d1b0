package websocket_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	ws "github.com/coder/websocket"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/modulith/modulith/internal/config"
	"github.com/modulith/modulith/internal/websocket"
)

// wait bounds every wait for something asynchronous to happen.
const wait = 5 * time.Second

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// testConfig returns the "websocket" section loaded from its defaults and
// the given environment variables.
func testConfig(t *testing.T, env ...string) websocket.Config {
	t.Helper()

	vars := make(map[string]string)
	for i := 0; i+1 < len(env); i += 2 {
		vars[env[i]] = env[i+1]
	}

	layers, err := config.NewLayers(config.Files{}, func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}

	var cfg websocket.Config
	if _, err := layers.Load("websocket", &cfg); err != nil {
		t.Fatalf("load websocket config: %v", err)
	}

	return cfg
}

// newHub returns a hub closed when the test ends.
func newHub(t *testing.T, cfg websocket.Config, logger *slog.Logger) *websocket.Hub {
	t.Helper()

	hub, err := websocket.NewHub(cfg, logger, noop.Meter{})
	if err != nil {
		t.Fatalf("NewHub() = %v", err)
	}

	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()

		if err := hub.Close(ctx); err != nil {
			t.Errorf("hub.Close() = %v", err)
		}
	})

	return hub
}

// attachServer upgrades every request and attaches the socket to hub as
// the user and session its query names: hub tests need no tokens.
func attachServer(t *testing.T, hub *websocket.Hub) *httptest.Server {
	t.Helper()

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := ws.Accept(w, r, nil)
		if err != nil {
			return
		}

		_ = hub.Attach(conn, r.URL.Query().Get("user"), r.URL.Query().Get("session"))
	}))
	t.Cleanup(srv.Close)

	return srv
}

// wsURL is the ws:// URL of path on srv.
func wsURL(srv *httptest.Server, path string) string {
	return "ws" + strings.TrimPrefix(srv.URL, "http") + path
}

// dialAs opens a socket on an attachServer as user and session and waits
// until the hub counts it (want connections in all).
func dialAs(t *testing.T, srv *httptest.Server, hub *websocket.Hub, user, session string, want int) *ws.Conn {
	t.Helper()

	conn, _, err := dial(t, wsURL(srv, "/?user="+user+"&session="+session), nil)
	if err != nil {
		t.Fatalf("dial as %s/%s: %v", user, session, err)
	}

	waitConnections(t, hub, want)

	return conn
}

// waitConnections waits until hub holds n sockets.
func waitConnections(t *testing.T, hub *websocket.Hub, n int) {
	t.Helper()

	deadline := time.Now().Add(wait)
	for hub.Stats().Connections != n {
		if time.Now().After(deadline) {
			t.Fatalf("hub holds %d sockets, want %d", hub.Stats().Connections, n)
		}

		time.Sleep(5 * time.Millisecond)
	}
}

// received is one message a client read.
type received struct {
	Event string         `json:"event"`
	Data  map[string]any `json:"data"`
}

// next reads the next message of conn, failing the test after wait.
func next(t *testing.T, conn *ws.Conn) received {
	t.Helper()

	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()

	typ, b, err := conn.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}

	if typ != ws.MessageText {
		t.Fatalf("read a %v message, want text", typ)
	}

	var m received
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("message %s is not JSON: %v", b, err)
	}

	return m
}

// wantMessage fails the test unless the next message of conn is event.
func wantMessage(t *testing.T, conn *ws.Conn, event string) received {
	t.Helper()

	m := next(t, conn)
	if m.Event != event {
		t.Fatalf("next message = %+v, want event %s", m, event)
	}

	return m
}

// wantClosed reads conn until it closes and fails the test unless it closed
// with code.
func wantClosed(t *testing.T, conn *ws.Conn, code ws.StatusCode) {
	t.Helper()

	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()

	for {
		_, b, err := conn.Read(ctx)
		if err == nil {
			t.Logf("message before the close: %s", b)

			continue
		}

		if got := ws.CloseStatus(err); got != code {
			t.Fatalf("socket ended with %v, want close code %d", err, code)
		}

		return
	}
}

// message is a message for one user.
func message(event, user string) websocket.Message {
	return websocket.Message{Event: event, UserID: user, Data: json.RawMessage(`{"user_id":"` + user + `"}`)}
}

// broadcast is a message for everyone.
func broadcast(event string) websocket.Message {
	return websocket.Message{Event: event, Broadcast: true}
}

// goroutines returns a function that fails the test unless the number of
// goroutines is back to what it was (give or take a few the runtime and
// net/http keep) within wait.
func goroutines(t *testing.T) func() {
	t.Helper()

	before := runtime.NumGoroutine()

	return func() {
		t.Helper()

		const tolerance = 2

		deadline := time.Now().Add(wait)
		for runtime.NumGoroutine() > before+tolerance {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Fatalf("%d goroutines, want at most %d:\n%s", runtime.NumGoroutine(), before+tolerance, buf[:runtime.Stack(buf, true)])
			}

			time.Sleep(10 * time.Millisecond)
		}
	}
}

// answer is the HTTP answer to a refused socket request.
type answer struct {
	Status int
	Code   string // the platform error code of the body
}

// dial opens a socket, closed when the test ends; when the server refuses,
// it returns its answer.
func dial(t *testing.T, url string, opts *ws.DialOptions) (*ws.Conn, answer, error) {
	t.Helper()

	conn, resp, err := ws.Dial(t.Context(), url, opts)

	var a answer

	if resp != nil {
		a.Status = resp.StatusCode

		if resp.Body != nil {
			defer resp.Body.Close()

			var body struct {
				Code string `json:"code"`
			}

			_ = json.NewDecoder(resp.Body).Decode(&body) // not every refusal has a JSON body
			a.Code = body.Code
		}
	}

	if conn != nil {
		t.Cleanup(func() { _ = conn.CloseNow() })
	}

	return conn, a, err
}
