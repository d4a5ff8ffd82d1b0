package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/sync/errgroup"

	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/secrets"
)

// The client half of BenchmarkWebSocket runs in a process of its own, for
// the file descriptors: a process may hold 20,000, and the server holds
// one per socket already. The benchmark starts this test binary again with
// BENCH_WS_CLIENT=1; TestMain then runs the client instead of the tests, so
// that no test exists that only the benchmark runs (and CI would skip).
const (
	envWSClient = "BENCH_WS_CLIENT" // "1" in the client process
	envWSURL    = "BENCH_WS_URL"    // the server's ws:// URL of /ws
	envWSConns  = "BENCH_WS_CONNS"  // sockets to open; also read by the benchmark
	envSecret   = "BENCH_SECRET"    // the benchmark's secret, which signs the client's tokens
)

// The client's report protocol: lines on stdout, each starting with
// wsPrefix (the testing package may print lines of its own):
//
//	wsbench connected <sockets> <nanoseconds the connecting took>
//	wsbench done <seq> <first receipt> <last receipt>   (Unix nanoseconds)
//	wsbench lost <message>                              (a socket ended)
//	wsbench error <message>                             (the client gives up)
//
// "done" comes once every socket received broadcast <seq>. Both processes
// run on one host and read the wall clock, so receipt times compare with
// the server's send times. The client stops when its stdin closes.
const (
	wsPrefix      = "wsbench "
	wsConnected   = "connected"
	wsDone        = "done"
	wsLost        = "lost"
	wsError       = "error"
	wsRing        = 1024 // broadcasts tracked at once; far more than the window
	wsDialers     = 128  // dials in flight, well under the listen backlog
	wsDialTimeout = 30 * time.Second
)

func TestMain(m *testing.M) {
	// A process started by the benchmark signs with the benchmark's secret.
	if s := os.Getenv(envSecret); s != "" {
		secret = s
	}

	if os.Getenv(envWSClient) == "1" {
		os.Exit(runWSClient(os.Getenv, os.Stdin, os.Stdout))
	}

	if os.Getenv(envLoad) != "" {
		os.Exit(runLoadClient(os.Getenv, os.Stdout))
	}

	os.Exit(m.Run())
}

// runWSClient connects the sockets, reports receipts until stdin closes,
// then drops the sockets; it returns the exit code.
func runWSClient(getenv func(string) string, stdin io.Reader, stdout io.Writer) int {
	out := newWSReporter(stdout)

	n, err := strconv.Atoi(getenv(envWSConns))
	if err != nil || n < 1 {
		out.line(wsError, fmt.Sprintf("%s=%q: want a positive number", envWSConns, getenv(envWSConns)))

		return 2
	}

	c := &wsClient{n: int64(n), out: out}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	start := time.Now()

	if err := c.connect(ctx, getenv(envWSURL)); err != nil {
		out.line(wsError, err.Error())
		c.dropAll()

		return 1
	}

	out.line(wsConnected, strconv.Itoa(n), strconv.FormatInt(int64(time.Since(start)), 10))

	for _, conn := range c.conns {
		go c.read(ctx, conn)
	}

	_, _ = io.Copy(io.Discard, stdin) // until the benchmark closes stdin

	c.closing.Store(true)
	c.dropAll()

	return 0
}

// wsClient holds the sockets and counts receipts per broadcast.
type wsClient struct {
	n     int64
	out   *wsReporter
	mu    sync.Mutex
	conns []*websocket.Conn
	ring  [wsRing]wsSlot

	closing atomic.Bool
}

// wsSlot counts the receipts of one broadcast.
type wsSlot struct {
	count       atomic.Int64
	first, last atomic.Int64 // Unix nanoseconds
}

// connect opens c.n sockets, wsDialers at a time, each as a user of its own
// (the hub caps sockets per user) with a real access token.
func (c *wsClient) connect(ctx context.Context, url string) error {
	tokens, err := authn.NewTokens(authn.TokenConfig{Secret: secrets.Fixed([]byte(secret)), Issuer: "modulith", Audience: "modulith"})
	if err != nil {
		return fmt.Errorf("tokens: %w", err)
	}

	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(wsDialers)

	for i := range c.n {
		g.Go(func() error {
			token, _, err := tokens.IssueAccess("user_"+strconv.FormatInt(i, 10), "sess_"+strconv.FormatInt(i, 10),
				"user", time.Now(), time.Hour)
			if err != nil {
				return fmt.Errorf("token: %w", err)
			}

			conn, err := dial(ctx, url, token)
			if err != nil {
				return fmt.Errorf("socket %d: %w", i, err)
			}

			c.mu.Lock()
			c.conns = append(c.conns, conn)
			c.mu.Unlock()

			return nil
		})
	}

	return g.Wait()
}

// dial opens one socket, trying again a few times: under load the listen
// backlog can overflow and a connection be reset.
func dial(ctx context.Context, url, token string) (*websocket.Conn, error) {
	var err error

	for attempt := range 3 {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * 100 * time.Millisecond)
		}

		dialCtx, cancel := context.WithTimeout(ctx, wsDialTimeout)

		var (
			conn *websocket.Conn
			resp *http.Response
		)

		conn, resp, err = websocket.Dial(dialCtx, url, &websocket.DialOptions{
			HTTPHeader: http.Header{"Authorization": {"Bearer " + token}},
		})

		cancel()

		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}

		if err == nil {
			return conn, nil
		}
	}

	return nil, fmt.Errorf("dial: %w", err)
}

// read records the receipt of each broadcast on conn until it fails.
func (c *wsClient) read(ctx context.Context, conn *websocket.Conn) {
	var buf bytes.Buffer

	for {
		_, r, err := conn.Reader(ctx)
		if err == nil {
			buf.Reset()
			_, err = buf.ReadFrom(r)
		}

		if err != nil {
			if !c.closing.Load() {
				c.out.line(wsLost, err.Error())
			}

			return
		}

		c.received(seqOf(buf.Bytes()), time.Now().UnixNano())
	}
}

// received counts one receipt of broadcast seq at t; the last one of the n
// sockets reports the broadcast done. Times are recorded before the count,
// so the last counter sees every socket's.
func (c *wsClient) received(seq, t int64) {
	if seq < 0 {
		return
	}

	s := &c.ring[seq%wsRing]

	storeIf(&s.first, t, func(old int64) bool { return old == 0 || t < old })
	storeIf(&s.last, t, func(old int64) bool { return t > old })

	if s.count.Add(1) != c.n {
		return
	}

	first, last := s.first.Swap(0), s.last.Swap(0)
	s.count.Store(0) // before the report: the next use of the slot follows it

	c.out.line(wsDone, strconv.FormatInt(seq, 10), strconv.FormatInt(first, 10), strconv.FormatInt(last, 10))
}

// storeIf stores v in a while better(the value held) holds.
func storeIf(a *atomic.Int64, v int64, better func(old int64) bool) {
	for {
		old := a.Load()
		if !better(old) || a.CompareAndSwap(old, v) {
			return
		}
	}
}

// dropAll closes every socket at once, without a closing handshake.
func (c *wsClient) dropAll() {
	c.mu.Lock()
	defer c.mu.Unlock()

	for _, conn := range c.conns {
		_ = conn.CloseNow()
	}
}

// seqOf returns the "seq" number of a broadcast frame, -1 if it has none.
// It is found, not decoded: the client must keep up with the server.
func seqOf(frame []byte) int64 {
	const key = `"seq":`

	i := bytes.Index(frame, []byte(key))
	if i < 0 {
		return -1
	}

	rest := frame[i+len(key):]
	end := bytes.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })

	if end < 0 {
		end = len(rest)
	}

	seq, err := strconv.ParseInt(string(rest[:end]), 10, 64)
	if err != nil {
		return -1
	}

	return seq
}

// wsReporter writes whole report lines, one at a time.
type wsReporter struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func newWSReporter(w io.Writer) *wsReporter { return &wsReporter{w: bufio.NewWriter(w)} }

func (r *wsReporter) line(kind string, fields ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()

	_, _ = r.w.WriteString(wsPrefix + kind)

	for _, f := range fields {
		_ = r.w.WriteByte(' ')
		_, _ = r.w.Write(bytes.ReplaceAll([]byte(f), []byte("\n"), []byte(" ")))
	}

	_ = r.w.WriteByte('\n')
	_ = r.w.Flush() // the benchmark waits for this line; a broken stdout ends the run anyway
}

// errWSClient marks what the client process reported or how it ended.
var errWSClient = errors.New("websocket client")
