package notifier_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modulith/modulith/internal/notifier"
)

const testToken = "sms-t0ken-s3cret"

// gatewayRequest is what the fake gateway recorded of one request.
type gatewayRequest struct {
	Method, Path, Authorization, ContentType string
	Body                                     map[string]any
}

// fakeGateway starts an SMS gateway answering status (after delay) and
// returns its URL and the requests it received.
func fakeGateway(t *testing.T, status int, delay time.Duration) (string, func() []gatewayRequest) {
	t.Helper()

	var (
		mu   sync.Mutex
		reqs []gatewayRequest
	)

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("gateway: request body: %v", err)
		}

		mu.Lock()

		reqs = append(reqs, gatewayRequest{
			Method: r.Method, Path: r.URL.Path, Authorization: r.Header.Get("Authorization"),
			ContentType: r.Header.Get("Content-Type"), Body: body,
		})
		mu.Unlock()

		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}

		if status == http.StatusFound {
			w.Header().Set("Location", "/elsewhere")
		}

		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"error": "echo of 123456"}`)
	}))
	t.Cleanup(srv.Close)

	return srv.URL + "/v1/messages", func() []gatewayRequest {
		mu.Lock()
		defer mu.Unlock()

		return append([]gatewayRequest(nil), reqs...)
	}
}

func newHTTPSMS(t *testing.T, cfg notifier.HTTPSMSConfig) *notifier.HTTPSMS {
	t.Helper()

	h, err := notifier.NewHTTPSMS(cfg)
	if err != nil {
		t.Fatalf("NewHTTPSMS() = %v", err)
	}

	return h
}

func TestHTTPSMSSends(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		status int
		from   string
		want   map[string]any
	}{
		{
			name: "200", status: http.StatusOK, from: "+14155550199",
			want: map[string]any{"to": "+14155550100", "from": "+14155550199", "body": "Your code is 123456."},
		},
		{
			name: "202 without sender", status: http.StatusAccepted,
			want: map[string]any{"to": "+14155550100", "body": "Your code is 123456."},
		},
		{
			name: "204", status: http.StatusNoContent, from: "Modulith",
			want: map[string]any{"to": "+14155550100", "from": "Modulith", "body": "Your code is 123456."},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			url, received := fakeGateway(t, tt.status, 0)
			h := newHTTPSMS(t, notifier.HTTPSMSConfig{URL: url, Token: testToken, From: tt.from})

			if err := h.SendSMS(t.Context(), notifier.SMS{To: "+14155550100", Body: "Your code is 123456."}); err != nil {
				t.Fatalf("SendSMS() = %v", err)
			}

			want := []gatewayRequest{{
				Method: http.MethodPost, Path: "/v1/messages", Authorization: "Bearer " + testToken,
				ContentType: "application/json", Body: tt.want,
			}}
			if diff := cmp.Diff(want, received()); diff != "" {
				t.Errorf("gateway received (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHTTPSMSStatusErrors(t *testing.T) {
	t.Parallel()

	for _, status := range []int{
		http.StatusFound, http.StatusBadRequest, http.StatusUnauthorized, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusServiceUnavailable,
	} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			t.Parallel()

			url, received := fakeGateway(t, status, 0)
			h := newHTTPSMS(t, notifier.HTTPSMSConfig{URL: url, Token: testToken})

			err := h.SendSMS(t.Context(), notifier.SMS{To: "+14155550100", Body: "Your code is 123456."})

			var statusErr *notifier.StatusError
			if !errors.As(err, &statusErr) || statusErr.StatusCode != status {
				t.Fatalf("SendSMS() = %v, want a *StatusError with %d", err, status)
			}

			if msg := err.Error(); strings.Contains(msg, testToken) || strings.Contains(msg, "123456") {
				t.Errorf("SendSMS() = %q leaks the token or the code", msg)
			}

			if n := len(received()); n != 1 {
				t.Errorf("gateway received %d requests, want 1 (no retry, no redirect)", n)
			}
		})
	}
}

func TestHTTPSMSDeadlines(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		timeout time.Duration // the provider's
		cancel  time.Duration // cancels the caller's context after this, or 0
		want    error
	}{
		{name: "provider timeout", timeout: 200 * time.Millisecond, want: context.DeadlineExceeded},
		{name: "caller cancels", timeout: time.Minute, cancel: 200 * time.Millisecond, want: context.Canceled},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			url, _ := fakeGateway(t, http.StatusOK, time.Minute)
			h := newHTTPSMS(t, notifier.HTTPSMSConfig{URL: url, Token: testToken, Timeout: tt.timeout})

			ctx := t.Context()

			if tt.cancel > 0 {
				var cancel context.CancelFunc

				ctx, cancel = context.WithCancel(ctx)
				time.AfterFunc(tt.cancel, cancel)
			}

			start := time.Now()
			err := h.SendSMS(ctx, notifier.SMS{To: "+14155550100", Body: "x"})

			if !errors.Is(err, tt.want) {
				t.Errorf("SendSMS() = %v, want %v", err, tt.want)
			}

			if elapsed := time.Since(start); elapsed > 5*time.Second {
				t.Errorf("SendSMS() took %s, want about 200ms", elapsed)
			}
		})
	}
}

func TestHTTPSMSConnectionRefused(t *testing.T) {
	t.Parallel()

	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}

	url := "http://" + ln.Addr().String() + "/v1/messages"
	_ = ln.Close()

	err = newHTTPSMS(t, notifier.HTTPSMSConfig{URL: url, Token: testToken}).SendSMS(t.Context(), notifier.SMS{To: "+14155550100", Body: "x"})
	if opErr := (*net.OpError)(nil); !errors.As(err, &opErr) || opErr.Op != "dial" {
		t.Errorf("SendSMS() = %v, want a dial error", err)
	}
}

func TestNewHTTPSMSRejects(t *testing.T) {
	t.Parallel()

	tests := []notifier.HTTPSMSConfig{
		{URL: "", Token: testToken},
		{URL: "/v1/messages", Token: testToken},
		{URL: "ftp://sms.example.com/", Token: testToken},
		{URL: "https://sms.example.com:port/", Token: testToken},
		{URL: "https://sms.example.com/v1/messages"},
		{URL: "https://sms.example.com/v1/messages", Token: testToken, Timeout: -time.Second},
	}

	for _, cfg := range tests {
		_, err := notifier.NewHTTPSMS(cfg)
		if err == nil {
			t.Errorf("NewHTTPSMS(URL %q, timeout %s) = nil, want an error", cfg.URL, cfg.Timeout)
		} else if strings.Contains(err.Error(), testToken) {
			t.Errorf("NewHTTPSMS() = %v leaks the token", err)
		}
	}
}
