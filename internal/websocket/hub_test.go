package websocket_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	ws "github.com/coder/websocket"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/modulith/modulith/internal/telemetry/logtest"
	"github.com/modulith/modulith/internal/websocket"
)

func TestHubSendsToEverySocketOfTheUserOnly(t *testing.T) {
	t.Parallel()

	hub := newHub(t, testConfig(t), discardLogger())
	srv := attachServer(t, hub)
	ada1 := dialAs(t, srv, hub, "ada", "s1", 1)
	ada2 := dialAs(t, srv, hub, "ada", "s2", 2)
	bob := dialAs(t, srv, hub, "bob", "s3", 3)

	if got, want := hub.Stats(), (websocket.Stats{Connections: 3, Users: 2}); got != want {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}

	if n := hub.Send(message("user.profile_updated", "ada")); n != 2 {
		t.Errorf("Send(to ada) = %d, want 2", n)
	}

	for _, conn := range []*ws.Conn{ada1, ada2} {
		m := wantMessage(t, conn, "user.profile_updated")
		if m.Data["user_id"] != "ada" {
			t.Errorf("data = %v, want user_id ada", m.Data)
		}
	}

	// Had bob got ada's message, it would come before this one.
	hub.Send(message("marker", "bob"))
	wantMessage(t, bob, "marker")
}

func TestHubBroadcastReachesEverySocket(t *testing.T) {
	t.Parallel()

	hub := newHub(t, testConfig(t), discardLogger())
	srv := attachServer(t, hub)
	conns := []*ws.Conn{
		dialAs(t, srv, hub, "ada", "s1", 1),
		dialAs(t, srv, hub, "ada", "s2", 2),
		dialAs(t, srv, hub, "bob", "s3", 3),
	}

	if n := hub.Send(broadcast("maintenance.scheduled")); n != 3 {
		t.Errorf("Send(broadcast) = %d, want 3", n)
	}

	for _, conn := range conns {
		if m := wantMessage(t, conn, "maintenance.scheduled"); len(m.Data) != 0 {
			t.Errorf("data = %v, want {}", m.Data)
		}
	}
}

func TestHubDropsMessagesWithoutOneAudience(t *testing.T) {
	t.Parallel()

	hub := newHub(t, testConfig(t), discardLogger())
	srv := attachServer(t, hub)
	conn := dialAs(t, srv, hub, "ada", "s1", 1)

	for _, m := range []websocket.Message{
		{Event: "neither"},
		{Event: "both", UserID: "ada", Broadcast: true},
		{UserID: "ada"},
		{Event: "bad.json", UserID: "ada", Data: json.RawMessage(`{`)},
	} {
		if n := hub.Send(m); n != 0 {
			t.Errorf("Send(%+v) = %d, want 0 (dropped)", m, n)
		}
	}

	hub.Send(message("marker", "ada"))
	wantMessage(t, conn, "marker")
}

// A client that stops reading fills the kernel's buffers, then its queue:
// it is disconnected while the others keep receiving everything.
func TestHubDisconnectsSlowClient(t *testing.T) {
	t.Parallel()

	logger, logs := logtest.New(0)
	hub := newHub(t, testConfig(t, "WS_SEND_BUFFER", "4", "WS_WRITE_TIMEOUT", "1s"), logger)
	srv := attachServer(t, hub)
	dialAs(t, srv, hub, "slow", "s1", 1) // never reads
	fast := dialAs(t, srv, hub, "fast", "s2", 2)
	fast.SetReadLimit(-1)

	big := websocket.Message{
		Event: "big", Broadcast: true, Data: json.RawMessage(`{"pad":"` + strings.Repeat("x", 64<<10) + `"}`),
	}

	deadline := time.Now().Add(30 * time.Second)
	for hub.Stats().Connections == 2 {
		if time.Now().After(deadline) {
			t.Fatal("the slow client was never disconnected")
		}

		hub.Send(big)
		wantMessage(t, fast, "big") // in step: the fast client's queue never fills
	}

	waitConnections(t, hub, 1)

	for range 3 {
		hub.Send(big)
		wantMessage(t, fast, "big")
	}

	if !hasEntry(logs, "websocket: slow client disconnected", "user_id", "slow") {
		t.Errorf("no slow-client log line for user slow in %v", logs.Entries())
	}
}

func hasEntry(logs *logtest.Recorder, msg, key, value string) bool {
	for _, e := range logs.Entries() {
		if e.Message == msg && e.String(key) == value {
			return true
		}
	}

	return false
}

func TestHubCloseSessionClosesItsSocketsOnly(t *testing.T) {
	t.Parallel()

	hub := newHub(t, testConfig(t), discardLogger())
	srv := attachServer(t, hub)
	phone1 := dialAs(t, srv, hub, "ada", "phone", 1)
	phone2 := dialAs(t, srv, hub, "ada", "phone", 2)
	laptop := dialAs(t, srv, hub, "ada", "laptop", 3)

	if n := hub.CloseSession("phone"); n != 2 {
		t.Errorf("CloseSession(phone) = %d, want 2", n)
	}

	wantClosed(t, phone1, websocket.CloseSessionEnded)
	wantClosed(t, phone2, websocket.CloseSessionEnded)
	waitConnections(t, hub, 1)

	hub.Send(message("user.profile_updated", "ada"))
	wantMessage(t, laptop, "user.profile_updated")
}

func TestHubDispatchSendsThenEndsSession(t *testing.T) {
	t.Parallel()

	hub := newHub(t, testConfig(t), discardLogger())
	srv := attachServer(t, hub)
	conn := dialAs(t, srv, hub, "ada", "phone", 1)

	m := message("auth.session_revoked", "ada")
	hub.Dispatch(websocket.Envelope{ID: "evt_1", Message: &m, EndSession: "phone"})

	wantMessage(t, conn, "auth.session_revoked")
	wantClosed(t, conn, websocket.CloseSessionEnded)
}

func TestHubLimitsSocketsPerUser(t *testing.T) {
	t.Parallel()

	hub := newHub(t, testConfig(t, "WS_MAX_USER_CONNECTIONS", "2"), discardLogger())
	srv := attachServer(t, hub)
	dialAs(t, srv, hub, "ada", "s1", 1)
	dialAs(t, srv, hub, "ada", "s2", 2)
	dialAs(t, srv, hub, "bob", "s3", 3)

	third, _, err := dial(t, wsURL(srv, "/?user=ada&session=s4"), nil)
	if err != nil {
		t.Fatal(err)
	}

	wantClosed(t, third, websocket.CloseTooManyConnections)

	if got := hub.Stats().Connections; got != 3 {
		t.Errorf("Stats().Connections = %d, want 3", got)
	}
}

// Clients have nothing to say: data messages are ignored, a large one
// closes the socket with 1009, and pings are answered.
func TestHubIgnoresClientMessages(t *testing.T) {
	t.Parallel()

	hub := newHub(t, testConfig(t), discardLogger())
	srv := attachServer(t, hub)
	conn := dialAs(t, srv, hub, "ada", "s1", 1)

	// Reading in the background lets the client see the pong.
	readErr := make(chan error, 1)

	go func() {
		_, _, err := conn.Read(context.Background())
		readErr <- err
	}()

	if err := conn.Write(t.Context(), ws.MessageText, []byte(`{"hello":"server"}`)); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()

	if err := conn.Ping(ctx); err != nil {
		t.Fatalf("Ping() = %v, want a pong", err)
	}

	if err := conn.Write(t.Context(), ws.MessageText, make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}

	select {
	case err := <-readErr:
		if got := ws.CloseStatus(err); got != ws.StatusMessageTooBig {
			t.Errorf("after a 4 KiB message: %v, want close code 1009", err)
		}
	case <-time.After(wait):
		t.Fatal("socket still open after a 4 KiB message")
	}

	waitConnections(t, hub, 0)
}

func TestHubDropsClientThatMissesPongs(t *testing.T) {
	t.Parallel()

	hub := newHub(t, testConfig(t, "WS_PING_INTERVAL", "50ms", "WS_PONG_TIMEOUT", "100ms"), discardLogger())
	srv := attachServer(t, hub)
	reader := dialAs(t, srv, hub, "ada", "s1", 1)
	dialAs(t, srv, hub, "bob", "s2", 2) // never reads, so never answers pings

	go func() {
		for {
			if _, _, err := reader.Read(context.Background()); err != nil {
				return
			}
		}
	}()

	waitConnections(t, hub, 1)

	time.Sleep(300 * time.Millisecond) // several ping intervals

	if got, want := hub.Stats(), (websocket.Stats{Connections: 1, Users: 1}); got != want {
		t.Errorf("Stats() = %+v, want %+v (the client that answers pings stays)", got, want)
	}
}

// Close says goodbye (1001) to every socket, refuses new ones and leaves no
// goroutine behind.
func TestHubCloseClosesEverySocket(t *testing.T) {
	checkGoroutines := goroutines(t)

	hub, err := websocket.NewHub(testConfig(t), discardLogger(), noop.Meter{})
	if err != nil {
		t.Fatal(err)
	}

	srv := attachServer(t, hub)
	conns := []*ws.Conn{
		dialAs(t, srv, hub, "ada", "s1", 1),
		dialAs(t, srv, hub, "ada", "s2", 2),
		dialAs(t, srv, hub, "bob", "s3", 3),
	}

	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()

	closed := make(chan error, 1)
	go func() { closed <- hub.Close(ctx) }()

	for _, conn := range conns {
		wantClosed(t, conn, websocket.CloseGoingAway)
	}

	if err := <-closed; err != nil {
		t.Fatalf("Close() = %v", err)
	}

	if got := hub.Stats(); got != (websocket.Stats{}) {
		t.Errorf("Stats() after Close = %+v, want zero", got)
	}

	late, _, err := dial(t, wsURL(srv, "/?user=ada&session=s4"), nil)
	if err != nil {
		t.Fatal(err)
	}

	wantClosed(t, late, websocket.CloseGoingAway)

	if err := hub.Close(ctx); err != nil {
		t.Errorf("second Close() = %v, want nil", err)
	}

	srv.Close()
	checkGoroutines()
}

// A client that does not answer the closing handshake is dropped when
// Close's context ends.
func TestHubCloseDropsSocketsAtDeadline(t *testing.T) {
	checkGoroutines := goroutines(t)

	hub, err := websocket.NewHub(testConfig(t), discardLogger(), noop.Meter{})
	if err != nil {
		t.Fatal(err)
	}

	srv := attachServer(t, hub)
	dialAs(t, srv, hub, "ada", "s1", 1) // never reads: never answers the close frame

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()

	if err := hub.Close(ctx); err == nil {
		t.Error("Close() = nil, want an error naming the dropped sockets")
	}

	if got := hub.Stats(); got != (websocket.Stats{}) {
		t.Errorf("Stats() after Close = %+v, want zero", got)
	}

	srv.Close()
	checkGoroutines()
}

// A socket has a writer goroutine only while frames wait for it: once its
// messages are written, only its reader remains. Not parallel: it counts
// the writers of every hub in the process.
func TestHubIdleSocketsHoldNoWriter(t *testing.T) {
	hub := newHub(t, testConfig(t), discardLogger())
	srv := attachServer(t, hub)
	conns := []*ws.Conn{
		dialAs(t, srv, hub, "ada", "s1", 1),
		dialAs(t, srv, hub, "bob", "s2", 2),
	}

	for range 3 {
		hub.Send(broadcast("tick"))

		for _, conn := range conns {
			wantMessage(t, conn, "tick")
		}
	}

	deadline := time.Now().Add(wait)
	for n := stacksIn("websocket.(*client).writeLoop"); n > 0; n = stacksIn("websocket.(*client).writeLoop") {
		if time.Now().After(deadline) {
			t.Fatalf("%d writer goroutines left after every message was received, want 0", n)
		}

		time.Sleep(5 * time.Millisecond)
	}

	// The next message starts a writer again.
	hub.Send(message("after", "bob"))
	wantMessage(t, conns[1], "after")
}

// Messages reach a socket in the order they were sent, across the writers
// each burst starts.
func TestHubKeepsOrderAcrossBursts(t *testing.T) {
	t.Parallel()

	hub := newHub(t, testConfig(t, "WS_SEND_BUFFER", "512"), discardLogger())
	srv := attachServer(t, hub)
	conn := dialAs(t, srv, hub, "ada", "s1", 1)

	const bursts, size = 20, 25

	for i := range bursts {
		for j := range size {
			hub.Send(websocket.Message{
				Event: "n", UserID: "ada", Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i*size+j)),
			})
		}

		if i%2 == 0 {
			time.Sleep(time.Millisecond) // let the writer drain and return, sometimes
		}
	}

	for want := range bursts * size {
		m := wantMessage(t, conn, "n")
		if got, ok := m.Data["n"].(float64); !ok || int(got) != want {
			t.Fatalf("message %d has n = %v", want, m.Data["n"])
		}
	}
}

// stacksIn counts the goroutines whose stack holds function.
func stacksIn(function string) int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), function+"(")
		}

		buf = make([]byte, 2*len(buf))
	}
}
