package logtest_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/modulith/modulith/internal/telemetry/logtest"
)

// TestBufferConcurrent: writers and a reader share a Buffer (the race
// detector checks it), and nothing written is lost.
func TestBufferConcurrent(t *testing.T) {
	var (
		b  logtest.Buffer
		wg sync.WaitGroup
	)

	for range 8 {
		wg.Go(func() {
			for range 100 {
				_, _ = b.Write([]byte("x\n"))
				_ = b.String()
			}
		})
	}

	wg.Wait()

	if n := strings.Count(b.String(), "x\n"); n != 800 {
		t.Errorf("Buffer holds %d lines, want 800", n)
	}
}
