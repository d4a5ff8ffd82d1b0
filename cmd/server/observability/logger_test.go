package observability_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/modulith/modulith/cmd/server/observability"
	"github.com/modulith/modulith/internal/reqmeta"
	"github.com/modulith/modulith/internal/telemetry"
)

func TestNewLoggerOptions(t *testing.T) {
	tests := []struct {
		name    string
		format  string
		level   string
		wantErr bool
	}{
		{name: "json", format: "json", level: "info"},
		{name: "text", format: "text", level: "debug"},
		{name: "upper-case format", format: "JSON", level: "warn"},
		{name: "upper-case level", format: "text", level: "ERROR"},
		{name: "unknown format", format: "xml", level: "info", wantErr: true},
		{name: "empty format", format: "", level: "info", wantErr: true},
		{name: "unknown level", format: "json", level: "loud", wantErr: true},
		{name: "empty level", format: "json", level: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logger, err := observability.NewLogger(&bytes.Buffer{}, "svc", tt.format, tt.level)
			if (err != nil) != tt.wantErr || (logger == nil) != tt.wantErr {
				t.Errorf("NewLogger(%q, %q) = %v, %v; want error %t", tt.format, tt.level, logger, err, tt.wantErr)
			}
		})
	}
}

func TestNewLoggerLevel(t *testing.T) {
	var buf bytes.Buffer

	logger, err := observability.NewLogger(&buf, "svc", "json", "warn")
	if err != nil {
		t.Fatal(err)
	}

	logger.Info("hidden")
	logger.Warn("shown")

	if got := strings.Count(buf.String(), "\n"); got != 1 || !strings.Contains(buf.String(), `"msg":"shown"`) {
		t.Errorf("at level warn, logged:\n%s\nwant only the warning", buf.String())
	}
}

func TestNewLoggerJSONLine(t *testing.T) {
	var buf bytes.Buffer

	logger, err := observability.NewLogger(&buf, "svc", "json", "debug")
	if err != nil {
		t.Fatal(err)
	}

	tp := sdktrace.NewTracerProvider()

	ctx, span := tp.Tracer("test").Start(reqmeta.WithRequestID(t.Context(), "req-9"), "op")
	logger.InfoContext(ctx, "hello", "token", "s3cr3t", "refresh_token", "r3fr3sh", "user_id", "usr_1")
	span.End()

	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("log line %q: %v", buf.String(), err)
	}

	sc := span.SpanContext()
	want := map[string]any{
		"msg": "hello", "service": "svc", "trace_id": sc.TraceID().String(), "span_id": sc.SpanID().String(),
		"request_id": "req-9", "token": telemetry.Redacted, "refresh_token": telemetry.Redacted, "user_id": "usr_1",
	}

	got := make(map[string]any, len(want))
	for k := range want {
		got[k] = line[k]
	}

	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("log line (-want +got):\n%s", diff)
	}

	if strings.Contains(buf.String(), "s3cr3t") || strings.Contains(buf.String(), "r3fr3sh") {
		t.Errorf("log line carries a secret: %s", buf.String())
	}
}

func TestNewLoggerWithoutSpan(t *testing.T) {
	var buf bytes.Buffer

	logger, err := observability.NewLogger(&buf, "svc", "text", "info")
	if err != nil {
		t.Fatal(err)
	}

	logger.InfoContext(t.Context(), "hello", "password", "hunter2")

	out := buf.String()
	if !strings.Contains(out, "service=svc") || strings.Contains(out, "trace_id") || strings.Contains(out, "hunter2") {
		t.Errorf("text line = %q, want service, no trace_id, password redacted", out)
	}
}

func TestNewLoggerKeepsContextHandlerInGroups(t *testing.T) {
	var buf bytes.Buffer

	logger, err := observability.NewLogger(&buf, "svc", "json", "info")
	if err != nil {
		t.Fatal(err)
	}

	logger.WithGroup("g").With("k", "v").InfoContext(reqmeta.WithRequestID(t.Context(), "req-3"), "hello")

	if !strings.Contains(buf.String(), "req-3") {
		t.Errorf("line from a derived logger = %q, want the request ID", buf.String())
	}
}

func TestBootstrapLogger(t *testing.T) {
	var buf bytes.Buffer

	observability.BootstrapLogger(&buf, "svc").Info("starting", "jwt_secret", "abc", "port", 8080)

	out := buf.String()
	if !strings.Contains(out, "service=svc") || !strings.Contains(out, "port=8080") || strings.Contains(out, "abc") {
		t.Errorf("bootstrap line = %q, want service and port, secret redacted", out)
	}
}
