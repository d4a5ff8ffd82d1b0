package pgtest

import (
	"context"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"
)

// dialTimeout bounds the proxy's connection to its target.
const dialTimeout = 5 * time.Second

// TCPProxy forwards connections from a loopback port to a target address,
// and can cut them to simulate an outage of the target (a database that
// dies and comes back) without touching the target itself.
type TCPProxy struct {
	target string
	ln     net.Listener
	wg     sync.WaitGroup

	mu     sync.Mutex
	broken bool
	conns  map[net.Conn]struct{} // both ends of every forwarded connection
}

// NewTCPProxy forwards 127.0.0.1:0 (see Addr) to target until the test
// ends.
func NewTCPProxy(t testing.TB, target string) *TCPProxy {
	t.Helper()

	var lc net.ListenConfig

	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("pgtest: proxy listen: %v", err)
	}

	p := &TCPProxy{target: target, ln: ln, conns: make(map[net.Conn]struct{})}

	p.wg.Go(p.accept)
	t.Cleanup(p.close)

	return p
}

// NewDatabaseProxy puts a proxy in front of the server of dsn (a
// postgres:// URL, such as Database.DSN) and returns it with dsn pointed
// at the proxy.
func NewDatabaseProxy(t testing.TB, dsn string) (proxy *TCPProxy, proxied string) {
	t.Helper()

	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Hostname() == "" {
		t.Fatal("pgtest: NewDatabaseProxy needs a postgres:// URL with a host")
	}

	port := u.Port()
	if port == "" {
		port = "5432"
	}

	proxy = NewTCPProxy(t, net.JoinHostPort(u.Hostname(), port))
	u.Host = proxy.Addr()

	return proxy, u.String()
}

// Addr is the address clients connect to, e.g. 127.0.0.1:41234.
func (p *TCPProxy) Addr() string { return p.ln.Addr().String() }

// Break closes every open connection and resets new ones as soon as they
// are accepted, as if the target had died: clients see their connections
// drop and new ones fail at once. The address stays the same.
func (p *TCPProxy) Break() {
	p.mu.Lock()
	defer p.mu.Unlock()

	p.broken = true

	for c := range p.conns {
		_ = c.Close()
	}
}

// Restore forwards new connections again.
func (p *TCPProxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()

	p.broken = false
}

func (p *TCPProxy) accept() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return // closed at the end of the test
		}

		p.wg.Go(func() { p.forward(client) })
	}
}

// forward pipes client to a new connection to the target until either
// side closes.
func (p *TCPProxy) forward(client net.Conn) {
	if p.isBroken() {
		reset(client)

		return
	}

	d := net.Dialer{Timeout: dialTimeout}

	target, err := d.DialContext(context.Background(), "tcp", p.target)
	if err != nil {
		reset(client)

		return
	}

	if !p.track(client, target) {
		reset(client)

		_ = target.Close()

		return
	}
	defer p.untrack(client, target)

	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)

		done <- struct{}{}
	}

	go pipe(target, client)
	go pipe(client, target)

	<-done // one side ended: end the other too

	_ = client.Close()
	_ = target.Close()

	<-done
}

func (p *TCPProxy) isBroken() bool {
	p.mu.Lock()
	defer p.mu.Unlock()

	return p.broken
}

// track records a forwarded pair unless the proxy broke meanwhile.
func (p *TCPProxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()

	if p.broken {
		return false
	}

	for _, c := range conns {
		p.conns[c] = struct{}{}
	}

	return true
}

func (p *TCPProxy) untrack(conns ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()

	for _, c := range conns {
		delete(p.conns, c)
	}
}

// close stops accepting, closes every connection and waits for the
// forwarding goroutines.
func (p *TCPProxy) close() {
	_ = p.ln.Close()

	p.Break()
	p.wg.Wait()
}

// reset closes c with a TCP RST rather than a FIN, as a host that has no
// listener on the port answers.
func reset(c net.Conn) {
	if tcp, ok := c.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}

	_ = c.Close()
}
