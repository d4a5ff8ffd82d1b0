package middleware_test

import (
	"context"
	"log/slog"
	"sync"
)

// recorder is a slog.Handler that keeps every record, for assertions.
type recorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func newLogger() (*slog.Logger, *recorder) {
	rec := &recorder{}

	return slog.New(rec), rec
}

func (*recorder) Enabled(context.Context, slog.Level) bool { return true }

func (h *recorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()

	h.records = append(h.records, r.Clone())

	return nil
}

func (h *recorder) WithAttrs([]slog.Attr) slog.Handler { return h }

func (h *recorder) WithGroup(string) slog.Handler { return h }

func (h *recorder) all() []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()

	return append([]slog.Record(nil), h.records...)
}

// attrs returns a record's attributes by key.
func attrs(r slog.Record) map[string]any {
	m := make(map[string]any, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.Any()

		return true
	})

	return m
}
