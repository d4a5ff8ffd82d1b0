package natstest

import (
	"net"
	"testing"

	"github.com/modulith/modulith/internal/servicetest"
)

// TestDialNATS checks the URL forms nats.go accepts reach the server they
// name first, and that a closed port is an error.
func TestDialNATS(t *testing.T) {
	t.Parallel()

	answering := listen(t)
	closed := "nats://" + servicetest.ClosedAddr(t)

	for _, tt := range []struct {
		name, url string
		ok        bool
	}{
		{"with scheme", "nats://" + answering, true},
		{"without scheme", answering, true},
		{"first of a list", "nats://" + answering + ", " + closed, true},
		{"nothing answers", closed, false},
		{"not a URL", "nats://%zz", false},
	} {
		if err := dialNATS(t.Context(), tt.url); (err == nil) != tt.ok {
			t.Errorf("%s: dialNATS(%q) = %v, want success %v", tt.name, tt.url, err, tt.ok)
		}
	}
}

// TestURLReachesTheSharedServer checks the real server the suite uses.
func TestURLReachesTheSharedServer(t *testing.T) {
	t.Parallel()

	if u := URL(t); dialNATS(t.Context(), u) != nil {
		t.Errorf("URL() = %q, where nothing answers", u)
	}
}

// listen returns the address of a TCP listener that accepts and closes
// connections until the test ends.
func listen(t *testing.T) string {
	t.Helper()

	var lc net.ListenConfig

	l, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = l.Close() })

	go func() { // ends when the listener closes
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}

			_ = conn.Close()
		}
	}()

	return l.Addr().String()
}
