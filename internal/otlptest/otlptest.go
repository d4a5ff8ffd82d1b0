// Package otlptest runs an OpenTelemetry collector in a test: an OTLP trace
// receiver over gRPC and over HTTP (http/protobuf) on loopback ports, which
// keeps every span it receives with the resource that sent it.
package otlptest

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	collectortracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// Span is a received span with the service.name of its resource and the
// protocol it came over ("grpc" or "http/protobuf").
type Span struct {
	*tracepb.Span

	Service  string
	Protocol string
}

// TraceID is the span's trace ID in hex.
func (s Span) TraceID() string { return hex.EncodeToString(s.GetTraceId()) }

// SpanID is the span's ID in hex.
func (s Span) SpanID() string { return hex.EncodeToString(s.GetSpanId()) }

// ParentID is the span's parent's ID in hex, "" for a root span.
func (s Span) ParentID() string { return hex.EncodeToString(s.GetParentSpanId()) }

// Attr is the value of the span's string attribute key, "" without it.
func (s Span) Attr(key string) string {
	for _, kv := range s.GetAttributes() {
		if kv.GetKey() == key {
			return kv.GetValue().GetStringValue()
		}
	}

	return ""
}

// Collector receives OTLP traces until the test ends.
type Collector struct {
	collectortracepb.UnimplementedTraceServiceServer

	// GRPCAddr is the host:port of the OTLP/gRPC receiver.
	GRPCAddr string
	// HTTPURL is the base URL of the OTLP/HTTP receiver, which serves
	// POST /v1/traces.
	HTTPURL string

	mu    sync.Mutex
	spans []Span
}

// Start starts both receivers on free loopback ports; they stop when the
// test ends.
func Start(t testing.TB) *Collector {
	t.Helper()

	c := &Collector{}
	c.GRPCAddr = c.serveGRPC(t)
	c.HTTPURL = "http://" + c.serveHTTP(t)

	return c
}

func listen(t testing.TB) net.Listener {
	t.Helper()

	var lc net.ListenConfig

	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}

	return ln
}

func (c *Collector) serveGRPC(t testing.TB) string {
	t.Helper()

	ln := listen(t)
	srv := grpc.NewServer()
	collectortracepb.RegisterTraceServiceServer(srv, c)

	go func() { _ = srv.Serve(ln) }()

	t.Cleanup(srv.Stop)

	return ln.Addr().String()
}

func (c *Collector) serveHTTP(t testing.TB) string {
	t.Helper()

	ln := listen(t)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", c.serveTraces)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	go func() { _ = srv.Serve(ln) }()

	t.Cleanup(func() { _ = srv.Close() })

	return ln.Addr().String()
}

// serveTraces is the OTLP/HTTP trace endpoint (binary protobuf).
func (c *Collector) serveTraces(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)

		return
	}

	var req collectortracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)

		return
	}

	c.keep(&req, "http/protobuf")

	resp, err := proto.Marshal(&collectortracepb.ExportTraceServiceResponse{})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)

		return
	}

	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(resp)
}

// Export is the OTLP/gRPC trace endpoint.
func (c *Collector) Export(_ context.Context, req *collectortracepb.ExportTraceServiceRequest) (*collectortracepb.ExportTraceServiceResponse, error) {
	if req == nil {
		return nil, errors.New("no request")
	}

	c.keep(req, "grpc")

	return &collectortracepb.ExportTraceServiceResponse{}, nil
}

func (c *Collector) keep(req *collectortracepb.ExportTraceServiceRequest, protocol string) {
	c.mu.Lock()
	defer c.mu.Unlock()

	for _, rs := range req.GetResourceSpans() {
		service := ""

		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				service = kv.GetValue().GetStringValue()
			}
		}

		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				c.spans = append(c.spans, Span{Span: s, Service: service, Protocol: protocol})
			}
		}
	}
}

// Spans returns every span received so far.
func (c *Collector) Spans() []Span {
	c.mu.Lock()
	defer c.mu.Unlock()

	return append([]Span(nil), c.spans...)
}
