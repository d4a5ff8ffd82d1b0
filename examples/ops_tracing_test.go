package examples

import (
	"bytes"
	"context"
	"encoding/hex"
	"net"
	"net/http"
	"sync"
	"testing"

	collectortracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
)

// The trace context the test's client sends: a sampled span of its own.
const (
	clientTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	clientSpanID  = "00f067aa0ba902b7"
)

// TestOneTraceSpansRESTToRepository follows one REST call through the
// server's spans, exported over OTLP to a collector the test runs: the
// HTTP span continues the client's trace, the gRPC span of the in-process
// call is its child, the service span the gRPC span's, and the repository
// span the service span's.
//
// It does not run in parallel: the service and repository spans come from
// the global tracer provider, which every server started in this process
// replaces, so only a server alone in the process gets them all.
func TestOneTraceSpansRESTToRepository(t *testing.T) {
	collector := startTraceCollector(t)
	db := freshDSN(t)
	s := runServer(t, envWith(harnessEnv(db),
		"OTEL_EXPORTER_OTLP_ENDPOINT", collector.addr, "OTEL_EXPORTER_OTLP_INSECURE", "true"))

	tok := s.login(t, "traced@example.com")

	const requestID = "trace-test-request"

	r := s.sendReq(t, s.newReq(t, http.MethodGet, profilePath,
		"Authorization", "Bearer "+tok.Access,
		"Traceparent", "00-"+clientTraceID+"-"+clientSpanID+"-01",
		"X-Request-ID", requestID))
	if r.Status != http.StatusOK {
		t.Fatalf("GET %s = %d %s, want 200", profilePath, r.Status, r.Body)
	}

	if err := s.Stop(); err != nil { // flushes the spans
		t.Fatalf("stop server: %v", err)
	}

	spans := collector.trace(t, clientTraceID)
	chain := []struct{ name, parent string }{
		{"GET " + profilePath, clientSpanID},
		{"auth.v1.AuthService/GetProfile", "GET " + profilePath},
		{"auth.service/GetProfile", "auth.v1.AuthService/GetProfile"},
		{"auth.repository/User", "auth.service/GetProfile"},
	}

	for _, link := range chain {
		checkParent(t, spans, link.name, link.parent)
	}

	checkServerKind(t, spans, "GET "+profilePath, "auth.v1.AuthService/GetProfile")

	line, err := s.logs.wait(logWait, func(l logLine) bool { return l.Msg() == "http request" && l.String("request_id") == requestID })
	if err != nil {
		t.Fatalf("no http request line with request_id %s", requestID)
	}

	if got := line.String("trace_id"); got != clientTraceID {
		t.Errorf("http request line trace_id = %q, want %q", got, clientTraceID)
	}
}

// checkParent checks that the span named name is a child of the span named
// parent, or of the span ID parent (the client's span).
func checkParent(t *testing.T, spans map[string]*tracepb.Span, name, parent string) {
	t.Helper()

	span, ok := spans[name]
	if !ok {
		t.Errorf("trace has no span %q (has %v)", name, names(spans))

		return
	}

	want := clientSpanID
	if p, ok := spans[parent]; ok {
		want = hex.EncodeToString(p.GetSpanId())
	} else if parent != clientSpanID {
		return // reported for the parent itself
	}

	if got := hex.EncodeToString(span.GetParentSpanId()); got != want {
		t.Errorf("span %q has parent %s, want %s (%s)", name, got, want, parent)
	}
}

func checkServerKind(t *testing.T, spans map[string]*tracepb.Span, names ...string) {
	t.Helper()

	for _, name := range names {
		if span, ok := spans[name]; ok && span.GetKind() != tracepb.Span_SPAN_KIND_SERVER {
			t.Errorf("span %q kind = %v, want SERVER", name, span.GetKind())
		}
	}
}

func names(spans map[string]*tracepb.Span) []string {
	out := make([]string, 0, len(spans))
	for name := range spans {
		out = append(out, name)
	}

	return out
}

// traceCollector is an OTLP/gRPC trace receiver that keeps every span.
type traceCollector struct {
	collectortracepb.UnimplementedTraceServiceServer

	addr  string
	mu    sync.Mutex
	spans []*tracepb.Span
}

func startTraceCollector(t *testing.T) *traceCollector {
	t.Helper()

	var lc net.ListenConfig

	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}

	c := &traceCollector{addr: ln.Addr().String()}
	srv := grpc.NewServer()
	collectortracepb.RegisterTraceServiceServer(srv, c)

	go func() { _ = srv.Serve(ln) }()

	t.Cleanup(srv.Stop)

	return c
}

// Export records the spans of a batch.
func (c *traceCollector) Export(_ context.Context, req *collectortracepb.ExportTraceServiceRequest) (*collectortracepb.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()

	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			c.spans = append(c.spans, ss.GetSpans()...)
		}
	}

	return &collectortracepb.ExportTraceServiceResponse{}, nil
}

// trace returns the spans of a trace by name; a name used twice keeps the
// first span.
func (c *traceCollector) trace(t *testing.T, traceID string) map[string]*tracepb.Span {
	t.Helper()

	id, err := hex.DecodeString(traceID)
	if err != nil {
		t.Fatal(err)
	}

	c.mu.Lock()
	defer c.mu.Unlock()

	spans := make(map[string]*tracepb.Span)

	for _, s := range c.spans {
		if _, seen := spans[s.GetName()]; !seen && bytes.Equal(s.GetTraceId(), id) {
			spans[s.GetName()] = s
		}
	}

	return spans
}
