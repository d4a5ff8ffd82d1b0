package natstest

import (
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
)

// TestNATSURL runs natsURL against a fake testing.TB that records how the
// test would end: skipped, failed, or given the URL.
func TestNATSURL(t *testing.T) {
	t.Parallel()

	answering := listen(t)
	closed := "nats://" + closedAddr(t)

	tests := []struct {
		name       string
		short      bool
		env        map[string]string
		want       outcome
		wantURL    string
		wantInText string
	}{
		{name: "-short", short: true, env: map[string]string{envNATSURL: "nats://" + answering},
			want: skipped, wantInText: "skipped by -short"},
		{name: "answers", env: map[string]string{envNATSURL: "nats://" + answering},
			want: returned, wantURL: "nats://" + answering},
		{name: "answers, without scheme", env: map[string]string{envNATSURL: answering},
			want: returned, wantURL: answering},
		{name: "answers, first of a list", env: map[string]string{envNATSURL: "nats://" + answering + ", " + closed},
			want: returned, wantURL: "nats://" + answering + ", " + closed},
		{name: "nothing answers, developer machine", env: map[string]string{envNATSURL: closed},
			want: skipped, wantInText: "make test starts one when nats-server or Docker is installed"},
		{name: "nothing answers, CI", env: map[string]string{envNATSURL: closed, "CI": "1"},
			want: failed, wantInText: "CI runs every test"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			got := observe(t, func(tb testing.TB) string {
				return natsURL(tb, tt.short, func(key string) string { return tt.env[key] })
			})

			if got.outcome != tt.want || got.url != tt.wantURL || !strings.Contains(got.message, tt.wantInText) {
				t.Errorf("natsURL() %s, URL %q, message %q; want %s, URL %q, message with %q",
					got.outcome, got.url, got.message, tt.want, tt.wantURL, tt.wantInText)
			}
		})
	}
}

// TestNATSURLDefault checks that without TEST_NATS_URL the tests use the
// local default, whether or not a server answers there.
func TestNATSURLDefault(t *testing.T) {
	t.Parallel()

	got := observe(t, func(tb testing.TB) string {
		return natsURL(tb, false, func(string) string { return "" })
	})

	switch got.outcome {
	case returned:
		if got.url != defaultNATSURL {
			t.Errorf("natsURL() = %q, want %q", got.url, defaultNATSURL)
		}
	case skipped:
		if !strings.Contains(got.message, defaultNATSURL) {
			t.Errorf("natsURL() skipped with %q, want it to name %s", got.message, defaultNATSURL)
		}
	case failed:
		t.Errorf("natsURL() failed with %q outside CI, want it to return or skip", got.message)
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
