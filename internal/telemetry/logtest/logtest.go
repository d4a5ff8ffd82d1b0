// Package logtest records what code logs, for tests that assert on it:
// give the code under test the logger from New and read the Recorder.
package logtest

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
)

// Recorder is a slog.Handler that keeps every record at or above its level.
// Attributes added with Logger.With are kept; groups are flattened.
type Recorder struct {
	level slog.Level
	store *store
	attrs []slog.Attr
}

type store struct {
	mu      sync.Mutex
	records []slog.Record
}

// New returns a logger that records from level up, and its recorder.
func New(level slog.Level) (*slog.Logger, *Recorder) {
	r := &Recorder{level: level, store: &store{}}

	return slog.New(r), r
}

// Enabled reports whether level is recorded.
func (r *Recorder) Enabled(_ context.Context, level slog.Level) bool { return level >= r.level }

// Handle records rec.
func (r *Recorder) Handle(_ context.Context, rec slog.Record) error {
	rec = rec.Clone()
	rec.AddAttrs(r.attrs...)

	r.store.mu.Lock()
	defer r.store.mu.Unlock()

	r.store.records = append(r.store.records, rec)

	return nil
}

// WithAttrs returns a recorder that adds attrs to every record.
func (r *Recorder) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *r
	c.attrs = append(append([]slog.Attr(nil), r.attrs...), attrs...)

	return &c
}

// WithGroup returns r: groups are flattened.
func (r *Recorder) WithGroup(string) slog.Handler { return r }

// Records returns the records so far, oldest first.
func (r *Recorder) Records() []slog.Record {
	r.store.mu.Lock()
	defer r.store.mu.Unlock()

	return append([]slog.Record(nil), r.store.records...)
}

// Entry is a record in a shape convenient for comparisons.
type Entry struct {
	Level   slog.Level
	Message string
	Attrs   map[string]any
}

// String returns the attribute key formatted as text ("" if absent).
func (e Entry) String(key string) string {
	v, ok := e.Attrs[key]
	if !ok {
		return ""
	}

	return fmt.Sprint(v)
}

// Entries returns the records so far as entries, oldest first.
func (r *Recorder) Entries() []Entry {
	records := r.Records()
	entries := make([]Entry, len(records))

	for i, rec := range records {
		entries[i] = Entry{Level: rec.Level, Message: rec.Message, Attrs: Attrs(rec)}
	}

	return entries
}

// Attrs returns a record's attributes by key.
func Attrs(rec slog.Record) map[string]any {
	m := make(map[string]any, rec.NumAttrs())
	rec.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.Any()

		return true
	})

	return m
}
