package websocket

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// readLimit bounds a client message. Clients have nothing to say on this
// socket: their data messages are read and ignored, and one longer than
// this closes the socket with 1009 (message too big). Control frames
// (ping, pong, close) are at most 125 bytes.
const readLimit = 1024

// client is one socket in the hub.
type client struct {
	hub       *Hub
	conn      *websocket.Conn
	userID    string
	sessionID string

	// send queues text frames for the writer; it is never closed.
	send chan []byte

	// stop is closed, once, when the socket must close with code and
	// reason, which are written before it is closed.
	stop     chan struct{}
	stopOnce sync.Once
	code     websocket.StatusCode
	reason   string
}

func newClient(h *Hub, conn *websocket.Conn, userID, sessionID string) *client {
	return &client{
		hub: h, conn: conn, userID: userID, sessionID: sessionID,
		send: make(chan []byte, h.cfg.SendBuffer),
		stop: make(chan struct{}),
	}
}

// enqueue queues a frame without waiting; false means the queue is full.
func (c *client) enqueue(b []byte) bool {
	select {
	case c.send <- b:
		return true
	default:
		return false
	}
}

// close asks the writer to close the socket with code and reason; only the
// first call counts.
func (c *client) close(code websocket.StatusCode, reason string) {
	c.stopOnce.Do(func() {
		c.code, c.reason = code, reason
		close(c.stop)
	})
}

// readLoop reads until the socket fails or closes, discarding data
// messages. Reading is also what answers pings and receives pongs and the
// close frame.
func (c *client) readLoop(ctx context.Context) {
	c.conn.SetReadLimit(readLimit)

	for {
		_, r, err := c.conn.Reader(ctx)
		if err != nil {
			return
		}

		if _, err := io.Copy(io.Discard, r); err != nil {
			return
		}

		c.hub.metrics.received.Add(ctx, 1)
	}
}

// writeLoop writes queued frames and pings until asked to stop, then
// closes the socket; a failed write or a missed pong drops it at once.
func (c *client) writeLoop(ctx context.Context) {
	ping := time.NewTicker(c.hub.cfg.PingInterval)
	defer ping.Stop()

	timeout := time.AfterFunc(time.Hour, func() { _ = c.conn.CloseNow() })
	timeout.Stop()

	defer timeout.Stop()

	for {
		// A socket asked to stop gets nothing more, even if frames wait,
		// but for a session that ended: the frames queued before the end
		// (the event that ended it, sent first) go out before the close.
		select {
		case <-c.stop:
			if c.code == CloseSessionEnded {
				c.flush(ctx, timeout)
			}

			_ = c.conn.Close(c.code, c.reason) // the peer may be gone; nothing to do about it

			return
		default:
		}

		var err error

		select {
		case <-c.stop:
			continue
		case b := <-c.send:
			err = c.write(ctx, b, timeout)
		case <-ping.C:
			err = c.ping(ctx)
		}

		if err != nil {
			c.hub.logger.Debug("websocket: socket dropped", "user_id", c.userID, "session_id", c.sessionID, "error", err)
			_ = c.conn.CloseNow() // already broken

			return
		}
	}
}

// flush writes the frames already queued, without waiting for more, and
// stops at the first failure.
func (c *client) flush(ctx context.Context, timeout *time.Timer) {
	for {
		select {
		case b := <-c.send:
			if c.write(ctx, b, timeout) != nil {
				return
			}
		default:
			return
		}
	}
}

// write writes one message within WriteTimeout. The timeout is the
// writer's own timer, reset for each write, rather than a context with a
// deadline per write: a broadcast to 10,000 sockets then allocates a
// fraction as much. A timer that fires drops the socket, which fails the
// write; so does the hub closing the socket.
func (c *client) write(ctx context.Context, b []byte, timeout *time.Timer) error {
	timeout.Reset(c.hub.cfg.WriteTimeout)
	err := c.conn.Write(context.WithoutCancel(ctx), websocket.MessageText, b)

	timeout.Stop()

	if err != nil {
		return fmt.Errorf("write: %w", err)
	}

	c.hub.metrics.sent.Add(ctx, 1)

	return nil
}

func (c *client) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.hub.cfg.PongTimeout)
	defer cancel()

	if err := c.conn.Ping(ctx); err != nil {
		return fmt.Errorf("ping: %w", err)
	}

	return nil
}
