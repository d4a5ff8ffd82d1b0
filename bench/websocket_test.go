package bench

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"
)

const (
	// wsGoalConns is how many sockets BenchmarkWebSocket opens unless
	// BENCH_WS_CONNS says otherwise, or the processes may not hold as many
	// files (each socket costs the server one and the client one): then as
	// many as they may, less wsSpareFiles for the rest of the server.
	wsGoalConns  = 50000
	wsSpareFiles = 500
	// wsWindow is how many broadcasts the throughput runs keep in flight:
	// enough to keep every writer busy, well under the hub's default
	// SendBuffer (64), past which a socket counts as too slow and closes.
	wsWindow = 16
)

// BenchmarkWebSocket measures broadcasting on one instance: a real Hub
// behind the real /ws handler (real access tokens, default configuration)
// holding BENCH_WS_CONNS sockets (50,000 by default, or as many as a
// process may hold files, less 500) opened by a client
// process of its own (see TestMain). The baseline, measured first, serves
// the same number of plain coder/websocket connections and broadcasts by
// writing the same frame to each in a loop, with no hub.
//
// Each server's sockets are opened once, for its two runs:
//   - latency: one broadcast at a time, timed from the send (hub.Send, or
//     the start of the loop) to its receipt by the last socket (every
//     socket received it); p50 and p99 over broadcasts, and msgs/s. The
//     same run reports the sockets held and, server side, the heap and
//     stack they cost (B/conn) and how fast they connected (conns/s).
//   - throughput: wsWindow broadcasts in flight; msgs/s, deliveries/s
//     (messages written to sockets), and a p99 that includes the wait
//     behind the broadcasts ahead.
//
// Goals: 50,000 sockets held, broadcast p99 ≤ 200 ms, ≤ 15 KB per socket.
func BenchmarkWebSocket(b *testing.B) {
	n := wsConns(b)
	base := &wsRun{name: "baseline-loop", start: startBareServer, n: n}
	hub := &wsRun{name: "hub", start: startHubServer, n: n, base: base}

	for _, r := range []*wsRun{base, hub} {
		b.Cleanup(r.close) // if a run panics; otherwise closed below

		b.Run(r.name+"/latency", r.latency)
		b.Run(r.name+"/throughput", r.throughput)

		// Release the sockets before the next server opens as many.
		r.close()
	}
}

func wsConns(b *testing.B) int {
	b.Helper()

	v := os.Getenv(envWSConns)
	if v == "" {
		var lim syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			b.Fatal(err)
		}

		// The Go runtime raised the soft limit to the hard one already.
		if n := int(min(lim.Cur, wsGoalConns+wsSpareFiles)) - wsSpareFiles; n < wsGoalConns {
			b.Logf("%d sockets, not %d: a process may hold %d files here (ulimit -n)", n, wsGoalConns, lim.Cur)

			return max(n, 1)
		}

		return wsGoalConns
	}

	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive number of sockets", envWSConns, v)
	}

	return n
}

// wsRun is one server under test with its sockets, opened on first use
// and shared by the runs; its figures are the baseline of the next.
type wsRun struct {
	name  string
	start func() (*wsServer, error)
	n     int
	base  *wsRun

	server *wsServer
	client *wsClientProcess
	broken bool
	seq    int64

	connectRate, bytesPerConn float64
	p99, rate                 float64 // ms; msgs/s
}

// open starts the server and the client and measures the connecting.
func (r *wsRun) open(b *testing.B) {
	b.Helper()

	if r.broken {
		b.Fatal("sockets unusable after an earlier failure")
	}

	if r.server != nil {
		return
	}

	r.broken = true // until every socket is open

	before := memInUse()

	server, err := r.start()
	if err != nil {
		b.Fatal(err)
	}

	r.server = server

	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}

	client, err := startWSClient(self, server.url, r.n)
	if err != nil {
		b.Fatal(err)
	}

	r.client = client

	took, err := client.awaitConnected()
	if err != nil {
		b.Fatal(err)
	}

	if err := awaitConns(server, r.n); err != nil {
		b.Fatal(err)
	}

	r.connectRate = float64(r.n) / took.Seconds()
	r.bytesPerConn = (memInUse() - before) / float64(r.n)
	r.broken = false
}

// memInUse is the bytes of live heap and goroutine stacks after a
// collection.
func memInUse() float64 {
	runtime.GC()

	var m runtime.MemStats

	runtime.ReadMemStats(&m)

	return float64(m.HeapAlloc) + float64(m.StackInuse)
}

// awaitConns waits until the server holds n sockets: the client has its
// end of a socket before the server has registered its own.
func awaitConns(s *wsServer, n int) error {
	deadline := time.Now().Add(wsReportTimeout)

	for s.conns() != n {
		if time.Now().After(deadline) {
			return fmt.Errorf("server holds %d sockets, want %d", s.conns(), n)
		}

		time.Sleep(10 * time.Millisecond)
	}

	return nil
}

func (r *wsRun) latency(b *testing.B) {
	r.open(b)

	lat, elapsed := r.broadcast(b, 1)
	r.p99 = ms(percentile(lat, 0.99))

	b.ReportMetric(float64(r.server.conns()), "conns")
	b.ReportMetric(r.connectRate, "conns/s")
	b.ReportMetric(r.bytesPerConn, "B/conn")
	b.ReportMetric(ms(percentile(lat, 0.50)), "p50-ms")
	b.ReportMetric(r.p99, "p99-ms")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")

	if r.base != nil && r.base.p99 > 0 {
		b.ReportMetric(r.p99/r.base.p99, "x-baseline-p99")
		b.ReportMetric(r.bytesPerConn/r.base.bytesPerConn, "x-baseline-B/conn")
	}
}

func (r *wsRun) throughput(b *testing.B) {
	r.open(b)

	lat, elapsed := r.broadcast(b, wsWindow)
	r.rate = float64(b.N) / elapsed.Seconds()

	b.ReportMetric(r.rate, "msgs/s")
	b.ReportMetric(r.rate*float64(r.n), "deliveries/s")
	b.ReportMetric(ms(percentile(lat, 0.99)), "p99-ms")

	if r.base != nil && r.base.rate > 0 {
		b.ReportMetric(r.rate/r.base.rate, "x-baseline")
	}
}

// broadcast sends b.N broadcasts, up to window at a time, and returns, in
// order, how long each took to reach every socket, and the elapsed time.
func (r *wsRun) broadcast(b *testing.B, window int) ([]time.Duration, time.Duration) {
	b.Helper()

	r.broken = true // unless every broadcast arrives

	sentAt := make(map[int64]int64, window) // seq → Unix nanoseconds
	lat := make([]time.Duration, 0, b.N)

	b.ResetTimer()

	start := time.Now()

	for sent := 0; sent < b.N || len(sentAt) > 0; {
		if sent < b.N && len(sentAt) < window {
			seq := r.seq
			r.seq++
			sentAt[seq] = time.Now().UnixNano()

			if err := r.server.broadcast(seq, r.n); err != nil {
				b.Fatal(err)
			}

			sent++

			continue
		}

		d, err := r.client.next()
		if err != nil {
			b.Fatal(err)
		}

		at, ok := sentAt[d.seq]
		if !ok {
			b.Fatalf("broadcast %d reported, never sent", d.seq)
		}

		delete(sentAt, d.seq)
		lat = append(lat, time.Duration(d.last-at))
	}

	elapsed := time.Since(start)

	b.StopTimer()

	r.broken = false

	slices.Sort(lat)

	return lat, elapsed
}

// close ends the client, which drops its sockets, then the server.
func (r *wsRun) close() {
	if r.client != nil {
		r.client.stop()
		r.client = nil
	}

	if r.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), wsReportTimeout)
		defer cancel()

		_ = r.server.close(ctx) // the figures are taken; the sockets are gone
		r.server = nil
	}

	r.broken = true
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
