package middleware_test

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/modulith/modulith/internal/middleware"

	"github.com/modulith/modulith/internal/telemetry/logtest"
)

// internalErrorBody is the platform's JSON body of a 500.
const internalErrorBody = `{"code":"INTERNAL","message":"internal error","details":{}}` + "\n"

// servePanicking serves a request through h and returns what it panicked
// with, if anything.
func servePanicking(h http.Handler, w http.ResponseWriter, r *http.Request) (p any) {
	defer func() { p = recover() }()

	h.ServeHTTP(w, r)

	return nil
}

func TestRecoveryAnswers500(t *testing.T) {
	tests := []struct {
		name      string
		value     any
		wantPanic string
	}{
		{name: "string", value: "boom", wantPanic: "boom"},
		{name: "error", value: errors.New("broken"), wantPanic: "broken"},
		{name: "nil", value: nil, wantPanic: "panic called with nil argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logger, logs := logtest.New(slog.LevelDebug)
			h := middleware.Recovery(logger)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
				panic(tt.value)
			}))
			rec := httptest.NewRecorder()

			if p := servePanicking(h, rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/v1/items?token=x", nil)); p != nil {
				t.Fatalf("Recovery let the panic %v through", p)
			}

			if rec.Code != http.StatusInternalServerError || rec.Body.String() != internalErrorBody {
				t.Errorf("response = %d %q, want 500 %q", rec.Code, rec.Body, internalErrorBody)
			}

			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}

			checkPanicLogged(t, logs, tt.wantPanic, "recovery_test.go")
		})
	}
}

// checkPanicLogged checks that logs hold one ERROR record of the panic,
// with a stack that mentions wantInStack.
func checkPanicLogged(t *testing.T, logs *logtest.Recorder, wantPanic, wantInStack string) {
	t.Helper()

	records := logs.Records()
	if len(records) != 1 {
		t.Fatalf("logged %d records, want 1", len(records))
	}

	if records[0].Level != slog.LevelError {
		t.Errorf("level = %v, want ERROR", records[0].Level)
	}

	a := logtest.Attrs(records[0])
	if got := fmt.Sprint(a["panic"]); !strings.Contains(got, wantPanic) {
		t.Errorf("panic attribute = %q, want it to contain %q", got, wantPanic)
	}

	if stack, _ := a["stack"].(string); !strings.Contains(stack, wantInStack) {
		t.Errorf("stack attribute does not mention %s:\n%s", wantInStack, stack)
	}

	if a["path"] != "/v1/items" {
		t.Errorf("path attribute = %v, want /v1/items", a["path"])
	}
}

func TestRecoveryRepanicsAbortHandler(t *testing.T) {
	logger, logs := logtest.New(slog.LevelDebug)
	h := middleware.Recovery(logger)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic(http.ErrAbortHandler)
	}))

	p := servePanicking(h, httptest.NewRecorder(), httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil))

	if err, _ := p.(error); !errors.Is(err, http.ErrAbortHandler) {
		t.Errorf("panic = %v, want http.ErrAbortHandler", p)
	}

	if n := len(logs.Records()); n != 0 {
		t.Errorf("logged %d records for an aborted handler, want 0", n)
	}
}

func TestRecoveryAbortsStartedResponse(t *testing.T) {
	logger, logs := logtest.New(slog.LevelDebug)
	h := middleware.Recovery(logger)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"items":[`))

		panic("boom")
	}))
	rec := httptest.NewRecorder()

	p := servePanicking(h, rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/v1/items", nil))

	if err, _ := p.(error); !errors.Is(err, http.ErrAbortHandler) {
		t.Errorf("panic = %v, want http.ErrAbortHandler so the connection is cut", p)
	}

	if rec.Body.String() != `{"items":[` {
		t.Errorf("body = %q, want only what the handler wrote", rec.Body)
	}

	checkPanicLogged(t, logs, "boom", "recovery_test.go")
}

func TestRecoveryPassesResponsesThrough(t *testing.T) {
	logger, logs := logtest.New(slog.LevelDebug)
	h := middleware.Recovery(logger)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	}))
	rec := httptest.NewRecorder()

	h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil))

	if rec.Code != http.StatusTeapot {
		t.Errorf("status = %d, want %d", rec.Code, http.StatusTeapot)
	}

	if n := len(logs.Records()); n != 0 {
		t.Errorf("logged %d records, want 0", n)
	}
}
