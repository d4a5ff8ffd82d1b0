package examples

import (
	"net/http"
	"strings"
	"testing"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/modulith/modulith/internal/otlptest"
)

// The trace context the test's client sends: a sampled span of its own.
const (
	clientTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	clientSpanID  = "00f067aa0ba902b7"
)

// The tests of this file set OTEL_* variables with t.Setenv: the
// OpenTelemetry SDK reads the process environment, not the server's
// getenv. They do not run in parallel, for that reason and because the
// service and repository spans come from the global tracer provider, which
// every server started in this process replaces: only a server alone in
// the process gets them all.

// TestOneTraceSpansRESTToRepository follows one REST call through the
// server's spans, exported over OTLP to a collector the test runs: the
// HTTP span continues the client's trace, the in-process call's client
// span is its child, the gRPC server span the client span's, the service
// span the server span's, the repository span the service span's, and the
// SQL statement the repository span's.
func TestOneTraceSpansRESTToRepository(t *testing.T) {
	collector := otlptest.Start(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.GRPCAddr) // host:port, the older form
	t.Setenv("OTEL_EXPORTER_OTLP_INSECURE", "true")

	s := runServer(t, harnessEnv(freshDSN(t)))
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

	spans := traceOf(collector.Spans(), clientTraceID)
	chain := []struct{ span, parent string }{
		{"SERVER GET " + profilePath, clientSpanID},
		{"CLIENT auth.v1.AuthService/GetProfile", "SERVER GET " + profilePath},
		{"SERVER auth.v1.AuthService/GetProfile", "CLIENT auth.v1.AuthService/GetProfile"},
		{"INTERNAL auth.service/GetProfile", "SERVER auth.v1.AuthService/GetProfile"},
		{"INTERNAL auth.repository/User", "INTERNAL auth.service/GetProfile"},
		{"CLIENT query GetUser", "INTERNAL auth.repository/User"},
	}

	for _, link := range chain {
		checkParent(t, spans, link.span, link.parent)
	}

	line, err := s.logs.wait(logWait, func(l logLine) bool { return l.Msg() == "http request" && l.String("request_id") == requestID })
	if err != nil {
		t.Fatalf("no http request line with request_id %s", requestID)
	}

	if got := line.String("trace_id"); got != clientTraceID {
		t.Errorf("http request line trace_id = %q, want %q", got, clientTraceID)
	}
}

// TestTraceExportFollowsOTELVariables runs the server with the standard
// OpenTelemetry variables, signs in and places an order (orders asks auth
// for the caller's profile), and checks what reaches the collector: over
// gRPC to an http:// endpoint URL and over http/protobuf, under
// OTEL_SERVICE_NAME, with the HTTP, gRPC, SQL and module-to-module spans;
// and nothing when OTEL_TRACES_SAMPLER says so.
func TestTraceExportFollowsOTELVariables(t *testing.T) {
	tests := []struct {
		name     string
		protocol string // "" = no span may arrive
		env      func(c *otlptest.Collector) []string
	}{
		{
			name: "grpc", protocol: "grpc",
			env: func(c *otlptest.Collector) []string {
				return []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://" + c.GRPCAddr}
			},
		},
		{
			name: "http/protobuf", protocol: "http/protobuf",
			env: func(c *otlptest.Collector) []string {
				return []string{"OTEL_EXPORTER_OTLP_ENDPOINT", c.HTTPURL, "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"}
			},
		},
		{
			name: "sampler always_off",
			env: func(c *otlptest.Collector) []string {
				return []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://" + c.GRPCAddr, "OTEL_TRACES_SAMPLER", "always_off"}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			collector := otlptest.Start(t)
			env := append(tt.env(collector), "OTEL_SERVICE_NAME", "traced-orders")

			for i := 0; i+1 < len(env); i += 2 {
				t.Setenv(env[i], env[i+1])
			}

			s := runServer(t, harnessEnv(freshDSN(t)))
			checkTracingLine(t, s, env)

			tok := s.login(t, "orders-traced@example.com")

			s.do(t, http.MethodPost, pathOrders, map[string]any{
				"currency": "EUR", "items": []map[string]any{{"sku": "book-1", "quantity": 1, "unit_price_minor": 1250}},
			}, tok.Access).wantOK(t)

			if err := s.Stop(); err != nil { // flushes the spans
				t.Fatalf("stop server: %v", err)
			}

			received := collector.Spans()
			if tt.protocol == "" {
				if len(received) != 0 {
					t.Errorf("collector received %d spans (first %q), want none", len(received), received[0].GetName())
				}

				return
			}

			checkOrderTrace(t, received, tt.protocol)
		})
	}
}

// checkTracingLine checks the start-up line that says where spans go (the
// OTEL_* variables are not in the configuration report): the protocol,
// the endpoint and the sampler of env.
func checkTracingLine(t *testing.T, s *opsServer, env []string) {
	t.Helper()

	vars := envWith(nil, env...)

	protocol := vars["OTEL_EXPORTER_OTLP_PROTOCOL"]
	if protocol == "" {
		protocol = "grpc"
	}

	sampler := vars["OTEL_TRACES_SAMPLER"]
	if sampler == "" {
		sampler = "parentbased_always_on"
	}

	line, err := s.logs.wait(logWait, func(l logLine) bool { return l.Msg() == "tracing" })
	if err != nil {
		t.Fatalf("no tracing line at start-up")
	}

	if line.String("export") != protocol || line.String("endpoint") != vars["OTEL_EXPORTER_OTLP_ENDPOINT"] || line.String("sampler") != sampler {
		t.Errorf("tracing line = %v, want export %s, endpoint %s, sampler %s", line, protocol, vars["OTEL_EXPORTER_OTLP_ENDPOINT"], sampler)
	}
}

// checkOrderTrace checks the spans of the order placed: all under
// OTEL_SERVICE_NAME, over protocol, in one trace that holds the HTTP
// server span, the gRPC server span, the call to auth with its client
// span, and SQL statements.
func checkOrderTrace(t *testing.T, received []otlptest.Span, protocol string) {
	t.Helper()

	root := checkOrigin(t, received, protocol)

	spans := traceOf(received, root.TraceID())
	for _, name := range []string{
		"SERVER orders.v1.OrderService/CreateOrder",
		"CLIENT auth.v1.AuthService/GetProfile",
		"SERVER auth.v1.AuthService/GetProfile",
	} {
		if _, ok := spans[name]; !ok {
			t.Errorf("the order's trace has no span %q (has %v)", name, names(spans))
		}
	}

	checkParent(t, spans, "SERVER auth.v1.AuthService/GetProfile", "CLIENT auth.v1.AuthService/GetProfile")
	checkSQLSpans(t, spans)
}

// checkOrigin checks every span came from traced-orders over protocol and
// returns the HTTP server span of the order.
func checkOrigin(t *testing.T, received []otlptest.Span, protocol string) otlptest.Span {
	t.Helper()

	var root *otlptest.Span

	for i, s := range received {
		if s.Service != "traced-orders" || s.Protocol != protocol {
			t.Fatalf("span %q came as service %q over %s, want traced-orders over %s", s.GetName(), s.Service, s.Protocol, protocol)
		}

		if key(s) == "SERVER POST "+pathOrders {
			root = &received[i]
		}
	}

	if root == nil {
		t.Fatalf("no HTTP server span POST %s among %d spans", pathOrders, len(received))
	}

	return *root
}

// checkSQLSpans checks the trace has SQL spans, client spans of
// PostgreSQL with the statement.
func checkSQLSpans(t *testing.T, spans map[string]otlptest.Span) {
	t.Helper()

	sql := 0

	for name, s := range spans {
		if s.GetKind() != tracepb.Span_SPAN_KIND_CLIENT || s.Attr("db.query.text") == "" {
			continue
		}

		sql++

		if s.Attr("db.system.name") != "postgresql" && s.Attr("db.system") != "postgresql" {
			t.Errorf("SQL span %q has no db.system postgresql", name)
		}
	}

	if sql == 0 {
		t.Errorf("the trace has no SQL span (has %v)", names(spans))
	}
}

// key names a span by kind and name ("SERVER GET /v1/auth/profile"): a
// call has a client and a server span of the same name.
func key(s otlptest.Span) string {
	return strings.TrimPrefix(s.GetKind().String(), "SPAN_KIND_") + " " + s.GetName()
}

// traceOf returns the spans of a trace by key; a key used twice keeps the
// first span.
func traceOf(received []otlptest.Span, traceID string) map[string]otlptest.Span {
	spans := make(map[string]otlptest.Span)

	for _, s := range received {
		if _, seen := spans[key(s)]; !seen && s.TraceID() == traceID {
			spans[key(s)] = s
		}
	}

	return spans
}

// checkParent checks that the span keyed name is a child of the span keyed
// parent, or of the span ID parent (the client's span).
func checkParent(t *testing.T, spans map[string]otlptest.Span, name, parent string) {
	t.Helper()

	span, ok := spans[name]
	if !ok {
		t.Errorf("trace has no span %q (has %v)", name, names(spans))

		return
	}

	want := clientSpanID
	if p, ok := spans[parent]; ok {
		want = p.SpanID()
	} else if parent != clientSpanID {
		return // reported for the parent itself
	}

	if got := span.ParentID(); got != want {
		t.Errorf("span %q has parent %s, want %s (%s)", name, got, want, parent)
	}
}

func names(spans map[string]otlptest.Span) []string {
	out := make([]string, 0, len(spans))
	for name := range spans {
		out = append(out, name)
	}

	return out
}
