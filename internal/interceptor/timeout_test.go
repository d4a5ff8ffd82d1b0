package interceptor_test

import (
	"context"
	"testing"
	"time"

	"github.com/modulith/modulith/internal/interceptor"
)

// deadlineSeen returns the deadline the handler saw under Timeout(d).
func deadlineSeen(ctx context.Context, t *testing.T, d time.Duration) (time.Time, bool) {
	t.Helper()

	var (
		deadline time.Time
		ok       bool
	)

	_, err := interceptor.Timeout(d)(ctx, "req", getProfileInfo, func(ctx context.Context, _ any) (any, error) {
		deadline, ok = ctx.Deadline()

		return nil, nil
	})
	if err != nil {
		t.Fatalf("Timeout(%v) = %v", d, err)
	}

	return deadline, ok
}

func TestTimeoutSetsDeadline(t *testing.T) {
	const d = time.Second

	start := time.Now()

	deadline, ok := deadlineSeen(t.Context(), t, d)
	if !ok {
		t.Fatalf("Timeout(%v): handler context has no deadline", d)
	}

	if deadline.After(time.Now().Add(d)) || deadline.Before(start) {
		t.Errorf("Timeout(%v): deadline in %v, want within %v", d, time.Until(deadline), d)
	}
}

func TestTimeoutKeepsShorterClientDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()

	want, _ := ctx.Deadline()

	if got, ok := deadlineSeen(ctx, t, time.Hour); !ok || !got.Equal(want) {
		t.Errorf("Timeout(1h) under a 100ms client deadline: deadline %v, want %v", got, want)
	}
}

func TestTimeoutDisabled(t *testing.T) {
	tests := []struct {
		name string
		d    time.Duration
	}{
		{name: "zero", d: 0},
		{name: "negative", d: -time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if deadline, ok := deadlineSeen(context.Background(), t, tt.d); ok {
				t.Errorf("Timeout(%v): deadline %v, want none", tt.d, deadline)
			}
		})
	}
}
