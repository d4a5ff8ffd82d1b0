package websocket

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/coder/websocket"
	"go.opentelemetry.io/otel/metric"
)

// Reasons sent with close codes; a close reason may hold 123 bytes.
const (
	reasonShutdown     = "server shutting down"
	reasonTooSlow      = "client too slow: send buffer full"
	reasonTooMany      = "too many connections for this user"
	reasonSessionEnded = "session ended"
)

var (
	errHubClosed = errors.New("websocket: hub is closed")
	errTooMany   = errors.New("websocket: too many connections for this user")
)

// Hub holds the sockets of this replica, indexed by user and by session,
// and delivers messages to them. It never waits for a socket: each has a
// bounded queue, written by a goroutine of the socket's own while frames
// wait, and a client that lets its queue fill is disconnected rather than
// slowing the others down.
//
// The hub owns a reader goroutine per socket, and the writers and pings
// running; Close stops them all.
type Hub struct {
	cfg     Config
	logger  *slog.Logger
	metrics *metrics

	// ctx ends when Close stops waiting for sockets to close cleanly:
	// every socket's reads and writes then fail at once.
	ctx    context.Context
	cancel context.CancelFunc
	// writes is ctx without its cancellation, for writes, which end by the
	// socket closing instead (see client.write).
	writes context.Context

	mu       sync.RWMutex
	users    map[string]map[*client]struct{}
	sessions map[string]map[*client]struct{}
	count    int
	closed   bool
	wg       sync.WaitGroup
}

// NewHub returns an empty hub, whose connections and messages are
// measured on meter (see metrics).
func NewHub(cfg Config, logger *slog.Logger, meter metric.Meter) (*Hub, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}

	ctx, cancel := context.WithCancel(context.Background())
	h := &Hub{
		cfg: cfg, logger: logger, ctx: ctx, cancel: cancel, writes: context.WithoutCancel(ctx),
		users:    make(map[string]map[*client]struct{}),
		sessions: make(map[string]map[*client]struct{}),
	}

	m, err := newMetrics(meter, h)
	if err != nil {
		cancel()

		return nil, err
	}

	h.metrics = m

	return h, nil
}

// Stats counts the sockets of this replica and the users holding them.
type Stats struct {
	Connections int `json:"connections"`
	Users       int `json:"users"`
}

// Stats returns the current counts.
func (h *Hub) Stats() Stats {
	h.mu.RLock()
	defer h.mu.RUnlock()

	return Stats{Connections: h.count, Users: len(h.users)}
}

// Attach hands conn, an accepted socket of a user's session, to the hub,
// which serves it until it closes. The hub owns conn even when Attach
// fails: it then closes it (hub closed, or too many sockets for the user).
func (h *Hub) Attach(conn *websocket.Conn, userID, sessionID string) error {
	c := newSocket(h, conn, userID, sessionID)

	if err := h.register(c); err != nil {
		code, reason := CloseTooManyConnections, reasonTooMany
		if errors.Is(err, errHubClosed) {
			code, reason = CloseGoingAway, reasonShutdown
		}

		_ = conn.Close(code, reason) // the refusal is the outcome; a failed close changes nothing

		return err
	}

	go func() {
		defer h.wg.Done()

		c.serve(h.ctx)
	}()

	return nil
}

// accepts tells whether Attach would take a socket of userID now.
func (h *Hub) accepts(userID string) error {
	h.mu.RLock()
	defer h.mu.RUnlock()

	switch {
	case h.closed:
		return errHubClosed
	case len(h.users[userID]) >= h.cfg.MaxUserConnections:
		return errTooMany
	default:
		return nil
	}
}

// register indexes c, counts its reader in wg and starts its pings, under
// the lock Close takes, so that no goroutine starts once Close is waiting:
// the reader's count then covers the writers and pings it starts (see
// client.startWriter).
func (h *Hub) register(c *client) error {
	h.mu.Lock()
	defer h.mu.Unlock()

	switch {
	case h.closed:
		return errHubClosed
	case len(h.users[c.userID]) >= h.cfg.MaxUserConnections:
		return errTooMany
	}

	add(h.users, c.userID, c)
	add(h.sessions, c.sessionID, c)
	h.count++
	h.wg.Add(1)
	h.metrics.opened.Add(h.ctx, 1)

	c.pinger = time.AfterFunc(h.cfg.PingInterval, c.ping)

	return nil
}

func (h *Hub) unregister(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()

	remove(h.users, c.userID, c)
	remove(h.sessions, c.sessionID, c)
	h.count--
}

func add(index map[string]map[*client]struct{}, key string, c *client) {
	set := index[key]
	if set == nil {
		set = make(map[*client]struct{})
		index[key] = set
	}

	set[c] = struct{}{}
}

func remove(index map[string]map[*client]struct{}, key string, c *client) {
	set := index[key]
	delete(set, c)

	if len(set) == 0 {
		delete(index, key)
	}
}

// Send queues m for the local sockets it addresses and returns how many.
// A socket whose queue is full is closed with CloseTooSlow instead.
func (h *Hub) Send(m Message) int {
	b, err := m.encode()
	if err != nil {
		h.logger.Warn("websocket: message dropped", "event", m.Event, "error", err)

		return 0
	}

	// Enqueueing never blocks, so it runs under the read lock, with no
	// copy of the targets: a broadcast to every socket allocates nothing
	// per socket. Slow sockets are closed after the lock is released.
	var (
		sent int
		slow []*client
	)

	visit := func(set map[*client]struct{}) {
		for c := range set {
			if c.enqueue(b) {
				sent++
			} else {
				slow = append(slow, c)
			}
		}
	}

	h.mu.RLock()

	if m.Broadcast {
		for _, set := range h.users {
			visit(set)
		}
	} else {
		visit(h.users[m.UserID])
	}

	h.mu.RUnlock()

	if len(slow) > 0 {
		h.metrics.dropped.Add(h.ctx, int64(len(slow)))
	}

	for _, c := range slow {
		c.close(CloseTooSlow, reasonTooSlow)
		h.logger.Info("websocket: slow client disconnected", "user_id", c.userID, "session_id", c.sessionID)
	}

	return sent
}

func members(set map[*client]struct{}) []*client {
	out := make([]*client, 0, len(set))
	for c := range set {
		out = append(out, c)
	}

	return out
}

// CloseSession closes the local sockets of a session with
// CloseSessionEnded and returns how many.
func (h *Hub) CloseSession(sessionID string) int {
	h.mu.RLock()
	clients := members(h.sessions[sessionID])
	h.mu.RUnlock()

	for _, c := range clients {
		c.close(CloseSessionEnded, reasonSessionEnded)
	}

	return len(clients)
}

// Dispatch applies an envelope from the fan-out: its message first, then
// its session end.
func (h *Hub) Dispatch(env Envelope) {
	if env.Message != nil {
		h.Send(*env.Message)
	}

	if env.EndSession != "" {
		h.CloseSession(env.EndSession)
	}
}

// receive decodes and applies an envelope a fan-out received.
func (h *Hub) receive(payload []byte) {
	var env Envelope
	if err := json.Unmarshal(payload, &env); err != nil {
		h.logger.Warn("websocket: malformed fan-out envelope ignored", "bytes", len(payload), "error", err)

		return
	}

	h.Dispatch(env)
}

// Close refuses new sockets and closes every socket with CloseGoingAway,
// waiting until ctx ends for the close handshakes; then it drops the
// sockets that remain. It returns once every goroutine of the hub has
// stopped. Later calls do nothing.
func (h *Hub) Close(ctx context.Context) error {
	h.mu.Lock()
	already := h.closed
	h.closed = true

	var clients []*client
	for _, set := range h.users {
		clients = append(clients, members(set)...)
	}
	h.mu.Unlock()

	if already {
		return nil
	}

	for _, c := range clients {
		c.close(CloseGoingAway, reasonShutdown)
	}

	stopped := make(chan struct{})

	go func() {
		h.wg.Wait()
		close(stopped)
	}()

	select {
	case <-stopped:
		h.cancel()

		return nil
	case <-ctx.Done():
		h.cancel() // every read and write fails, so every goroutine returns
		<-stopped

		return errors.Join(errors.New("websocket: sockets still closing at shutdown were dropped"), ctx.Err())
	}
}
