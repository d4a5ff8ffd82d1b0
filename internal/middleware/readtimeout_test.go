package middleware_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modulith/modulith/internal/middleware"
)

// readBound is the body read bound of the servers below: short, so that a
// trickling client is cut quickly.
const readBound = 300 * time.Millisecond

// newBodyServer serves, behind BodyReadTimeout(readBound) and BodyLimit,
// a handler that reads the body, then works for work, then answers 200
// with the body, or 499 when its context ended meanwhile.
func newBodyServer(t *testing.T, work time.Duration) *httptest.Server {
	t.Helper()

	h := middleware.Chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)

			return
		}

		select {
		case <-time.After(work):
			_, _ = w.Write(body)
		case <-r.Context().Done():
			w.WriteHeader(499)
		}
	}), middleware.BodyReadTimeout(readBound), middleware.BodyLimit(1<<20))

	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	return srv
}

// TestBodyReadTimeoutCutsTricklingBody: a client that sends its body one
// byte every 100 ms over a real TCP connection gets 408 TIMEOUT within
// the bound (plus slack), and the connection is closed.
func TestBodyReadTimeoutCutsTricklingBody(t *testing.T) {
	t.Parallel()

	srv := newBodyServer(t, 0)

	var d net.Dialer

	conn, err := d.DialContext(t.Context(), "tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	start := time.Now()

	if _, err := fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: api\r\nContent-Length: 1000\r\n\r\n"); err != nil {
		t.Fatal(err)
	}

	ctx, stop := context.WithCancel(t.Context())
	defer stop()

	go trickle(ctx, conn)

	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))

	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no response to a trickled body within 5s: %v", err)
	}
	defer resp.Body.Close()

	elapsed := time.Since(start)

	var body struct{ Code string }

	_ = json.NewDecoder(resp.Body).Decode(&body)

	if resp.StatusCode != http.StatusRequestTimeout || body.Code != "TIMEOUT" {
		t.Errorf("trickled body: %d %q, want 408 TIMEOUT", resp.StatusCode, body.Code)
	}

	if elapsed < readBound || elapsed > readBound+2*time.Second {
		t.Errorf("trickled body answered after %v, want about %v", elapsed, readBound)
	}

	if !resp.Close {
		t.Error("the connection of a cut body stays open, want Connection: close")
	}
}

// trickle writes one byte every 100 ms until ctx ends or the write fails.
func trickle(ctx context.Context, conn net.Conn) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()

	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if _, err := conn.Write([]byte("x")); err != nil {
				return
			}
		}
	}
}

// TestBodyReadTimeoutBoundsOnlyTheBody: the bound applies to reading the
// body, not to the work after it nor to requests without a body, and a
// keep-alive connection serves the next request normally.
func TestBodyReadTimeoutBoundsOnlyTheBody(t *testing.T) {
	t.Parallel()

	srv := newBodyServer(t, 2*readBound)
	client := srv.Client()

	for i, method := range []string{http.MethodPost, http.MethodGet, http.MethodPost} {
		var body io.Reader
		if method == http.MethodPost {
			body = strings.NewReader("hello")
		}

		req, err := http.NewRequestWithContext(t.Context(), method, srv.URL, body)
		if err != nil {
			t.Fatal(err)
		}

		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("request %d (%s): %v", i, method, err)
		}

		got, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()

		want := ""
		if method == http.MethodPost {
			want = "hello"
		}

		if resp.StatusCode != http.StatusOK || string(got) != want {
			t.Errorf("request %d (%s) working %v after the body = %d %q, want 200 %q",
				i, method, 2*readBound, resp.StatusCode, got, want)
		}
	}
}
