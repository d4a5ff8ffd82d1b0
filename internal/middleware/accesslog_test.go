package middleware_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/modulith/modulith/internal/middleware"
	"github.com/modulith/modulith/internal/reqmeta"

	"github.com/modulith/modulith/internal/telemetry/logtest"
)

func TestAccessLogLine(t *testing.T) {
	logger, logs := logtest.New(slog.LevelDebug)
	h := middleware.Chain(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			middleware.SetRoute(r.Context(), "/v1/items/{item_id}")
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte("hello "))
			_, _ = w.Write([]byte("world"))
		}),
		middleware.RequestID,
		middleware.ClientIP(nil),
		middleware.AccessLog(logger, middleware.LoggingConfig{}),
	)
	r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/v1/items/42?access_token=s3cr3t", nil)
	r.RemoteAddr = "203.0.113.7:4711"
	r.Header.Set("User-Agent", "test-agent/1.0")
	r.Header.Set("X-Request-ID", "req-1")

	h.ServeHTTP(httptest.NewRecorder(), r)

	records := logs.Records()
	if len(records) != 1 {
		t.Fatalf("logged %d records, want 1", len(records))
	}

	got := records[0]
	if got.Message != "http request" || got.Level != slog.LevelInfo {
		t.Errorf("record = %v %q, want INFO %q", got.Level, got.Message, "http request")
	}

	a := logtest.Attrs(got)
	if d, ok := a["duration_us"].(int64); !ok || d < 0 {
		t.Errorf("duration_us = %#v, want a non-negative int64", a["duration_us"])
	}

	want := map[string]any{
		"method":     "POST",
		"path":       "/v1/items/42",
		"route":      "/v1/items/{item_id}",
		"status":     int64(http.StatusCreated),
		"bytes":      int64(len("hello world")),
		"user_agent": "test-agent/1.0",
		"remote_ip":  "203.0.113.7",
	}
	if diff := cmp.Diff(want, a, cmpopts.IgnoreMapEntries(func(k string, _ any) bool { return k == "duration_us" })); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
}

func TestAccessLogNeverLogsTheQuery(t *testing.T) {
	logger, logs := logtest.New(slog.LevelDebug)
	h := middleware.AccessLog(logger, middleware.LoggingConfig{})(http.NotFoundHandler())

	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/callback?code=s3cr3t&state=x", nil))

	for _, r := range logs.Records() {
		r.Attrs(func(a slog.Attr) bool {
			if strings.Contains(a.Value.String(), "s3cr3t") {
				t.Errorf("attribute %s = %q leaks the query", a.Key, a.Value)
			}

			return true
		})
	}
}

func TestAccessLogLevels(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		sleep     time.Duration
		threshold time.Duration
		wantLevel slog.Level
		wantSlow  bool
	}{
		{name: "ok", status: http.StatusOK, wantLevel: slog.LevelInfo},
		{name: "redirect", status: http.StatusFound, wantLevel: slog.LevelInfo},
		{name: "client error", status: http.StatusNotFound, wantLevel: slog.LevelWarn},
		{name: "server error", status: http.StatusServiceUnavailable, wantLevel: slog.LevelError},
		{name: "gateway timeout", status: http.StatusGatewayTimeout, wantLevel: slog.LevelError},
		{
			name: "slow", status: http.StatusOK, sleep: 5 * time.Millisecond, threshold: time.Millisecond,
			wantLevel: slog.LevelWarn, wantSlow: true,
		},
		{
			name: "slow server error", status: http.StatusInternalServerError, sleep: 5 * time.Millisecond,
			threshold: time.Millisecond, wantLevel: slog.LevelError, wantSlow: true,
		},
		{name: "fast", status: http.StatusOK, threshold: time.Hour, wantLevel: slog.LevelInfo},
		{name: "threshold disabled", status: http.StatusOK, sleep: 5 * time.Millisecond, wantLevel: slog.LevelInfo},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logger, logs := logtest.New(slog.LevelDebug)
			h := middleware.AccessLog(logger, middleware.LoggingConfig{SlowRequestThreshold: tt.threshold})(
				http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					time.Sleep(tt.sleep)
					w.WriteHeader(tt.status)
				}))

			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil))

			records := logs.Records()
			if len(records) != 1 {
				t.Fatalf("logged %d records, want 1", len(records))
			}

			if records[0].Level != tt.wantLevel {
				t.Errorf("level = %v, want %v", records[0].Level, tt.wantLevel)
			}

			if slow, _ := logtest.Attrs(records[0])["slow"].(bool); slow != tt.wantSlow {
				t.Errorf("slow = %v, want %v", slow, tt.wantSlow)
			}
		})
	}
}

func TestAccessLogSkipPaths(t *testing.T) {
	logger, logs := logtest.New(slog.LevelDebug)
	h := middleware.AccessLog(logger, middleware.LoggingConfig{SkipPaths: []string{"/healthz", "/metrics"}})(
		http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))

	for _, path := range []string{"/healthz", "/metrics", "/healthz/deep", "/v1/items"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil))
	}

	var logged []string
	for _, r := range logs.Records() {
		logged = append(logged, logtest.Attrs(r)["path"].(string))
	}

	if diff := cmp.Diff([]string{"/healthz/deep", "/v1/items"}, logged); diff != "" {
		t.Errorf("logged paths (-want +got):\n%s", diff)
	}
}

func TestAccessLogPanicIs500(t *testing.T) {
	logger, logs := logtest.New(slog.LevelDebug)
	h := middleware.Chain(
		http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }),
		middleware.Recovery(slog.New(slog.DiscardHandler)),
		middleware.AccessLog(logger, middleware.LoggingConfig{}),
	)
	rec := httptest.NewRecorder()

	h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil))

	records := logs.Records()
	if len(records) != 1 {
		t.Fatalf("logged %d records, want 1", len(records))
	}

	if status := logtest.Attrs(records[0])["status"]; status != int64(http.StatusInternalServerError) || rec.Code != http.StatusInternalServerError {
		t.Errorf("logged status %v, sent %d; want 500 for both", status, rec.Code)
	}

	if records[0].Level != slog.LevelError {
		t.Errorf("level = %v, want ERROR", records[0].Level)
	}
}

func TestAccessLogUserAgentWithoutRequestID(t *testing.T) {
	logger, logs := logtest.New(slog.LevelDebug)
	h := middleware.AccessLog(logger, middleware.LoggingConfig{})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil)
	r.Header.Set("User-Agent", "direct/1.0")

	h.ServeHTTP(httptest.NewRecorder(), r.WithContext(reqmeta.WithClientIP(context.Background(), "198.51.100.1")))

	a := logtest.Attrs(logs.Records()[0])
	if a["user_agent"] != "direct/1.0" || a["remote_ip"] != "198.51.100.1" {
		t.Errorf("user_agent, remote_ip = %v, %v; want direct/1.0, 198.51.100.1", a["user_agent"], a["remote_ip"])
	}
}
