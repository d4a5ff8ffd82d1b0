package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"go.opentelemetry.io/otel/trace"

	"github.com/modulith/modulith/internal/reqmeta"
)

// Redacted replaces the value of attributes whose key names a secret.
const Redacted = "[REDACTED]"

// secretKeys are attribute keys whose values never reach a log line,
// whatever logs them. Matching is by suffix on the lower-cased key, so
// "refresh_token" and "session.access_token" are covered by "token".
var secretKeys = []string{
	"token", "secret", "password", "authorization", "cookie", "magic_code", "otp",
	"api_key", "apikey", "credential", "credentials",
}

// IsSecretKey reports whether an attribute key names a secret.
func IsSecretKey(key string) bool {
	k := strings.ToLower(key)
	for _, s := range secretKeys {
		if strings.HasSuffix(k, s) {
			return true
		}
	}

	return false
}

// RedactSecrets is a slog ReplaceAttr function that hides secret values.
func RedactSecrets(_ []string, a slog.Attr) slog.Attr {
	if IsSecretKey(a.Key) && a.Value.Kind() != slog.KindGroup {
		return slog.String(a.Key, Redacted)
	}

	return a
}

// ContextHandler adds trace_id, span_id and request_id from the record's
// context to every line.
type ContextHandler struct {
	slog.Handler
}

// NewContextHandler wraps h.
func NewContextHandler(h slog.Handler) *ContextHandler {
	return &ContextHandler{Handler: h}
}

// Handle adds the context's IDs and passes the record on.
func (h *ContextHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}

	if id := reqmeta.RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}

	if err := h.Handler.Handle(ctx, r); err != nil {
		return fmt.Errorf("write log record: %w", err)
	}

	return nil
}

// WithAttrs keeps the wrapper around the derived handler.
func (h *ContextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &ContextHandler{Handler: h.Handler.WithAttrs(attrs)}
}

// WithGroup keeps the wrapper around the derived handler.
func (h *ContextHandler) WithGroup(name string) slog.Handler {
	return &ContextHandler{Handler: h.Handler.WithGroup(name)}
}
