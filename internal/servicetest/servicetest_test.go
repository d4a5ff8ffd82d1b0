package servicetest_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"

	"github.com/modulith/modulith/internal/servicetest"
)

// service answers only at "up://here".
var service = servicetest.Service{
	Name: "Thing", EnvVar: "TEST_THING_URL", Default: "up://default",
	InCI: "run thingd there", Locally: "run thingd yourself",
	Check: func(_ context.Context, url string) error {
		if url == "up://here" || url == "up://default" {
			return nil
		}

		return errors.New("connection refused")
	},
}

// TestURL runs Service.URL against a fake testing.TB that records how the
// test would end: skipped, failed, or given the URL.
func TestURL(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name       string
		short      bool
		env        map[string]string
		want       outcome
		wantURL    string
		wantInText string
	}{
		{name: "-short", short: true, env: map[string]string{"TEST_THING_URL": "up://here"},
			want: skipped, wantInText: "needs Thing: skipped by -short"},
		{name: "answers", env: map[string]string{"TEST_THING_URL": "up://here"}, want: returned, wantURL: "up://here"},
		{name: "no URL: the default", env: map[string]string{}, want: returned, wantURL: "up://default"},
		{name: "nothing answers, developer machine", env: map[string]string{"TEST_THING_URL": "down://there"},
			want: skipped, wantInText: "no Thing server answers at down://there (TEST_THING_URL): connection refused; skipped: run thingd yourself and set TEST_THING_URL"},
		{name: "nothing answers, CI", env: map[string]string{"TEST_THING_URL": "down://there", "CI": "1"},
			want: failed, wantInText: "CI runs every test, so it must run thingd there"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			got := observe(t, func(tb testing.TB) string {
				return service.URL(tb, tt.short, func(key string) string { return tt.env[key] })
			})

			if got.outcome != tt.want || got.url != tt.wantURL || !strings.Contains(got.message, tt.wantInText) {
				t.Errorf("URL() %s, URL %q, message %q; want %s, URL %q, message with %q",
					got.outcome, got.url, got.message, tt.want, tt.wantURL, tt.wantInText)
			}
		})
	}
}

func TestClosedAddr(t *testing.T) {
	t.Parallel()

	var d net.Dialer

	addr := servicetest.ClosedAddr(t)
	if conn, err := d.DialContext(t.Context(), "tcp", addr); err == nil {
		_ = conn.Close()

		t.Errorf("something answers at ClosedAddr() = %s", addr)
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
