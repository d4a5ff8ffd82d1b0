package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modulith/modulith/internal/middleware"

	"github.com/modulith/modulith/internal/telemetry/logtest"
)

const timeoutBody = `{"code":"TIMEOUT","message":"request timed out","details":{}}` + "\n"

func TestTimeoutAnswers504(t *testing.T) {
	ctxErr := make(chan error, 1)
	writeErr := make(chan error, 1)
	answered := make(chan struct{})
	h := middleware.Chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Partial", "yes")
		<-r.Context().Done()

		ctxErr <- r.Context().Err()

		<-answered

		_, err := w.Write([]byte("too late"))
		writeErr <- err
	}), middleware.RequestID, middleware.Timeout(20*time.Millisecond))
	r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil)
	r.Header.Set("X-Request-ID", "req-1")

	rec := httptest.NewRecorder()

	h.ServeHTTP(rec, r)
	close(answered)

	if rec.Code != http.StatusGatewayTimeout || rec.Body.String() != timeoutBody {
		t.Errorf("response = %d %q, want 504 %q", rec.Code, rec.Body, timeoutBody)
	}

	want := http.Header{
		"X-Request-Id":           {"req-1"},
		"Content-Type":           {"application/json"},
		"X-Content-Type-Options": {"nosniff"},
	}
	if diff := cmp.Diff(want, rec.Header()); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}

	if err := <-ctxErr; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("handler's context error = %v, want context.DeadlineExceeded", err)
	}

	if err := <-writeErr; !errors.Is(err, http.ErrHandlerTimeout) {
		t.Errorf("Write after the deadline = %v, want http.ErrHandlerTimeout", err)
	}
}

func TestTimeoutCopiesTimelyResponse(t *testing.T) {
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		wantStatus int
		wantBody   string
		wantHeader http.Header
	}{
		{
			name: "status, headers and body",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/plain")
				w.Header().Add("X-Multi", "a")
				w.Header().Add("X-Multi", "b")
				w.WriteHeader(http.StatusCreated)
				w.WriteHeader(http.StatusAccepted) // superfluous, ignored
				_, _ = w.Write([]byte("created "))
				_, _ = w.Write([]byte("item"))
			},
			wantStatus: http.StatusCreated,
			wantBody:   "created item",
			wantHeader: http.Header{"Content-Type": {"text/plain"}, "X-Multi": {"a", "b"}, "X-Outer": {"kept"}},
		},
		{
			name:       "nothing written",
			handler:    func(http.ResponseWriter, *http.Request) {},
			wantStatus: http.StatusOK,
			wantHeader: http.Header{"X-Outer": {"kept"}},
		},
		{
			name:       "body only",
			handler:    func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) },
			wantStatus: http.StatusOK,
			wantBody:   "ok",
			wantHeader: http.Header{"X-Outer": {"kept"}},
		},
		{
			name: "informational response dropped",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusEarlyHints)
				w.WriteHeader(http.StatusNoContent)
			},
			wantStatus: http.StatusNoContent,
			wantHeader: http.Header{"X-Outer": {"kept"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			rec.Header().Set("X-Outer", "kept")

			middleware.Timeout(time.Minute)(tt.handler).ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil))

			if rec.Code != tt.wantStatus || rec.Body.String() != tt.wantBody {
				t.Errorf("response = %d %q, want %d %q", rec.Code, rec.Body, tt.wantStatus, tt.wantBody)
			}

			if diff := cmp.Diff(tt.wantHeader, rec.Header()); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTimeoutSetsDeadline(t *testing.T) {
	var (
		deadline time.Time
		ok       bool
	)

	h := middleware.Timeout(time.Minute)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		deadline, ok = r.Context().Deadline()
	}))
	start := time.Now()

	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil))

	if !ok || deadline.Before(start.Add(59*time.Second)) || deadline.After(time.Now().Add(time.Minute)) {
		t.Errorf("handler's deadline = %v (set %v), want about a minute from %v", deadline, ok, start)
	}
}

func TestTimeoutPropagatesPanic(t *testing.T) {
	errBroken := errors.New("broken")

	tests := []struct {
		name  string
		value any
		check func(p any) bool
	}{
		{
			name: "value", value: "boom",
			check: func(p any) bool { return strings.HasPrefix(fmt.Sprint(p), "boom") },
		},
		{
			name: "error", value: errBroken,
			check: func(p any) bool { err, _ := p.(error); return errors.Is(err, errBroken) },
		},
		{
			name: "abort", value: http.ErrAbortHandler,
			check: func(p any) bool { return p == any(http.ErrAbortHandler) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := middleware.Timeout(time.Minute)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
				panic(tt.value)
			}))

			p := servePanicking(h, httptest.NewRecorder(), httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil))

			if !tt.check(p) {
				t.Errorf("panic on the serving goroutine = %#v, want %v", p, tt.value)
			}
		})
	}
}

func TestTimeoutPanicKeepsHandlerStack(t *testing.T) {
	logger, logs := logtest.New(slog.LevelDebug)
	h := middleware.Chain(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panicInHandler()
	}), middleware.Recovery(logger), middleware.Timeout(time.Minute))
	rec := httptest.NewRecorder()

	h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/v1/items", nil))

	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500", rec.Code)
	}

	// The stack is the handler goroutine's, not the serving goroutine's.
	checkPanicLogged(t, logs, "boom", "panicInHandler")
}

func panicInHandler() { panic("boom") }

func TestTimeoutClientGone(t *testing.T) {
	h := middleware.Timeout(time.Minute)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil).WithContext(ctx))

	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("status = %d, want %d", rec.Code, http.StatusServiceUnavailable)
	}
}

func TestTimeoutBypassed(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration
		upgrade string
	}{
		{name: "WebSocket upgrade", timeout: time.Millisecond, upgrade: "websocket"},
		{name: "WebSocket upgrade among others", timeout: time.Millisecond, upgrade: "h2c, WebSocket"},
		{name: "zero", timeout: 0},
		{name: "negative", timeout: -time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h := middleware.Timeout(tt.timeout)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if _, ok := r.Context().Deadline(); ok {
					t.Error("handler's context has a deadline")
				}

				if w != rec {
					t.Errorf("handler got writer %T, want the server's own", w)
				}

				time.Sleep(5 * time.Millisecond)
				w.WriteHeader(http.StatusSwitchingProtocols)
			}))
			r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/ws", nil)

			if tt.upgrade != "" {
				r.Header.Set("Connection", "Upgrade")
				r.Header.Set("Upgrade", tt.upgrade)
			}

			h.ServeHTTP(rec, r)

			if rec.Code != http.StatusSwitchingProtocols {
				t.Errorf("status = %d, want %d", rec.Code, http.StatusSwitchingProtocols)
			}
		})
	}
}

func TestDeadline(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name         string
		d            time.Duration
		wantDeadline bool
	}{
		{name: "sets a deadline", d: time.Minute, wantDeadline: true},
		{name: "zero disables it", d: 0},
		{name: "negative disables it", d: -time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			var (
				got    time.Time
				hasOne bool
			)

			h := middleware.Deadline(tt.d)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got, hasOne = r.Context().Deadline()

				w.WriteHeader(http.StatusNoContent)
			}))

			start := time.Now()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil))

			if hasOne != tt.wantDeadline {
				t.Fatalf("Deadline(%v): handler has a deadline = %t, want %t", tt.d, hasOne, tt.wantDeadline)
			}

			if hasOne && (got.Before(start.Add(tt.d)) || got.After(time.Now().Add(tt.d))) {
				t.Errorf("Deadline(%v): deadline %v is not %v after the request", tt.d, got, tt.d)
			}

			if rec.Code != http.StatusNoContent {
				t.Errorf("Deadline(%v): status %d, want the handler's 204 untouched", tt.d, rec.Code)
			}
		})
	}
}
