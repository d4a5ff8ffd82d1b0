package events

import (
	"crypto/rand"
	"math/big"
	"time"
)

// Delivery states.
const (
	StatePending   = "pending"
	StateFailed    = "failed"
	StateDelivered = "delivered"
	StateDead      = "dead"
)

// RetryPolicy decides what becomes of a delivery whose handler failed.
type RetryPolicy struct {
	MaxAttempts int
	BaseDelay   time.Duration
	MaxDelay    time.Duration
}

// Next returns the state after the attempt-th attempt failed (attempt counts
// from 1) and, when it will be retried, the delay before the next attempt:
// exponential (base·2^(attempt-1), capped at MaxDelay) with "equal jitter"
// (a random half on top of a fixed half), so retries of many failed
// deliveries spread out instead of arriving together.
func (p RetryPolicy) Next(attempt int, jitter func(n int64) int64) (state string, delay time.Duration) {
	if attempt >= p.MaxAttempts {
		return StateDead, 0
	}

	d := p.BaseDelay
	for i := 1; i < attempt && d < p.MaxDelay; i++ {
		if d > p.MaxDelay/2 {
			d = p.MaxDelay // doubling would pass it (or overflow)

			break
		}

		d *= 2
	}

	d = min(d, p.MaxDelay)
	half := d / 2

	if half <= 0 {
		return StateFailed, d
	}

	return StateFailed, half + time.Duration(jitter(int64(half)+1))
}

// randomJitter is the production jitter: uniform in [0, n). It runs only
// when a handler fails, so crypto/rand's cost does not matter.
func randomJitter(n int64) int64 {
	v, err := rand.Int(rand.Reader, big.NewInt(n))
	if err != nil {
		return n / 2
	}

	return v.Int64()
}
