package ratelimit

import (
	"context"
	"math"
	"time"

	"github.com/maypok86/otter/v2"
	"golang.org/x/time/rate"
)

// Local keeps the buckets in this process's memory: each replica has its
// own budget. At most maxKeys buckets are kept (the least recently used
// go first), and a bucket unused for as long as it takes to fill again is
// dropped, since a new one is the same.
type Local struct {
	buckets *otter.Cache[string, *rate.Limiter]
	now     func() time.Time
}

// DefaultMaxKeys bounds the buckets of a Local limiter: about 200 bytes
// each, so 100 000 callers take some 20 MB.
const DefaultMaxKeys = 100_000

// NewLocal returns an in-process limiter holding at most maxKeys buckets.
func NewLocal(maxKeys int) *Local {
	return &Local{
		buckets: otter.Must(&otter.Options[string, *rate.Limiter]{
			MaximumSize: maxKeys,
			ExpiryCalculator: otter.ExpiryAccessingFunc(func(e otter.Entry[string, *rate.Limiter]) time.Duration {
				return refillOf(e.Value)
			}),
		}),
		now: time.Now,
	}
}

// refillOf is the time the bucket of lim takes to fill, at least a
// second (otter's resolution).
func refillOf(lim *rate.Limiter) time.Duration {
	d := time.Duration(float64(lim.Burst()) / float64(lim.Limit()) * float64(time.Second))

	return max(d, time.Second)
}

// Allow spends a token of key's bucket; it never fails for a valid l.
func (l *Local) Allow(_ context.Context, key string, lim Limit) (Decision, error) {
	if err := lim.valid(); err != nil {
		return Decision{}, err
	}

	bucket, _ := l.buckets.ComputeIfAbsent(key, func() (*rate.Limiter, bool) {
		return rate.NewLimiter(rate.Every(lim.interval()), lim.Burst), false
	})

	now := l.now()

	res := bucket.ReserveN(now, 1)
	if delay := res.DelayFrom(now); delay > 0 {
		res.CancelAt(now)

		return Decision{RetryAfter: delay, ResetAfter: resetAfter(bucket, lim, now)}, nil
	}

	return Decision{
		Allowed:    true,
		Remaining:  int(math.Max(0, math.Floor(bucket.TokensAt(now)))),
		ResetAfter: resetAfter(bucket, lim, now),
	}, nil
}

// resetAfter is how long bucket takes to fill from now.
func resetAfter(bucket *rate.Limiter, lim Limit, now time.Time) time.Duration {
	missing := float64(lim.Burst) - bucket.TokensAt(now)

	return time.Duration(math.Max(0, missing) * float64(lim.interval()))
}

// Close stops the goroutine that drops expired buckets.
func (l *Local) Close() { l.buckets.StopAllGoroutines() }
