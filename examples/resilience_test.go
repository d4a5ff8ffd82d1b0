package examples

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/servicetest"
)

// TestRemoteModuleBreaker: a server whose auth module runs elsewhere
// (REMOTE_MODULES) keeps answering while that module is down: after
// BREAKER_FAILURES failed calls its breaker opens, requests are refused
// with 503 UNAVAILABLE without a call, and /metrics shows the breaker open.
func TestRemoteModuleBreaker(t *testing.T) {
	t.Parallel()

	s := startServer(t, map[string]string{
		"REMOTE_MODULES": "auth=" + servicetest.ClosedAddr(t), "REMOTE_RETRIES": "0",
		"BREAKER_FAILURES": "2", "BREAKER_COOLDOWN": "1h",
	})

	request := func() response {
		return s.do(t, http.MethodPost, "/v1/auth/login/request", map[string]any{"email": "ada@example.com"}, "")
	}

	for i := range 2 {
		r := request()
		r.wantError(t, http.StatusServiceUnavailable, errors.CodeUnavailable)

		if strings.Contains(string(r.Body), "too many recent failures") {
			t.Fatalf("request %d refused by the breaker before it opened: %s", i+1, r.Body)
		}

		if strings.Contains(string(r.Body), "127.0.0.1") || strings.Contains(string(r.Body), "dial") {
			t.Errorf("request %d answered %s: the network's inside reaches the client", i+1, r.Body)
		}
	}

	r := request()
	r.wantError(t, http.StatusServiceUnavailable, errors.CodeUnavailable)

	if !strings.Contains(string(r.Body), "too many recent failures") {
		t.Errorf("third request answered %s, want the open breaker's refusal", r.Body)
	}

	open := regexp.MustCompile(`(?m)^resilience_breaker_state\{[^}]*destination="module:auth"[^}]*\} 2$`)
	if m := s.admin(t, "/metrics"); !open.Match(m.Body) {
		t.Errorf("/metrics has no open breaker for module:auth:\n%s", grepLines(string(m.Body), "resilience_"))
	}
}

// grepLines returns the lines of text that contain substr.
func grepLines(text, substr string) string {
	var out []string

	for line := range strings.SplitSeq(text, "\n") {
		if strings.Contains(line, substr) {
			out = append(out, line)
		}
	}

	return strings.Join(out, "\n")
}
