package natsbus_test

import (
	"testing"

	"github.com/modulith/modulith/internal/bustest"
	"github.com/modulith/modulith/internal/events/natsbus"
)

// Databases cloned from one template (as test databases and staging
// copies are) are clusters of their own, with streams of their own.
func TestStreamDiffersPerDatabase(t *testing.T) {
	t.Parallel()

	a, b := bustest.NewDB(t), bustest.NewDB(t)

	streamA, errA := natsbus.Stream(t.Context(), a.Pool)
	streamB, errB := natsbus.Stream(t.Context(), b.Pool)

	if errA != nil || errB != nil {
		t.Fatalf("Stream() = %v, %v", errA, errB)
	}

	if streamA == streamB || streamA == "" {
		t.Errorf("Stream() = %q and %q, want two different names", streamA, streamB)
	}
}
