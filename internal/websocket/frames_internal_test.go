package websocket

import (
	"strconv"
	"testing"
)

// The queue hands frames out in order while pushes and pops interleave,
// and reuses its array rather than growing past the most frames it held.
func TestFramesFIFO(t *testing.T) {
	t.Parallel()

	var (
		q          frames
		pushed     int
		popped     int
		mostQueued int
	)

	push := func(n int) {
		for range n {
			q.push([]byte(strconv.Itoa(pushed)))
			pushed++
		}

		mostQueued = max(mostQueued, q.len())
	}
	pop := func(n int) {
		for range n {
			if got, want := string(q.pop()), strconv.Itoa(popped); got != want {
				t.Fatalf("pop() = %s, want %s", got, want)
			}

			popped++
		}
	}

	for range 100 {
		push(5)
		pop(3) // two stay behind each round
		push(1)
		pop(3)
	}

	push(7)
	pop(q.len())

	if q.len() != 0 || q.head != 0 || len(q.buf) != 0 {
		t.Fatalf("drained queue: len %d, head %d, buf %d", q.len(), q.head, len(q.buf))
	}

	if cap(q.buf) > 2*mostQueued {
		t.Errorf("array of %d frames after holding at most %d", cap(q.buf), mostQueued)
	}

	wantCleared(t, q.buf[:cap(q.buf)])
}

// wantCleared fails unless no slot of a drained queue's array still holds
// a frame (which would keep it from the collector).
func wantCleared(t *testing.T, slots [][]byte) {
	t.Helper()

	for i, b := range slots {
		if b != nil {
			t.Fatalf("slot %d still holds frame %s after it was popped", i, b)
		}
	}
}
