package redistest

import (
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
)

// TestRedisURL runs redisURL against a fake testing.TB that records how the
// test would end: skipped, failed, or given the URL.
func TestRedisURL(t *testing.T) {
	t.Parallel()

	redis := serve(t, "+PONG\r\n")
	other := serve(t, "HTTP/1.1 400 Bad Request\r\n")
	closed := "redis://" + closedAddr(t)

	tests := []struct {
		name       string
		short      bool
		env        map[string]string
		want       outcome
		wantURL    string
		wantInText string
	}{
		{name: "-short", short: true, env: map[string]string{envRedisURL: "redis://" + redis},
			want: skipped, wantInText: "skipped by -short"},
		{name: "answers", env: map[string]string{envRedisURL: "redis://" + redis + "/3"},
			want: returned, wantURL: "redis://" + redis + "/3"},
		{name: "another server, developer machine", env: map[string]string{envRedisURL: "redis://" + other},
			want: skipped, wantInText: "not +PONG"},
		{name: "nothing answers, developer machine", env: map[string]string{envRedisURL: closed},
			want: skipped, wantInText: "make test starts one when redis-server is installed"},
		{name: "nothing answers, CI", env: map[string]string{envRedisURL: closed, "CI": "1"},
			want: failed, wantInText: "CI runs every test"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			got := observe(t, func(tb testing.TB) string {
				return redisURL(tb, tt.short, func(key string) string { return tt.env[key] })
			})

			if got.outcome != tt.want || got.url != tt.wantURL || !strings.Contains(got.message, tt.wantInText) {
				t.Errorf("redisURL() %s, URL %q, message %q; want %s, URL %q, message with %q",
					got.outcome, got.url, got.message, tt.want, tt.wantURL, tt.wantInText)
			}
		})
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

type outcome string

const (
	returned outcome = "returned"
	skipped  outcome = "skipped"
	failed   outcome = "failed"
)

// result is how a function given a fakeTB ended.
type result struct {
	outcome outcome
	url     string
	message string
}

// fakeTB is a testing.TB whose Skip and Fatal record the message and end
// the goroutine, as the real ones do, without ending the test.
type fakeTB struct {
	testing.TB // the real test, for Helper and Context

	result *result
}

func (f fakeTB) end(o outcome, args ...any) {
	f.result.outcome, f.result.message = o, fmt.Sprint(args...)

	runtime.Goexit()
}

func (f fakeTB) Skip(args ...any)                 { f.end(skipped, args...) }
func (f fakeTB) Skipf(format string, args ...any) { f.end(skipped, fmt.Sprintf(format, args...)) }
func (f fakeTB) Fatal(args ...any)                { f.end(failed, args...) }
func (f fakeTB) Fatalf(format string, args ...any) {
	f.end(failed, fmt.Sprintf(format, args...))
}

// observe runs f with a fakeTB on a goroutine of its own and reports how it ended.
func observe(t *testing.T, f func(testing.TB) string) result {
	t.Helper()

	r := &result{}
	done := make(chan struct{})

	go func() {
		defer close(done)

		r.url = f(fakeTB{TB: t, result: r})
		r.outcome = returned
	}()

	<-done

	return *r
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

// closedAddr returns an address on 127.0.0.1 that nothing listens on now.
func closedAddr(t *testing.T) string {
	t.Helper()

	var lc net.ListenConfig

	l, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}

	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	return addr
}
