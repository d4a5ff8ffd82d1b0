package examples

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSlowBodyIsCut: a client that trickles a sign-in body one byte every
// 200 ms (a slowloris attack on bodies) gets 408 TIMEOUT once
// REQUEST_READ_TIMEOUT has passed, and its connection is closed.
func TestSlowBodyIsCut(t *testing.T) {
	t.Parallel()

	const bound = 500 * time.Millisecond

	s := startServer(t, map[string]string{"REQUEST_READ_TIMEOUT": bound.String()})

	var d net.Dialer

	conn, err := d.DialContext(t.Context(), "tcp", strings.TrimPrefix(s.HTTP, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	body := `{"email":"slow@example.com"}`
	start := time.Now()

	if _, err := fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		pathLoginRequest, len(body)); err != nil {
		t.Fatal(err)
	}

	go func() {
		for i := range len(body) {
			time.Sleep(200 * time.Millisecond)

			if _, err := conn.Write([]byte{body[i]}); err != nil {
				return
			}
		}
	}()

	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))

	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a trickled body within 10s: %v", err)
	}
	defer resp.Body.Close()

	b, _ := io.ReadAll(resp.Body)
	r := response{Status: resp.StatusCode, Header: resp.Header, Body: b}

	r.wantError(t, http.StatusRequestTimeout, "TIMEOUT")

	if elapsed := time.Since(start); elapsed > bound+3*time.Second {
		t.Errorf("trickled body answered after %v, want about %v", elapsed, bound)
	}
}
