package examples

import (
	"net/http"
	"strings"
	"testing"
)

// absentSessionID names no session: revoking it answers 404, under the
// route sessionsRoute, written as in the proto (not grpc-gateway's
// "{session_id=*}").
const (
	absentSessionID = "sess_01h455vb4pex5vsknk084sn02q"
	sessionsRoute   = "/v1/auth/sessions/{session_id}"
)

// TestMetricsAfterTraffic reads /metrics as Prometheus would after some
// REST traffic: HTTP latency by route template, gRPC calls by method and
// code, the connection pool, the Go runtime and the service's identity.
func TestMetricsAfterTraffic(t *testing.T) {
	t.Parallel()

	s := startServer(t, nil)
	tok := s.login(t, "metrics@example.com")

	if r := s.do(t, http.MethodGet, profilePath, nil, tok.Access); r.Status != http.StatusOK {
		t.Fatalf("GET %s = %d %s, want 200", profilePath, r.Status, r.Body)
	}

	// A path with an ID: its series must be labelled with the template.
	s.do(t, http.MethodDelete, "/v1/auth/sessions/"+absentSessionID, nil, tok.Access)

	r := s.admin(t, "/metrics")
	if r.Status != http.StatusOK {
		t.Fatalf("GET /metrics = %d, want 200", r.Status)
	}

	metrics := string(r.Body)
	wants := []struct {
		name   string
		labels []string
	}{
		{"http_request_duration_seconds_bucket", []string{`http_route="/v1/auth/profile"`, `http_request_method="GET"`, `le="`}},
		{"http_request_duration_seconds_bucket", []string{`http_route="` + sessionsRoute + `"`}},
		{"grpc_server_handled_total", []string{`grpc_method="GetProfile"`, `grpc_code="OK"`, `grpc_service="auth.v1.AuthService"`}},
		{"grpc_server_handled_total", []string{`grpc_method="CompleteLogin"`, `grpc_code="OK"`}},
		{"db_pool_connections", []string{`state="idle"`}},
		// The gateway's in-process call to auth; the WebSocket hub.
		{"rpc_client_call_duration_seconds_count", []string{`rpc_method="auth.v1.AuthService/GetProfile"`}},
		{"websocket_connections", nil},
		{"go_goroutines", nil},
		{"target_info", []string{`service_name="modulith"`}},
	}

	for _, w := range wants {
		if !hasSeries(metrics, w.name, w.labels...) {
			t.Errorf("/metrics has no %s series with %v", w.name, w.labels)
		}
	}

	if strings.Contains(metrics, absentSessionID) {
		t.Errorf("/metrics contains the raw session ID %s: labels must use the route template", absentSessionID)
	}

	// The access log names the same route as the metric and the span.
	lines := s.logs.accessLines(http.MethodDelete, "/v1/auth/sessions/"+absentSessionID)
	if len(lines) != 1 || lines[0].String("route") != sessionsRoute {
		t.Errorf("access log lines of the DELETE = %v, want one with route %q", lines, sessionsRoute)
	}
}

// hasSeries reports whether the exposition text has a sample of name whose
// labels include every one of labels.
func hasSeries(text, name string, labels ...string) bool {
	for line := range strings.Lines(text) {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest[0] != '{' && rest[0] != ' ') {
			continue
		}

		if allIn(rest, labels) {
			return true
		}
	}

	return false
}

func allIn(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}

	return true
}
