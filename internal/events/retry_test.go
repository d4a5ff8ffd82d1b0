package events_test

import (
	"fmt"
	"math"
	"math/rand"
	"reflect"
	"testing"
	"testing/quick"
	"time"

	"github.com/modulith/modulith/internal/events"
)

func noJitter(int64) int64 { return 0 }

func fullJitter(n int64) int64 { return n - 1 }

func TestRetryPolicyNext(t *testing.T) {
	t.Parallel()

	policy := events.RetryPolicy{MaxAttempts: 5, BaseDelay: time.Second, MaxDelay: 3 * time.Second}

	tests := []struct {
		name      string
		policy    events.RetryPolicy
		attempt   int
		jitter    func(int64) int64
		wantState string
		wantDelay time.Duration
	}{
		{"first failure, no jitter", policy, 1, noJitter, events.StateFailed, 500 * time.Millisecond},
		{"first failure, full jitter", policy, 1, fullJitter, events.StateFailed, time.Second},
		{"second failure doubles", policy, 2, noJitter, events.StateFailed, time.Second},
		{"second failure, full jitter", policy, 2, fullJitter, events.StateFailed, 2 * time.Second},
		{"capped at MaxDelay", policy, 3, noJitter, events.StateFailed, 1500 * time.Millisecond},
		{"capped, full jitter", policy, 4, fullJitter, events.StateFailed, 3 * time.Second},
		{"last attempt is dead", policy, 5, fullJitter, events.StateDead, 0},
		{"past the last attempt", policy, 9, fullJitter, events.StateDead, 0},
		{"one attempt only", events.RetryPolicy{MaxAttempts: 1, BaseDelay: time.Second, MaxDelay: time.Second},
			1, fullJitter, events.StateDead, 0},
		{"a nanosecond has no half", events.RetryPolicy{MaxAttempts: 3, BaseDelay: 1, MaxDelay: 1},
			1, fullJitter, events.StateFailed, 1},
		{"many attempts stay capped", events.RetryPolicy{MaxAttempts: 1000, BaseDelay: time.Second, MaxDelay: time.Hour},
			999, noJitter, events.StateFailed, 30 * time.Minute},
	}
	for _, tt := range tests {
		state, delay := tt.policy.Next(tt.attempt, tt.jitter)
		if state != tt.wantState || delay != tt.wantDelay {
			t.Errorf("%s: %+v.Next(%d) = %s, %v; want %s, %v",
				tt.name, tt.policy, tt.attempt, state, delay, tt.wantState, tt.wantDelay)
		}
	}
}

// TestRetryPolicyNextHugeMaxDelay: doubling BaseDelay past MaxInt64
// nanoseconds (about 292 years) must not wrap around to a negative delay.
func TestRetryPolicyNextHugeMaxDelay(t *testing.T) {
	t.Parallel()

	policy := events.RetryPolicy{MaxAttempts: 10, BaseDelay: 3 * time.Duration(math.MaxInt64/4), MaxDelay: math.MaxInt64}

	for attempt := 2; attempt < policy.MaxAttempts; attempt++ {
		state, delay := policy.Next(attempt, noJitter)
		if state != events.StateFailed || delay < policy.MaxDelay/2 {
			t.Errorf("%+v.Next(%d) = %s, %v; want failed, at least MaxDelay/2 = %v",
				policy, attempt, state, delay, policy.MaxDelay/2)
		}
	}
}

// retryCase is one input of the retry policy's properties.
type retryCase struct {
	MaxAttempts int
	Base, Max   time.Duration
	Attempt     int
	// Jitter picks where in its range the jitter falls, in [0, 1).
	Jitter float64
}

// maxPropertyDelay bounds the generated delays where doubling cannot
// overflow; TestRetryPolicyNextHugeMaxDelay covers the rest.
const maxPropertyDelay = time.Duration(math.MaxInt64 / 2)

// Generate draws delays over many orders of magnitude, from 1ns.
func (retryCase) Generate(r *rand.Rand, _ int) reflect.Value {
	delay := func() time.Duration {
		return time.Duration(math.Exp(r.Float64()*math.Log(float64(maxPropertyDelay)))) + 1
	}
	a, b := delay(), delay()

	return reflect.ValueOf(retryCase{
		MaxAttempts: 1 + r.Intn(70), Base: min(a, b), Max: max(a, b), Attempt: 1 + r.Intn(80), Jitter: r.Float64(),
	})
}

// jitterAt returns a jitter at fraction q of its range [0, n), and checks
// that Next asks for a non-empty range.
func jitterAt(q float64, bad *error) func(int64) int64 {
	return func(n int64) int64 {
		if n < 1 {
			*bad = fmt.Errorf("jitter(%d): want n >= 1", n)

			return 0
		}

		return min(int64(float64(n-1)*q), n-1)
	}
}

// checkRetryProperties checks Next for c and for the attempt after it.
func checkRetryProperties(c retryCase) error {
	p := events.RetryPolicy{MaxAttempts: c.MaxAttempts, BaseDelay: c.Base, MaxDelay: c.Max}

	var bad error

	state, delay := p.Next(c.Attempt, jitterAt(c.Jitter, &bad))
	if bad != nil {
		return bad
	}

	if dead := c.Attempt >= c.MaxAttempts; dead != (state == events.StateDead) || (!dead && state != events.StateFailed) {
		return fmt.Errorf("%+v.Next(%d) state = %s", p, c.Attempt, state)
	}

	if state == events.StateDead {
		return checkZero(delay)
	}

	if lo, hi := uncapped(c.Base, c.Attempt, c.Max)/2, uncapped(c.Base, c.Attempt, c.Max); delay < lo || delay > hi {
		return fmt.Errorf("%+v.Next(%d) delay = %v, want in [%v, %v]", p, c.Attempt, delay, lo, hi)
	}

	if next, after := p.Next(c.Attempt+1, jitterAt(c.Jitter, &bad)); next == events.StateFailed && after < delay {
		return fmt.Errorf("%+v: delay after attempt %d = %v < %v after attempt %d", p, c.Attempt+1, after, delay, c.Attempt)
	}

	return bad
}

func checkZero(delay time.Duration) error {
	if delay != 0 {
		return fmt.Errorf("dead with delay %v, want 0", delay)
	}

	return nil
}

// uncapped is min(base·2^(attempt−1), max), computed without overflow.
func uncapped(base time.Duration, attempt int, limit time.Duration) time.Duration {
	d := base
	for range attempt - 1 {
		if d > limit/2 {
			return limit
		}

		d *= 2
	}

	return min(d, limit)
}

func TestRetryPolicyProperties(t *testing.T) {
	t.Parallel()

	check := func(c retryCase) bool {
		if err := checkRetryProperties(c); err != nil {
			t.Log(err)

			return false
		}

		return true
	}
	if err := quick.Check(check, &quick.Config{MaxCount: 20000}); err != nil {
		t.Error(err)
	}
}

// FuzzRetryPolicy checks the same properties on fuzzed inputs; its seeds
// run with every go test.
func FuzzRetryPolicy(f *testing.F) {
	f.Add(5, int64(time.Second), int64(10*time.Minute), 1, 0.0)
	f.Add(1, int64(1), int64(1), 1, 0.99)
	f.Add(10, int64(time.Millisecond), int64(time.Millisecond), 9, 0.5)
	f.Add(70, int64(3), int64(maxPropertyDelay), 63, 0.999999)
	f.Add(2, int64(time.Hour), int64(2*time.Hour), 200, 0.25)

	f.Fuzz(func(t *testing.T, maxAttempts int, base, limit int64, attempt int, jitter float64) {
		c := retryCase{
			MaxAttempts: 1 + abs(maxAttempts)%100,
			Base:        time.Duration(1 + abs64(base)%int64(maxPropertyDelay)),
			Attempt:     1 + abs(attempt)%200,
			Jitter:      math.Abs(math.Mod(jitter, 1)),
		}
		if math.IsNaN(c.Jitter) {
			c.Jitter = 0
		}

		c.Max = c.Base + time.Duration(abs64(limit)%(int64(maxPropertyDelay)-int64(c.Base)+1))

		if err := checkRetryProperties(c); err != nil {
			t.Error(err)
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -(n + 1)
	}

	return n
}

func abs64(n int64) int64 {
	if n < 0 {
		return -(n + 1)
	}

	return n
}
