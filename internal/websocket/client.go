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

// client is one socket in the hub, or one Listener (conn nil).
//
// A socket has a reader goroutine for its whole life, and a writer
// goroutine only while frames wait for it: an idle socket costs no writer
// stack. Whoever queues the first frame of a burst starts the writer,
// which returns once the queue is empty; asking the client to stop starts
// one too, to close the socket, and that last writer unregisters it.
type client struct {
	hub       *Hub
	conn      *websocket.Conn
	userID    string
	sessionID string

	mu    sync.Mutex
	queue frames
	// writing is set while a writer goroutine runs.
	writing bool
	// stopped is set, once, when the client must end, with the code and
	// reason of the close frame.
	stopped bool
	code    websocket.StatusCode
	reason  string

	// pinger pings a socket every PingInterval; timeout drops it when a
	// write takes longer than WriteTimeout (made on its first write).
	pinger  *time.Timer
	timeout *time.Timer

	// A Listener's: done is closed when it stops, wake gets a token when
	// a frame is queued.
	done chan struct{}
	wake chan struct{}
}

func newSocket(h *Hub, conn *websocket.Conn, userID, sessionID string) *client {
	return &client{hub: h, conn: conn, userID: userID, sessionID: sessionID}
}

func newListener(h *Hub, userID, sessionID string) *client {
	return &client{
		hub: h, userID: userID, sessionID: sessionID,
		done: make(chan struct{}), wake: make(chan struct{}, 1),
	}
}

// serve reads a registered socket in the calling goroutine until it fails
// or closes, then has it closed.
func (c *client) serve(ctx context.Context) {
	c.readLoop(ctx)
	c.close(websocket.StatusNormalClosure, "")
}

// enqueue queues a frame without waiting; false means SendBuffer frames
// wait already. A stopped client takes frames and drops them.
func (c *client) enqueue(b []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()

	switch {
	case c.stopped:
		return true
	case c.queue.len() >= c.hub.cfg.SendBuffer:
		return false
	}

	c.queue.push(b)

	switch {
	case c.wake != nil:
		select {
		case c.wake <- struct{}{}:
		default: // a token waits already
		}
	case !c.writing:
		c.startWriter()
	}

	return true
}

// startWriter starts a writer goroutine; c.mu is held. The hub counts it,
// while it still counts the socket's reader: every caller holds the client
// not yet stopped, or stops it, which the reader does before it returns.
func (c *client) startWriter() {
	c.writing = true
	c.hub.wg.Add(1)

	go c.writeLoop(c.hub.ctx)
}

// close asks the client to end with code and reason; only the first call
// counts. A socket's writer then closes it.
func (c *client) close(code websocket.StatusCode, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()

	if c.stopped {
		return
	}

	c.stopped, c.code, c.reason = true, code, reason

	switch {
	case c.done != nil:
		close(c.done)
	case !c.writing:
		c.startWriter()
	}
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

// writeLoop writes the queued frames and returns when none is left, unless
// the client was asked to stop: it then closes the socket and unregisters
// it. A failed write drops the socket at once.
func (c *client) writeLoop(ctx context.Context) {
	defer c.hub.wg.Done()

	for {
		b, stop := c.next()

		switch {
		case stop:
			c.shutdown(ctx)

			return
		case b == nil:
			return
		}

		if err := c.write(ctx, b); err != nil {
			c.drop(err)
		}
	}
}

// next takes the next frame for the writer, or says the client stops; nil
// and false mean the queue is empty, and the writer is done.
func (c *client) next() ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()

	switch {
	case c.stopped:
		return nil, true
	case c.queue.len() == 0:
		c.writing = false

		return nil, false
	default:
		return c.queue.pop(), false
	}
}

// shutdown closes a stopped socket and unregisters it. A socket asked to
// stop gets nothing more, even if frames wait, but for a session that
// ended: the frames queued before the end (the event that ended it, sent
// first) go out before the close.
func (c *client) shutdown(ctx context.Context) {
	c.mu.Lock()
	c.pinger.Stop()

	var last [][]byte

	if c.code == CloseSessionEnded {
		for c.queue.len() > 0 {
			last = append(last, c.queue.pop())
		}
	}

	c.queue = frames{}
	c.mu.Unlock()

	for _, b := range last {
		if c.write(ctx, b) != nil {
			break
		}
	}

	_ = c.conn.Close(c.code, c.reason) // the peer may be gone; nothing to do about it

	c.hub.unregister(c)
}

// drop closes a broken socket at once.
func (c *client) drop(err error) {
	c.hub.logger.Debug("websocket: socket dropped", "user_id", c.userID, "session_id", c.sessionID, "error", err)
	_ = c.conn.CloseNow() // already broken
	c.close(websocket.StatusAbnormalClosure, "")
}

// write writes one message within WriteTimeout. The timeout is the
// socket's own timer, reset for each write, rather than a context with a
// deadline per write: a broadcast to 10,000 sockets then allocates a
// fraction as much, and the context cannot be cancelled, which spares the
// socket watching it. A timer that fires drops the socket, which fails the
// write; so does the hub closing the socket. Only the one writer of the
// socket touches the timer.
func (c *client) write(ctx context.Context, b []byte) error {
	if c.timeout == nil {
		c.timeout = time.AfterFunc(c.hub.cfg.WriteTimeout, func() { _ = c.conn.CloseNow() })
	} else {
		c.timeout.Reset(c.hub.cfg.WriteTimeout)
	}

	err := c.conn.Write(c.hub.writes, websocket.MessageText, b)

	c.timeout.Stop()

	if err != nil {
		return fmt.Errorf("write: %w", err)
	}

	c.hub.metrics.sent.Add(ctx, 1)

	return nil
}

// ping runs on the pinger's own goroutine (register starts the timer),
// which the hub counts while the socket is live: a socket that does not
// answer within PongTimeout is dropped, one that does is pinged again
// after PingInterval.
func (c *client) ping() {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()

		return
	}

	c.hub.wg.Add(1)
	c.mu.Unlock()

	defer c.hub.wg.Done()

	ctx, cancel := context.WithTimeout(c.hub.ctx, c.hub.cfg.PongTimeout)
	err := c.conn.Ping(ctx)

	cancel()

	if err != nil {
		c.drop(fmt.Errorf("ping: %w", err))

		return
	}

	c.mu.Lock()
	if !c.stopped {
		c.pinger.Reset(c.hub.cfg.PingInterval)
	}
	c.mu.Unlock()
}

// frames is a FIFO of frames that keeps its array between bursts.
type frames struct {
	buf  [][]byte
	head int
}

func (q *frames) len() int { return len(q.buf) - q.head }

func (q *frames) push(b []byte) {
	if len(q.buf) == cap(q.buf) && q.head > 0 {
		n := copy(q.buf, q.buf[q.head:])
		clear(q.buf[n:])
		q.buf, q.head = q.buf[:n], 0
	}

	q.buf = append(q.buf, b)
}

func (q *frames) pop() []byte {
	b := q.buf[q.head]
	q.buf[q.head] = nil
	q.head++

	if q.head == len(q.buf) {
		q.buf, q.head = q.buf[:0], 0
	}

	return b
}
