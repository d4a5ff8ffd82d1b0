package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/modulith/modulith/internal/reqmeta"
	"github.com/modulith/modulith/internal/telemetry"
)

// jsonLogger returns a logger writing JSON lines through ContextHandler and
// RedactSecrets, and the buffer it writes to.
func jsonLogger() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer

	h := slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: telemetry.RedactSecrets})

	return slog.New(telemetry.NewContextHandler(h)), &buf
}

// lastLine decodes the last JSON line of buf.
func lastLine(t *testing.T, buf *bytes.Buffer) map[string]any {
	t.Helper()

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")

	var m map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &m); err != nil {
		t.Fatalf("log line %q is not JSON: %v", lines[len(lines)-1], err)
	}

	return m
}

// requestContext returns a context with a recording span and a request ID,
// and the span's context.
func requestContext(t *testing.T) (context.Context, trace.SpanContext) {
	t.Helper()

	tp := sdktrace.NewTracerProvider()

	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	ctx, span := tp.Tracer("test").Start(t.Context(), "request")
	t.Cleanup(func() { span.End() })

	return reqmeta.WithRequestID(ctx, "req-42"), span.SpanContext()
}

func TestContextHandlerAddsIDs(t *testing.T) {
	ctx, sc := requestContext(t)
	logger, buf := jsonLogger()

	logger.InfoContext(ctx, "hello", "k", "v")

	got := lastLine(t, buf)
	want := map[string]string{
		"trace_id":   sc.TraceID().String(),
		"span_id":    sc.SpanID().String(),
		"request_id": "req-42",
		"k":          "v",
		"msg":        "hello",
	}

	for key, w := range want {
		if got[key] != w {
			t.Errorf("log line %s = %v, want %q (line %v)", key, got[key], w, got)
		}
	}
}

func TestContextHandlerOutsideARequest(t *testing.T) {
	tests := []struct {
		name string
		ctx  context.Context
	}{
		{"background", context.Background()},
		{"request ID only", reqmeta.WithRequestID(context.Background(), "req-1")},
		{"invalid span context", trace.ContextWithSpanContext(context.Background(), trace.SpanContext{})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logger, buf := jsonLogger()
			logger.InfoContext(tt.ctx, "hello")

			got := lastLine(t, buf)
			if _, ok := got["trace_id"]; ok {
				t.Errorf("log line has trace_id outside a span: %v", got)
			}

			if _, ok := got["span_id"]; ok {
				t.Errorf("log line has span_id outside a span: %v", got)
			}

			if id, ok := got["request_id"]; ok != (reqmeta.RequestID(tt.ctx) != "") {
				t.Errorf("log line request_id = %v, want it only inside a request", id)
			}
		})
	}
}

func TestContextHandlerWithAttrs(t *testing.T) {
	ctx, sc := requestContext(t)
	logger, buf := jsonLogger()

	derived := logger.With("module", "orders")
	if _, ok := derived.Handler().(*telemetry.ContextHandler); !ok {
		t.Fatalf("With() handler = %T, want *telemetry.ContextHandler", derived.Handler())
	}

	derived.InfoContext(ctx, "hello")

	got := lastLine(t, buf)
	if got["module"] != "orders" || got["trace_id"] != sc.TraceID().String() || got["request_id"] != "req-42" {
		t.Errorf("With() line = %v, want module, trace_id and request_id", got)
	}
}

func TestContextHandlerWithGroup(t *testing.T) {
	ctx, sc := requestContext(t)
	logger, buf := jsonLogger()

	derived := logger.WithGroup("http")
	if _, ok := derived.Handler().(*telemetry.ContextHandler); !ok {
		t.Fatalf("WithGroup() handler = %T, want *telemetry.ContextHandler", derived.Handler())
	}

	derived.InfoContext(ctx, "hello", "status", 200)

	// slog puts record attributes added by Handle inside the open group, so
	// the IDs are nested under "http" alongside the record's own attributes.
	got := lastLine(t, buf)

	group, _ := got["http"].(map[string]any)
	if group["trace_id"] != sc.TraceID().String() || group["span_id"] != sc.SpanID().String() || group["request_id"] != "req-42" {
		t.Errorf("WithGroup() line = %v, want trace_id, span_id and request_id", got)
	}
}

// failingHandler accepts everything and fails to write.
type failingHandler struct{ slog.Handler }

var errWrite = errors.New("disk full")

func (failingHandler) Handle(context.Context, slog.Record) error { return errWrite }

func TestContextHandlerReturnsWriteErrors(t *testing.T) {
	h := telemetry.NewContextHandler(failingHandler{slog.DiscardHandler})

	err := h.Handle(t.Context(), slog.Record{})
	if !errors.Is(err, errWrite) {
		t.Errorf("Handle() = %v, want it to wrap %v", err, errWrite)
	}
}

func TestContextHandlerEnabledDelegates(t *testing.T) {
	inner := slog.NewJSONHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelWarn})
	h := telemetry.NewContextHandler(inner)

	if h.Enabled(t.Context(), slog.LevelInfo) || !h.Enabled(t.Context(), slog.LevelError) {
		t.Errorf("Enabled() does not follow the inner handler's level")
	}
}

func TestIsSecretKey(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{"token", true},
		{"access_token", true},
		{"refresh_token", true},
		{"auth.access_token", true},
		{"Token", true},
		{"JWT_SECRET", true},
		{"client_secret", true},
		{"authorization", true},
		{"Authorization", true},
		{"password", true},
		{"db_password", true},
		{"cookie", true},
		{"Set-Cookie", true},
		{"magic_code", true},
		{"otp", true},
		{"code", false},
		{"error_code", false},
		{"message", false},
		{"msg", false},
		{"token_type", false},
		{"user_id", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if got := telemetry.IsSecretKey(tt.key); got != tt.want {
				t.Errorf("IsSecretKey(%q) = %t, want %t", tt.key, got, tt.want)
			}

			got := telemetry.RedactSecrets(nil, slog.String(tt.key, "v4lue"))

			want := slog.String(tt.key, "v4lue")
			if tt.want {
				want = slog.String(tt.key, telemetry.Redacted)
			}

			if !got.Equal(want) {
				t.Errorf("RedactSecrets(%q) = %v, want %v", tt.key, got, want)
			}
		})
	}
}

func TestRedactSecretsRedactsAnyKind(t *testing.T) {
	for _, a := range []slog.Attr{slog.Int("otp", 123456), slog.Any("token", []byte("abc")), slog.Bool("cookie", true)} {
		if got := telemetry.RedactSecrets(nil, a); !got.Equal(slog.String(a.Key, telemetry.Redacted)) {
			t.Errorf("RedactSecrets(%v) = %v, want redacted", a, got)
		}
	}

	// Groups are not values: their members are redacted one by one.
	group := slog.Group("token", slog.String("kind", "access"))
	if got := telemetry.RedactSecrets(nil, group); !got.Equal(group) {
		t.Errorf("RedactSecrets(%v) = %v, want the group unchanged", group, got)
	}
}

func TestSecretsNeverReachTheLog(t *testing.T) {
	const secret = "s3cr3t-v4lue"

	logger, buf := jsonLogger()
	logger = logger.With("refresh_token", secret)

	logger.Info("login",
		"access_token", secret,
		"JWT_SECRET", secret,
		"Authorization", "Bearer "+secret,
		"password", secret,
		"cookie", "session="+secret,
		"magic_code", secret,
		slog.Group("auth", "token", secret, "id_token", secret),
		"code", "NOT_FOUND",
		"error_code", "AUTH_TOKEN_EXPIRED",
		"message", "kept",
	)
	logger.WithGroup("req").Info("headers", "authorization", secret)

	out := buf.String()
	if strings.Contains(out, secret) {
		t.Fatalf("log output contains the secret:\n%s", out)
	}

	got := lastLine(t, bytes.NewBufferString(strings.SplitN(out, "\n", 2)[0]))
	want := map[string]any{
		"refresh_token": telemetry.Redacted,
		"access_token":  telemetry.Redacted,
		"JWT_SECRET":    telemetry.Redacted,
		"Authorization": telemetry.Redacted,
		"password":      telemetry.Redacted,
		"cookie":        telemetry.Redacted,
		"magic_code":    telemetry.Redacted,
		"auth":          map[string]any{"token": telemetry.Redacted, "id_token": telemetry.Redacted},
		"code":          "NOT_FOUND",
		"error_code":    "AUTH_TOKEN_EXPIRED",
		"message":       "kept",
	}

	for _, drop := range []string{"time", "level", "msg"} {
		delete(got, drop)
	}

	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("logged attributes mismatch (-want +got):\n%s", diff)
	}
}
