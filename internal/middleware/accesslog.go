package middleware

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/modulith/modulith/internal/reqmeta"
)

// LoggingConfig configures AccessLog.
type LoggingConfig struct {
	// SkipPaths are exact URL paths that are not logged (health checks).
	SkipPaths []string
	// SlowRequestThreshold logs requests that take at least this long at
	// WARN with slow=true; zero disables it.
	SlowRequestThreshold time.Duration
}

// AccessLog writes one "http request" line per request once it has
// completed: method, path, route, status, duration_us (microseconds, an
// integer: slog writes a float through encoding/json, which took a fifth
// of the line's cost), bytes, user_agent and remote_ip. The path is URL.Path only: the query string may carry tokens.
// The level is ERROR for 5xx, WARN for 4xx and for slow requests, else INFO.
// The log handler adds the request and trace IDs from the context.
func AccessLog(logger *slog.Logger, cfg LoggingConfig) func(http.Handler) http.Handler {
	skip := make(map[string]bool, len(cfg.SkipPaths))
	for _, p := range cfg.SkipPaths {
		skip[p] = true
	}

	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if skip[r.URL.Path] {
				serve(next, w, r)

				return
			}

			observe(w, r, next, func(o outcome) {
				level, slow := accessLevel(o, cfg.SlowRequestThreshold)

				attrs := []slog.Attr{
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
					slog.String("route", o.route),
					slog.Int("status", o.status),
					slog.Int64("duration_us", o.duration.Microseconds()),
					slog.Int64("bytes", o.bytes),
					slog.String("user_agent", userAgent(r)),
					slog.String("remote_ip", reqmeta.ClientIP(r.Context())),
				}
				if slow {
					attrs = append(attrs, slog.Bool("slow", true))
				}

				logger.LogAttrs(r.Context(), level, "http request", attrs...)
			})
		})
	}
}

// accessLevel returns the level of a request's line and whether it was slow.
func accessLevel(o outcome, threshold time.Duration) (slog.Level, bool) {
	slow := threshold > 0 && o.duration >= threshold

	switch {
	case o.status >= http.StatusInternalServerError:
		return slog.LevelError, slow
	case o.status >= http.StatusBadRequest || slow:
		return slog.LevelWarn, slow
	default:
		return slog.LevelInfo, slow
	}
}

// userAgent is the user agent RequestID stored, or the header itself when
// RequestID is not in the chain.
func userAgent(r *http.Request) string {
	if ua := reqmeta.UserAgent(r.Context()); ua != "" {
		return ua
	}

	return truncateUTF8(r.UserAgent(), maxUserAgentBytes)
}
