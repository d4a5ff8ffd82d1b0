package notifier_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/modulith/modulith/internal/notifier"
	"github.com/modulith/modulith/internal/resilience"
	"github.com/modulith/modulith/internal/servicetest"
)

// guarded returns the guard cmd/server wires: a breaker for destination
// that opens after 3 failures, and 2 quick retries of transient failures.
func guarded(t *testing.T, destination string) notifier.Guard {
	t.Helper()

	g, err := resilience.New(resilience.Config{Failures: 3, Cooldown: time.Hour, Retries: 2,
		Backoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond}, sdkmetric.NewMeterProvider().Meter("test"))
	if err != nil {
		t.Fatal(err)
	}

	b := g.Breaker(destination, notifier.ProviderFailure)

	return func(ctx context.Context, send func(context.Context) error) error {
		return g.Retry(ctx, b, notifier.Transient, send)
	}
}

func TestGuardedEmailRetriesADeferral(t *testing.T) {
	t.Parallel()

	srv := startSMTP(t, smtpServerOptions{deferRcpts: 1})
	s := newSMTP(t, notifier.SMTPConfig{Host: "127.0.0.1", Port: srv.port(), From: "no-reply@example.com", TLS: notifier.TLSNone})

	if err := notifier.GuardEmail(s, guarded(t, "smtp")).SendEmail(t.Context(), testEmail); err != nil {
		t.Fatalf("SendEmail() = %v, want the retry after the 451 to send it", err)
	}

	if got := len(srv.recorded()); got != 1 {
		t.Errorf("server recorded %d messages, want 1", got)
	}
}

func TestGuardedEmailDoesNotRetryARefusedRecipient(t *testing.T) {
	t.Parallel()

	srv := startSMTP(t, smtpServerOptions{rejectRcpt: true})
	s := notifier.GuardEmail(
		newSMTP(t, notifier.SMTPConfig{Host: "127.0.0.1", Port: srv.port(), From: "no-reply@example.com", TLS: notifier.TLSNone}),
		guarded(t, "smtp"))

	for range 5 { // more than the breaker's threshold: a 550 is an answer, not a failure
		if err := s.SendEmail(t.Context(), testEmail); err == nil || errors.Is(err, resilience.ErrOpen) {
			t.Fatalf("SendEmail() = %v, want the server's 550", err)
		}
	}
}

func TestGuardedSMS(t *testing.T) {
	t.Parallel()

	serve := func(t *testing.T, status ...int) (string, *atomic.Int32) {
		t.Helper()

		var n atomic.Int32

		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			i := int(n.Add(1)) - 1
			w.WriteHeader(status[min(i, len(status)-1)])
		}))
		t.Cleanup(srv.Close)

		return srv.URL, &n
	}

	sms := func(t *testing.T, url string) notifier.SMSProvider {
		t.Helper()

		h, err := notifier.NewHTTPSMS(notifier.HTTPSMSConfig{URL: url, Token: "token"})
		if err != nil {
			t.Fatal(err)
		}

		return notifier.GuardSMS(h, guarded(t, "sms"))
	}

	t.Run("a 503 is retried", func(t *testing.T) {
		t.Parallel()

		url, n := serve(t, http.StatusServiceUnavailable, http.StatusOK)
		if err := sms(t, url).SendSMS(t.Context(), notifier.SMS{To: "+15550100", Body: "hi"}); err != nil || n.Load() != 2 {
			t.Fatalf("SendSMS() = %v after %d requests, want success on the second", err, n.Load())
		}
	})

	t.Run("a gateway that keeps failing is refused at once", func(t *testing.T) {
		t.Parallel()

		url, n := serve(t, http.StatusInternalServerError)
		s := sms(t, url)

		for range 3 { // 500 is not retried: the message may have gone out
			_ = s.SendSMS(t.Context(), notifier.SMS{To: "+15550100", Body: "hi"})
		}

		err := s.SendSMS(t.Context(), notifier.SMS{To: "+15550100", Body: "hi"})
		if !errors.Is(err, resilience.ErrOpen) || n.Load() != 3 {
			t.Fatalf("4th SendSMS() = %v after %d requests, want ErrOpen without a request", err, n.Load())
		}
	})
}

func TestTransientAndProviderFailure(t *testing.T) {
	t.Parallel()

	addr := servicetest.ClosedAddr(t)

	var d net.Dialer

	_, dialErr := d.DialContext(t.Context(), "tcp", addr)
	if dialErr == nil {
		t.Fatal("dialled a closed port")
	}

	status := func(code int) error { return fmt.Errorf("sms http: %w", &notifier.StatusError{StatusCode: code}) }

	tests := []struct {
		name                 string
		err                  error
		transient, providers bool
	}{
		{"connection refused", fmt.Errorf("smtp: connect: %w", dialErr), true, true},
		{"429", status(429), true, false},
		{"503", status(503), true, true},
		{"500", status(500), false, true},
		{"400", status(400), false, false},
		{"timeout", context.DeadlineExceeded, false, true},
		{"cancelled", context.Canceled, false, false},
	}

	for _, tt := range tests {
		if got := notifier.Transient(tt.err); got != tt.transient {
			t.Errorf("%s: Transient() = %v, want %v", tt.name, got, tt.transient)
		}

		if got := notifier.ProviderFailure(tt.err); got != tt.providers {
			t.Errorf("%s: ProviderFailure() = %v, want %v", tt.name, got, tt.providers)
		}
	}
}
