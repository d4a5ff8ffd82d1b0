package resilience_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// flaky serves answers[i] to the i-th request, then the last one, and
// counts the requests.
func flaky(t *testing.T, answers ...int) (*httptest.Server, *atomic.Int32) {
	t.Helper()

	var n atomic.Int32

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		i := int(n.Add(1)) - 1
		w.WriteHeader(answers[min(i, len(answers)-1)])
		_, _ = io.WriteString(w, "answer")
	}))
	t.Cleanup(srv.Close)

	return srv, &n
}

// send sends a request through the guards' transport and returns the
// answer's status and body.
func send(t *testing.T, transport http.RoundTripper, method, url string) (int, string, error) {
	t.Helper()

	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader("x")
	}

	req, err := http.NewRequestWithContext(t.Context(), method, url, body)
	if err != nil {
		t.Fatal(err)
	}

	resp, err := (&http.Client{Transport: transport, Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()

	b, err := io.ReadAll(resp.Body)

	return resp.StatusCode, string(b), err
}

func TestTransportRetriesAGETAfter503(t *testing.T) {
	t.Parallel()

	g, _ := newGuards(t, quick())
	srv, n := flaky(t, http.StatusServiceUnavailable, http.StatusServiceUnavailable, http.StatusOK)

	status, body, err := send(t, g.Transport(nil), http.MethodGet, srv.URL)
	if err != nil || status != http.StatusOK || body != "answer" || n.Load() != 3 {
		t.Fatalf("GET = %d %q, %v after %d requests, want 200 \"answer\" after 3", status, body, err, n.Load())
	}
}

func TestTransportSendsAPOSTOnce(t *testing.T) {
	t.Parallel()

	g, _ := newGuards(t, quick())
	srv, n := flaky(t, http.StatusServiceUnavailable, http.StatusOK)

	status, _, err := send(t, g.Transport(nil), http.MethodPost, srv.URL)
	if err != nil || status != http.StatusServiceUnavailable || n.Load() != 1 {
		t.Fatalf("POST = %d, %v after %d requests, want the 503 after 1", status, err, n.Load())
	}
}

func TestTransportRefusesAFailingHost(t *testing.T) {
	t.Parallel()

	cfg := quick()
	cfg.Retries, cfg.Cooldown = 0, time.Hour
	g, reader := newGuards(t, cfg)
	srv, n := flaky(t, http.StatusInternalServerError)
	transport := g.Transport(nil)

	for range 3 {
		if status, _, err := send(t, transport, http.MethodGet, srv.URL); err != nil || status != http.StatusInternalServerError {
			t.Fatalf("GET = %d, %v, want the 500", status, err)
		}
	}

	_, _, err := send(t, transport, http.MethodGet, srv.URL)
	if err == nil || !strings.Contains(err.Error(), "is unavailable") || n.Load() != 3 {
		t.Fatalf("4th GET = %v after %d requests, want a refusal without a request", err, n.Load())
	}

	host := "http:" + strings.TrimPrefix(srv.URL, "http://")
	if got := metrics(t, reader)["resilience.breaker.state"][host]; got != 2 {
		t.Errorf("resilience.breaker.state{destination=%q} = %d, want 2", host, got)
	}
}

func TestTransportAnswersKeepTheBreakerClosed(t *testing.T) {
	t.Parallel()

	cfg := quick()
	cfg.Retries = 0
	g, _ := newGuards(t, cfg)
	srv, n := flaky(t, http.StatusNotFound, http.StatusTooManyRequests)
	transport := g.Transport(nil)

	for range 6 {
		if _, _, err := send(t, transport, http.MethodGet, srv.URL); err != nil {
			t.Fatalf("GET after %d requests = %v, want the answer", n.Load(), err)
		}
	}
}
