package grpcclient_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	grpcdns "google.golang.org/grpc/resolver/dns"

	"github.com/modulith/modulith/internal/grpcclient"
)

// backendName is the DNS name the test's resolver answers for, as a
// Kubernetes headless Service name answers with its pods' addresses.
const backendName = "auth-grpc.shop.svc.cluster.local."

// TestDNSRoundRobin dials a dns:/// target, as REMOTE_MODULES does for a
// headless Service, through a real DNS server on loopback that answers
// with several backends' addresses: calls are spread over every backend,
// a backend added to the answer later gets calls once the servers' maximum
// connection age makes the client resolve again, and calls go on without
// an error when a backend goes away.
func TestDNSRoundRobin(t *testing.T) {
	// gRPC resolves a name at most every 30 s by default; the test's
	// connections age in 300 ms.
	grpcdns.SetMinResolutionInterval(50 * time.Millisecond)

	backends := startBackends(t, 3)
	resolver := startDNS(t)
	resolver.set(backends[0].ip, backends[1].ip)

	port := strconv.Itoa(backends[0].port)
	target := "dns://" + resolver.addr + "/" + strings.TrimSuffix(backendName, ".") + ":" + port

	conn, err := grpcclient.Dial(target, grpcclient.Config{Timeout: 5 * time.Second, Retries: 3})
	if err != nil {
		t.Fatalf("Dial(%s) = %v", target, err)
	}

	t.Cleanup(func() { _ = conn.Close() })

	client := healthpb.NewHealthClient(conn)

	// Until both connections are up, round-robin has one to pick.
	waitCalls(t, client, backends[0], backends[1])

	a0, b0 := backends[0].calls.Load(), backends[1].calls.Load()

	callAll(t, client, 40)

	if a, b, c := backends[0].calls.Load()-a0, backends[1].calls.Load()-b0, backends[2].calls.Load(); a < 10 || b < 10 || c != 0 {
		t.Fatalf("40 calls over two resolved backends reached them %d, %d, and the unlisted one %d times; want at least 10 each and 0", a, b, c)
	}

	// Scale up: the third backend joins the answer.
	resolver.set(backends[0].ip, backends[1].ip, backends[2].ip)

	waitCalls(t, client, backends[2])

	// Scale down: the first backend stops and leaves the answer.
	resolver.set(backends[1].ip, backends[2].ip)
	backends[0].srv.Stop()

	before := backends[1].calls.Load() + backends[2].calls.Load()

	callAll(t, client, 30)

	if got := backends[1].calls.Load() + backends[2].calls.Load() - before; got != 30 {
		t.Errorf("after a backend stopped, the other two served %d of 30 calls, want 30", got)
	}
}

// waitCalls calls until each of the backends has had a call, for at most
// 10 s.
func waitCalls(t *testing.T, client healthpb.HealthClient, backends ...*backend) {
	t.Helper()

	deadline := time.Now().Add(10 * time.Second)

	for _, b := range backends {
		for b.calls.Load() == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("backend %s got no call within 10s of being in the DNS answer", b.ip)
			}

			callAll(t, client, 5)
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// callAll makes n health checks, each of which must succeed.
func callAll(t *testing.T, client healthpb.HealthClient, n int) {
	t.Helper()

	for i := range n {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		_, err := client.Check(ctx, &healthpb.HealthCheckRequest{})

		cancel()

		if err != nil {
			t.Fatalf("call %d: Check() = %v", i, err)
		}
	}
}

// backend is a gRPC server on one loopback address.
type backend struct {
	ip    net.IP
	port  int
	srv   *grpc.Server
	calls atomic.Int64
}

// startBackends starts n gRPC servers with the health service on the same
// port of 127.0.0.1, 127.0.0.2, … (all loopback on Linux), as pods of one
// Service listen on the same port of different IPs. Their connections age
// after 300 ms, as the platform's servers' do after
// GRPC_MAX_CONNECTION_AGE.
func startBackends(t *testing.T, n int) []*backend {
	t.Helper()

	for range 20 {
		if backends, err := tryBackends(t, n); err == nil {
			return backends
		}
	}

	t.Fatalf("no port free on 127.0.0.1-127.0.0.%d", n)

	return nil
}

func tryBackends(t *testing.T, n int) ([]*backend, error) {
	t.Helper()

	var (
		lc        net.ListenConfig
		listeners []net.Listener
		port      = "0"
	)

	for i := range n {
		ln, err := lc.Listen(t.Context(), "tcp", net.JoinHostPort(fmt.Sprintf("127.0.0.%d", i+1), port))
		if err != nil {
			for _, l := range listeners {
				_ = l.Close()
			}

			return nil, fmt.Errorf("listen: %w", err)
		}

		listeners = append(listeners, ln)
		_, port, _ = net.SplitHostPort(ln.Addr().String())
	}

	backends := make([]*backend, n)

	for i, ln := range listeners {
		addr, _ := ln.Addr().(*net.TCPAddr)
		b := &backend{ip: addr.IP, port: addr.Port}
		b.srv = grpc.NewServer(
			grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionAge: 300 * time.Millisecond, MaxConnectionAgeGrace: time.Second}),
			grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
				b.calls.Add(1)

				return handler(ctx, req)
			}),
		)
		healthpb.RegisterHealthServer(b.srv, health.NewServer())

		served := make(chan error, 1)

		go func() { served <- b.srv.Serve(ln) }()

		t.Cleanup(func() {
			b.srv.Stop()

			if err := <-served; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
				t.Errorf("serve %s: %v", ln.Addr(), err)
			}
		})

		backends[i] = b
	}

	return backends, nil
}

// dnsServer answers A queries for backendName with the addresses it is
// set to, and nothing else, over UDP on loopback.
type dnsServer struct {
	addr  string
	mu    sync.Mutex
	addrs []net.IP
}

func startDNS(t *testing.T) *dnsServer {
	t.Helper()

	pc, err := (&net.ListenConfig{}).ListenPacket(t.Context(), "udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}

	d := &dnsServer{addr: pc.LocalAddr().String()}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(d.serve), NotifyStartedFunc: func() { close(started) }}
	served := make(chan error, 1)

	go func() { served <- srv.ActivateAndServe() }()

	<-started

	t.Cleanup(func() {
		if err := srv.Shutdown(); err != nil {
			t.Errorf("dns shutdown: %v", err)
		}

		if err := <-served; err != nil {
			t.Errorf("dns serve: %v", err)
		}
	})

	return d
}

func (d *dnsServer) set(addrs ...net.IP) {
	d.mu.Lock()
	defer d.mu.Unlock()

	d.addrs = addrs
}

func (d *dnsServer) serve(w dns.ResponseWriter, r *dns.Msg) {
	d.mu.Lock()
	addrs := d.addrs
	d.mu.Unlock()

	m := new(dns.Msg)
	m.SetReply(r)

	for _, q := range r.Question {
		if q.Qtype != dns.TypeA || !strings.EqualFold(q.Name, backendName) {
			continue // AAAA, TXT (_grpc_config.…): an empty answer
		}

		for _, ip := range addrs {
			m.Answer = append(m.Answer, &dns.A{
				Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 1},
				A:   ip,
			})
		}
	}

	_ = w.WriteMsg(m)
}
