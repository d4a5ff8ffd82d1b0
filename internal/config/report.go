package config

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Entry is one loaded key: its environment variable name, its value as it
// may be logged (secrets redacted) and the layer it came from.
type Entry struct {
	Key    string
	Value  string
	Source Source
}

// Report describes a Load: one Entry per field and the warnings worth
// logging, such as unknown YAML keys.
type Report struct {
	Entries  []Entry
	Warnings []string
}

// Source returns the source of key, or "" when the report has no such key.
func (r Report) Source(key string) Source {
	for _, e := range r.Entries {
		if e.Key == key {
			return e.Source
		}
	}

	return ""
}

// Log writes one INFO line per entry (msg "config", attributes key, value
// and source), then one WARN line per warning.
func (r Report) Log(ctx context.Context, logger *slog.Logger) {
	for _, e := range r.Entries {
		logger.LogAttrs(ctx, slog.LevelInfo, "config",
			slog.String("key", e.Key), slog.String("value", e.Value), slog.String("source", string(e.Source)))
	}

	for _, w := range r.Warnings {
		logger.LogAttrs(ctx, slog.LevelWarn, "config", slog.String("warning", w))
	}
}

// setValue replaces the logged value of key.
func (r Report) setValue(key, value string) {
	for i := range r.Entries {
		if r.Entries[i].Key == key {
			r.Entries[i].Value = value
		}
	}
}

// display formats f's value for the report, redacting secrets.
func display(f field) string {
	s := format(f.value)

	switch f.secret {
	case "true":
		return redactSecret(s)
	case "dsn":
		return redactDSN(s)
	default:
		return s
	}
}

func format(v reflect.Value) string {
	if v.Type() == durationType {
		return time.Duration(v.Int()).String()
	}

	switch v.Kind() {
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	case reflect.Slice:
		items := make([]string, v.Len())
		for i := range items {
			items[i] = v.Index(i).String()
		}

		return strings.Join(items, ",")
	default:
		return v.String()
	}
}

// redactSecret shows only the length of a secret.
func redactSecret(s string) string {
	if s == "" {
		return "(unset)"
	}

	return fmt.Sprintf("[%d bytes]", len(s))
}
