package testutil

import (
	"net"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/modulith/modulith/internal/grpcserver"
	"github.com/modulith/modulith/internal/registry"
	"github.com/modulith/modulith/internal/telemetry"
)

// GRPCTestServer serves a registry's modules over gRPC through the
// server's own interceptor chain (request ID, tracing, metrics and logs,
// error mapping, recovery, timeout, authentication, validation), on a
// loopback port and over the in-process channel.
type GRPCTestServer struct {
	srv  *grpcserver.GRPC
	addr string
	conn *grpc.ClientConn
}

// NewGRPCTestServer builds the server with grpcserver.New and serves it on
// 127.0.0.1 until the test ends, when the server stops and the client
// connection closes.
//
// The chain needs initialized modules (the auth module provides the session
// check), so NewGRPCTestServer first calls reg.InitializeAll unless that has
// run. Traces and metrics go to the OpenTelemetry
// globals (no-ops unless the test installs providers) and logs to the
// registry's logger.
func NewGRPCTestServer(t testing.TB, reg *registry.Registry) *GRPCTestServer {
	t.Helper()

	if reg.Config() == nil {
		t.Fatal("testutil: the registry has no configuration (use RegistryBuilder)")
	}

	if !reg.Initialized() {
		if err := reg.InitializeAll(); err != nil {
			t.Fatalf("testutil: %v", err)
		}
	}

	srv, err := grpcserver.New(grpcserver.Deps{
		Config: reg.Config(), Registry: reg, Logger: reg.Logger("grpc"),
		Meter:  otel.GetMeterProvider().Meter(telemetry.InstrumentationName),
		Tracer: otel.GetTracerProvider(), Propagator: propagation.TraceContext{},
	})
	if err != nil {
		t.Fatalf("testutil: gRPC server: %v", err)
	}

	var lc net.ListenConfig

	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testutil: listen: %v", err)
	}

	served := make(chan error, 1)

	go func() { served <- srv.Server.Serve(ln) }()

	s := &GRPCTestServer{srv: srv, addr: ln.Addr().String()}

	t.Cleanup(func() {
		srv.Server.Stop()

		if err := <-served; err != nil {
			t.Errorf("testutil: gRPC server: %v", err)
		}
	})

	s.conn, err = grpc.NewClient(s.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("testutil: gRPC client: %v", err)
	}

	t.Cleanup(func() { _ = s.conn.Close() })

	return s
}

// Addr is the server's address, e.g. 127.0.0.1:41235.
func (s *GRPCTestServer) Addr() string { return s.addr }

// Conn is a client connection to the server over the network.
func (s *GRPCTestServer) Conn() *grpc.ClientConn { return s.conn }

// InProcess is the in-process channel: the same chain without a socket, as
// the REST gateway and other modules call it.
func (s *GRPCTestServer) InProcess() grpc.ClientConnInterface { return s.srv.Conn }
