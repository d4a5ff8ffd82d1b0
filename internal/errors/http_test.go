package errors_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modulith/modulith/internal/errors"
)

// writeJSON runs WriteHTTP and returns the recorder and the decoded body.
func writeJSON(t *testing.T, status int, de *errors.DomainError) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()

	rec := httptest.NewRecorder()
	errors.WriteHTTP(rec, status, de)

	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("WriteHTTP(%v) body %q is not JSON: %v", de, rec.Body.String(), err)
	}

	return rec, body
}

func TestWriteHTTPBody(t *testing.T) {
	tests := []struct {
		name string
		de   *errors.DomainError
		want map[string]any
	}{
		{
			"no details",
			errors.NotFound("order not found", errors.WithCause(errCause)),
			map[string]any{"code": "NOT_FOUND", "message": "order not found", "details": map[string]any{}},
		},
		{
			"details",
			errors.Forbidden("no", errors.WithDetail("permission", "orders:write")),
			map[string]any{"code": "FORBIDDEN", "message": "no", "details": map[string]any{"permission": "orders:write"}},
		},
		{
			"fields",
			errors.Validation("invalid", errors.WithField("email", "required"), errors.WithField("age", "too low")),
			map[string]any{"code": "VALIDATION_FAILED", "message": "invalid", "details": map[string]any{
				"fields": []any{
					map[string]any{"field": "email", "description": "required"},
					map[string]any{"field": "age", "description": "too low"},
				},
			}},
		},
		{
			"retry after",
			errors.RateLimited("slow down", 1500*time.Millisecond, errors.WithDetail("limit", "5")),
			map[string]any{"code": "RATE_LIMITED", "message": "slow down", "details": map[string]any{
				"limit": "5", "retry_after_seconds": float64(2),
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := writeJSON(t, 0, tt.de)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("WriteHTTP(%v) body mismatch (-want +got):\n%s", tt.de, diff)
			}
		})
	}
}

func TestBody(t *testing.T) {
	de := errors.RateLimited("slow down", time.Second,
		errors.WithDetail("limit", "5"), errors.WithField("ip", "blocked"))

	want := errors.HTTPBody{
		Code:    errors.CodeRateLimited,
		Message: "slow down",
		Details: map[string]any{
			"limit":               "5",
			"fields":              []errors.FieldViolation{{Field: "ip", Description: "blocked"}},
			"retry_after_seconds": 1,
		},
	}
	if diff := cmp.Diff(want, errors.Body(de)); diff != "" {
		t.Errorf("Body(%v) mismatch (-want +got):\n%s", de, diff)
	}

	if de.Details["retry_after_seconds"] != "" || len(de.Details) != 1 {
		t.Errorf("Body(%v) modified the error's details: %v", de, de.Details)
	}
}

func TestRetryAfterRoundsUp(t *testing.T) {
	tests := []struct {
		retryAfter time.Duration
		want       string
	}{
		{time.Nanosecond, "1"},
		{time.Millisecond, "1"},
		{time.Second, "1"},
		{time.Second + time.Nanosecond, "2"},
		{1500 * time.Millisecond, "2"},
		{2 * time.Second, "2"},
		{time.Minute, "60"},
		{0, ""},
		{-time.Second, ""},
	}
	for _, tt := range tests {
		t.Run(tt.retryAfter.String(), func(t *testing.T) {
			de := errors.RateLimited("slow down", tt.retryAfter)
			rec, body := writeJSON(t, 0, de)

			if got := rec.Header().Get("Retry-After"); got != tt.want {
				t.Errorf("WriteHTTP(RetryAfter=%v) Retry-After = %q, want %q", tt.retryAfter, got, tt.want)
			}

			details, _ := body["details"].(map[string]any)

			got, present := details["retry_after_seconds"]
			if tt.want == "" {
				if present {
					t.Errorf("WriteHTTP(RetryAfter=%v) details.retry_after_seconds = %v, want absent", tt.retryAfter, got)
				}

				return
			}

			if want := rec.Header().Get("Retry-After"); jsonNumber(got) != want {
				t.Errorf("WriteHTTP(RetryAfter=%v) details.retry_after_seconds = %v, want %s", tt.retryAfter, got, want)
			}
		})
	}
}

// jsonNumber formats a decoded JSON number as an integer string.
func jsonNumber(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}

	return string(b)
}

func TestWriteHTTPStatusAndHeaders(t *testing.T) {
	tests := []struct {
		name   string
		status int
		de     *errors.DomainError
		want   int
	}{
		{"zero means the type's status", 0, errors.NotFound("x"), http.StatusNotFound},
		{"zero for rate limited", 0, errors.RateLimited("x", time.Second), http.StatusTooManyRequests},
		{"zero for unknown type", 0, errors.New("bogus", "x"), http.StatusInternalServerError},
		{"explicit status wins", http.StatusRequestEntityTooLarge, errors.Validation("x"), http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, _ := writeJSON(t, tt.status, tt.de)

			if rec.Code != tt.want {
				t.Errorf("WriteHTTP(%d, %v) status = %d, want %d", tt.status, tt.de, rec.Code, tt.want)
			}

			if got := rec.Header().Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", got)
			}

			if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
			}
		})
	}
}

func TestWriteHTTPNeverSendsTheCause(t *testing.T) {
	de := errors.Internal("internal error", errors.New(errors.TypeInternal, "password=hunter2"))
	rec, _ := writeJSON(t, 0, de)

	if body := rec.Body.String(); strings.Contains(body, "hunter2") || strings.Contains(body, "password") {
		t.Errorf("WriteHTTP body %q leaks the cause", body)
	}
}
