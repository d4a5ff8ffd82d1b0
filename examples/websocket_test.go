package examples

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/modulith/modulith/internal/errors"
)

// socketWait bounds the wait for a message or a close on a socket.
const socketWait = 10 * time.Second

// socketMessage is one message a socket received.
type socketMessage struct {
	Event string         `json:"event"`
	Data  map[string]any `json:"data"`
}

// openSocket opens /ws as a browser does: the access token travels as the
// subprotocol "bearer.<token>" next to "modulith.v1", which the server
// selects, from an origin the CORS configuration allows.
func (s *server) openSocket(t *testing.T, accessToken string) *websocket.Conn {
	t.Helper()

	conn := s.dialSocket(t, &websocket.DialOptions{
		Subprotocols: []string{"modulith.v1", "bearer." + accessToken},
		HTTPHeader:   http.Header{"Origin": {"http://localhost:5173"}}, // a dev default of CORS_ALLOWED_ORIGINS
	})

	if got := conn.Subprotocol(); got != "modulith.v1" {
		t.Errorf("selected subprotocol = %q, want modulith.v1", got)
	}

	return conn
}

// openSocketWithHeader opens /ws as a server-side client does, with the
// Authorization header.
func (s *server) openSocketWithHeader(t *testing.T, accessToken string) *websocket.Conn {
	t.Helper()

	return s.dialSocket(t, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + accessToken}}})
}

func (s *server) dialSocket(t *testing.T, opts *websocket.DialOptions) *websocket.Conn {
	t.Helper()

	conn, resp, err := websocket.Dial(t.Context(), s.socketURL(""), opts)
	if resp != nil && resp.Body != nil {
		defer resp.Body.Close()
	}

	if err != nil {
		t.Fatalf("open /ws: %v", err)
	}

	t.Cleanup(func() { _ = conn.CloseNow() })

	return conn
}

// socketURL is the ws:// URL of /ws with a query.
func (s *server) socketURL(query string) string {
	return "ws" + strings.TrimPrefix(s.HTTP, "http") + "/ws" + query
}

// refusedSocket fails the test unless the server refuses to open /ws with
// status and error code.
func (s *server) refusedSocket(t *testing.T, query string, opts *websocket.DialOptions, status int, code errors.Code) {
	t.Helper()

	conn, resp, err := websocket.Dial(t.Context(), s.socketURL(query), opts)
	if err == nil {
		_ = conn.CloseNow()

		t.Fatalf("/ws%s opened, want %d %s", query, status, code)
	}

	if resp == nil {
		t.Fatalf("/ws%s: %v, want %d %s", query, err, status, code)
	}
	defer resp.Body.Close()

	var body struct {
		Code string `json:"code"`
	}

	_ = json.NewDecoder(resp.Body).Decode(&body)

	if resp.StatusCode != status || body.Code != string(code) {
		t.Errorf("/ws%s = %d %s, want %d %s", query, resp.StatusCode, body.Code, status, code)
	}
}

// awaitEvent reads conn until a message named event whose data matches
// arrives, and returns every message read, that one last.
func awaitEvent(t *testing.T, conn *websocket.Conn, event string, match func(data map[string]any) bool) []socketMessage {
	t.Helper()

	ctx, cancel := context.WithTimeout(t.Context(), socketWait)
	defer cancel()

	var got []socketMessage

	for {
		_, b, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v (received %+v)", event, err, got)
		}

		var m socketMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("message %s is not JSON: %v", b, err)
		}

		got = append(got, m)

		if m.Event == event && match(m.Data) {
			return got
		}
	}
}

// forUser matches the data of an event about userID.
func forUser(userID string) func(map[string]any) bool {
	return func(data map[string]any) bool { return data["user_id"] == userID }
}

// awaitClose reads conn until it closes and returns the close code.
func awaitClose(t *testing.T, conn *websocket.Conn) websocket.StatusCode {
	t.Helper()

	ctx, cancel := context.WithTimeout(t.Context(), socketWait)
	defer cancel()

	for {
		if _, _, err := conn.Read(ctx); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

// awaitSocketStats polls /healthz/ws until it counts connections sockets of
// users users.
func (s *server) awaitSocketStats(t *testing.T, connections, users int) {
	t.Helper()

	want := map[string]any{"connections": float64(connections), "users": float64(users)}
	deadline := time.Now().Add(socketWait)

	for {
		r := s.admin(t, "/healthz/ws")
		got := r.JSON(t)

		if r.Status == http.StatusOK && got["connections"] == want["connections"] && got["users"] == want["users"] {
			return
		}

		if time.Now().After(deadline) {
			t.Fatalf("GET /healthz/ws = %d %s, want %v", r.Status, r.Body, want)
		}

		time.Sleep(20 * time.Millisecond)
	}
}

// TestWebSocketEvents follows what a signed-in client sees on its socket:
// its user's new sign-ins and profile changes, on every socket of the
// user and on no other user's; its socket closing when its session ends.
func TestWebSocketEvents(t *testing.T) {
	t.Parallel()

	s := startServer(t, nil)

	ada := signIn(t, s, map[string]string{"email": "ada@example.com"}, "ada@example.com", "laptop/1.0")
	laptop := s.openSocket(t, ada.Access)
	bob := signInEmail(t, s, "bob@example.com")
	bobSocket := s.openSocketWithHeader(t, bob.Access)

	// Signing in on another device tells the laptop.
	phone := signIn(t, s, map[string]string{"email": "ada@example.com"}, "ada@example.com", "phone/2.0")
	phoneSession, _ := claimsOf(t, phone.Access)["sid"].(string)

	got := awaitEvent(t, laptop, "auth.session_created", func(d map[string]any) bool { return d["session_id"] == phoneSession })
	if m := got[len(got)-1]; m.Data["user_id"] != ada.UserID || m.Data["user_agent"] != "phone/2.0" {
		t.Errorf("auth.session_created = %+v, want user_id %s and user agent phone/2.0", m, ada.UserID)
	}

	phoneSocket := s.openSocketWithHeader(t, phone.Access)
	s.awaitSocketStats(t, 3, 2)

	// A profile change reaches every socket of the user.
	s.do(t, http.MethodPatch, pathProfile, map[string]string{"display_name": "Ada Lovelace"}, phone.Access).wantOK(t)

	for name, conn := range map[string]*websocket.Conn{"laptop": laptop, "phone": phoneSocket} {
		got := awaitEvent(t, conn, "user.profile_updated", forUser(ada.UserID))
		if fields, _ := got[len(got)-1].Data["fields"].([]any); len(fields) != 1 || fields[0] != "display_name" {
			t.Errorf("%s: user.profile_updated = %+v, want fields [display_name]", name, got[len(got)-1])
		}
	}

	// Logging out closes the sockets of that session, and only those.
	s.do(t, http.MethodPost, pathLogout, map[string]any{}, ada.Access).wantOK(t)

	if code := awaitClose(t, laptop); code != 4401 {
		t.Errorf("laptop socket closed with %d, want 4401 (session ended)", code)
	}

	s.awaitSocketStats(t, 2, 2)

	// Bob saw none of it: Ada's messages, had they reached his socket, would
	// have come before his own profile change.
	s.do(t, http.MethodPatch, pathProfile, map[string]string{"display_name": "Bob"}, bob.Access).wantOK(t)

	for _, m := range awaitEvent(t, bobSocket, "user.profile_updated", forUser(bob.UserID)) {
		if m.Data["user_id"] != bob.UserID {
			t.Errorf("Bob's socket received %+v", m)
		}
	}

	checkSocketRefusals(t, s, phone.Access, ada.Access)
}

// checkSocketRefusals shows what /ws refuses before upgrading, and that no
// token reaches the logs.
func checkSocketRefusals(t *testing.T, s *server, live, loggedOut string) {
	t.Helper()

	s.refusedSocket(t, "", nil, http.StatusUnauthorized, errors.CodeAuthRequired)
	s.refusedSocket(t, "?token="+live, nil, http.StatusUnauthorized, errors.CodeAuthRequired)
	s.refusedSocket(t, "", &websocket.DialOptions{Subprotocols: []string{"modulith.v1", "bearer." + loggedOut}},
		http.StatusUnauthorized, errors.CodeAuthTokenInvalid)
	s.refusedSocket(t, "", &websocket.DialOptions{
		Subprotocols: []string{"modulith.v1", "bearer." + live},
		HTTPHeader:   http.Header{"Origin": {"https://evil.example.com"}},
	}, http.StatusForbidden, errors.CodeForbidden)

	// The access log sees the handshake (101), not the socket's lifetime.
	upgraded := func(l logLine) bool { return l.Number("status") == http.StatusSwitchingProtocols }
	if lines := s.logs.accessLines(http.MethodGet, "/ws"); !slices.ContainsFunc(lines, upgraded) {
		t.Errorf("access log lines of /ws = %v, want one with status 101", lines)
	}

	for _, token := range []string{live, loggedOut} {
		if strings.Contains(s.Logs(), token) {
			t.Error("an access token is in the logs")
		}
	}
}

// TestWebSocketShutdown shows a replica going away: its sockets close with
// 1001 (going away) before it drains, so clients reconnect elsewhere, and
// the server stops cleanly.
func TestWebSocketShutdown(t *testing.T) {
	t.Parallel()

	s := runServer(t, harnessEnv(freshDSN(t)))
	ada := signInEmail(t, s.server, "ada@example.com")
	conn := s.openSocket(t, ada.Access)
	s.awaitSocketStats(t, 1, 1)

	stopped := make(chan error, 1)

	go func() { stopped <- s.Stop() }()

	if code := awaitClose(t, conn); code != websocket.StatusGoingAway {
		t.Errorf("socket closed with %d at shutdown, want 1001 (going away)", code)
	}

	if err := <-stopped; err != nil {
		t.Errorf("server stopped with error: %v", err)
	}
}
