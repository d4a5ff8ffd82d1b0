package logtest_test

import (
	"log/slog"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/modulith/modulith/internal/telemetry/logtest"
)

func TestRecorder(t *testing.T) {
	t.Parallel()

	logger, rec := logtest.New(slog.LevelInfo)
	logger.Debug("dropped")
	logger.With("module", "auth").Info("kept", "n", 3)
	logger.Warn("also kept")

	want := []logtest.Entry{
		{Level: slog.LevelInfo, Message: "kept", Attrs: map[string]any{"module": "auth", "n": int64(3)}},
		{Level: slog.LevelWarn, Message: "also kept", Attrs: map[string]any{}},
	}
	if diff := cmp.Diff(want, rec.Entries()); diff != "" {
		t.Errorf("Entries() mismatch (-want +got):\n%s", diff)
	}

	if got := rec.Entries()[0].String("n"); got != "3" {
		t.Errorf(`Entry.String("n") = %q, want "3"`, got)
	}
}
