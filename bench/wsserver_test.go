package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/secrets"
	wshub "github.com/modulith/modulith/internal/websocket"
)

// wsEvent names the broadcasts; wsData is their payload, about the size of
// a real event's (user.profile_updated), numbered for the client.
const wsEvent = "bench.broadcast"

func wsData(seq int64) json.RawMessage {
	return json.RawMessage(`{"seq":` + strconv.FormatInt(seq, 10) +
		`,"user_id":"user_01m7y8sgkde0kr97y8kcjykkyv","fields":["display_name"]}`)
}

// wsServer is a server under test: a listener on 127.0.0.1 serving /ws.
type wsServer struct {
	url       string
	conns     func() int
	broadcast func(seq int64, want int) error
	close     func(ctx context.Context) error
}

// serveWS serves h at /ws on a port of its own until close.
func serveWS(h http.Handler) (url string, closeFn func() error, err error) {
	var lc net.ListenConfig

	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listen: %w", err)
	}

	mux := http.NewServeMux()
	mux.Handle("/ws", h)

	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	go func() { _ = srv.Serve(ln) }() // ends with ErrServerClosed at close

	return "ws://" + ln.Addr().String() + "/ws", srv.Close, nil
}

// startHubServer serves the platform's /ws handler and hub, configured
// with the defaults, authenticating real access tokens (see connect) with
// every session live.
func startHubServer() (*wsServer, error) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))

	hub, err := wshub.NewHub(wshub.Config{
		SendBuffer: 64, PingInterval: 30 * time.Second, PongTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, MaxUserConnections: 32,
		PostgresChannel: "modulith_ws", NATSSubject: "modulith.ws",
	}, logger, noop.Meter{})
	if err != nil {
		return nil, err
	}

	tokens, err := authn.NewTokens(authn.TokenConfig{Secret: secrets.Fixed([]byte(secret)), Issuer: "modulith", Audience: "modulith"})
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}

	auth := authn.NewAuthenticator(tokens, liveSessions{}, noRoles{})

	url, closeHTTP, err := serveWS(wshub.NewHandler(hub, auth, wshub.HandlerConfig{}, logger))
	if err != nil {
		return nil, err
	}

	return &wsServer{
		url:   url,
		conns: func() int { return hub.Stats().Connections },
		broadcast: func(seq int64, want int) error {
			if n := hub.Send(wshub.Message{Event: wsEvent, Data: wsData(seq), Broadcast: true}); n != want {
				return fmt.Errorf("hub.Send queued broadcast %d for %d sockets, want %d", seq, n, want)
			}

			return nil
		},
		close: func(ctx context.Context) error { return errors.Join(hub.Close(ctx), closeHTTP()) },
	}, nil
}

// liveSessions is a session checker for which every session is live.
type liveSessions struct{}

func (liveSessions) CheckSession(context.Context, string, string) (string, error) { return "user", nil }

type noRoles struct{}

func (noRoles) Permissions(string) []string { return nil }

// bareSockets is the baseline: plain coder/websocket connections, accepted
// without authentication, each with the reader coder/websocket requires
// for control frames (CloseRead), and a broadcast that writes the same
// frame to each in turn. No queues, no goroutine per socket for writing.
type bareSockets struct {
	mu    sync.Mutex
	conns []*websocket.Conn
}

func startBareServer() (*wsServer, error) {
	s := &bareSockets{}

	url, closeHTTP, err := serveWS(s)
	if err != nil {
		return nil, err
	}

	return &wsServer{
		url:       url,
		conns:     s.count,
		broadcast: s.broadcast,
		close: func(context.Context) error {
			s.mu.Lock()
			defer s.mu.Unlock()

			for _, c := range s.conns {
				_ = c.CloseNow() // the client is gone already
			}

			return closeHTTP()
		},
	}, nil
}

func (s *bareSockets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{wshub.Subprotocol}})
	if err != nil {
		return
	}

	conn.CloseRead(context.Background())

	s.mu.Lock()
	s.conns = append(s.conns, conn)
	s.mu.Unlock()
}

func (s *bareSockets) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()

	return len(s.conns)
}

// broadcast writes the frame the hub would send to every socket.
func (s *bareSockets) broadcast(seq int64, want int) error {
	frame, err := json.Marshal(struct {
		Event string          `json:"event"`
		Data  json.RawMessage `json:"data"`
	}{wsEvent, wsData(seq)})
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}

	s.mu.Lock()
	conns := s.conns
	s.mu.Unlock()

	if len(conns) != want {
		return fmt.Errorf("%d sockets, want %d", len(conns), want)
	}

	for _, c := range conns {
		if err := c.Write(context.Background(), websocket.MessageText, frame); err != nil {
			return fmt.Errorf("write: %w", err)
		}
	}

	return nil
}
