// Package observability sets up the process's logs, metrics and traces:
// slog (JSON in prod, text in dev) with trace and request IDs and secrets
// redacted, OpenTelemetry metrics exported in Prometheus format at /metrics,
// and OpenTelemetry traces exported over OTLP when an endpoint is set.
package observability

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/modulith/modulith/internal/telemetry"
)

// NewLogger returns the process logger: format "json" or "text", level
// "debug", "info", "warn" or "error"; every line names the service and
// carries the trace, span and request IDs of its context.
func NewLogger(w io.Writer, service, format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}

	opts := &slog.HandlerOptions{Level: lvl, ReplaceAttr: telemetry.RedactSecrets}

	var h slog.Handler

	switch strings.ToLower(format) {
	case "json":
		h = slog.NewJSONHandler(w, opts)
	case "text":
		h = slog.NewTextHandler(w, opts)
	default:
		return nil, fmt.Errorf("log format %q: want json or text", format)
	}

	return slog.New(telemetry.NewContextHandler(h)).With("service", service), nil
}

// BootstrapLogger logs until the configuration is loaded.
func BootstrapLogger(w io.Writer, service string) *slog.Logger {
	h := slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo, ReplaceAttr: telemetry.RedactSecrets})

	return slog.New(h).With("service", service)
}
