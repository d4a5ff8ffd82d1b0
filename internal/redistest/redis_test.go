package redistest

import (
	"net"
	"strings"
	"testing"

	"github.com/modulith/modulith/internal/servicetest"
)

// TestPing checks a Redis server's answer, an authentication error
// included, passes, and another server's or none does not.
func TestPing(t *testing.T) {
	t.Parallel()

	for _, tt := range []struct {
		name, url string
		ok        bool
	}{
		{"PONG", "redis://" + serve(t, "+PONG\r\n") + "/3", true},
		{"authentication required", "redis://" + serve(t, "-NOAUTH Authentication required.\r\n"), true},
		{"another server", "redis://" + serve(t, "HTTP/1.1 400 Bad Request\r\n"), false},
		{"nothing answers", "redis://" + servicetest.ClosedAddr(t), false},
	} {
		if err := ping(t.Context(), tt.url); (err == nil) != tt.ok {
			t.Errorf("%s: ping(%q) = %v, want success %v", tt.name, tt.url, err, tt.ok)
		}
	}
}

// TestURLReachesTheSharedServer checks the real server the suite uses.
func TestURLReachesTheSharedServer(t *testing.T) {
	t.Parallel()

	if u := URL(t); !strings.HasPrefix(u, "redis") {
		t.Errorf("URL() = %q, want a redis:// URL", u)
	}
}

func TestPrefixIsUnique(t *testing.T) {
	t.Parallel()

	a, b := Prefix(t), Prefix(t)
	if a == b || !strings.HasPrefix(a, "test:") || !strings.HasSuffix(a, ":") {
		t.Errorf("Prefix() = %q then %q, want two different test:<random>: prefixes", a, b)
	}
}

// serve returns the address of a TCP listener that answers every
// connection's first line with reply, until the test ends.
func serve(t *testing.T, reply string) string {
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

			buf := make([]byte, 64)
			_, _ = conn.Read(buf)
			_, _ = conn.Write([]byte(reply))
			_ = conn.Close()
		}
	}()

	return l.Addr().String()
}
