// Package ratelimit decides whether a request may pass: a token bucket per
// key (GCRA, which is the same bucket seen as a "theoretical arrival
// time"), kept in process (Local) or in Redis/Valkey so that every replica
// spends one budget (Redis). It knows keys and limits, not requests: the
// route policy (internal/routepolicy) names the key of each request and
// the limit of its route.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Limit lets Count requests through per Period, at most Burst of them at
// once: a bucket of Burst tokens that refills one token every Period/Count.
type Limit struct {
	Count  int
	Period time.Duration
	Burst  int
}

// periods are the units a limit may be written in.
var periods = map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}

// maxCount bounds Count and Burst: beyond it a limit protects nothing and
// the arithmetic of the buckets loses precision.
const maxCount = 1_000_000

// ParseLimit reads "COUNT/UNIT" or "COUNT/UNIT:BURST", UNIT one of s, m
// and h: "100/s", "20/m:5". Without BURST a client may spend the whole
// COUNT at once.
func ParseLimit(s string) (Limit, error) {
	rateText, burstText, hasBurst := strings.Cut(strings.TrimSpace(s), ":")

	countText, unit, ok := strings.Cut(rateText, "/")
	if !ok {
		return Limit{}, fmt.Errorf("%q is not COUNT/UNIT[:BURST] (e.g. 100/s, 20/m:5)", s)
	}

	period, ok := periods[unit]
	if !ok {
		return Limit{}, fmt.Errorf("%q: the unit must be s, m or h, not %q", s, unit)
	}

	count, err := positive(countText)
	if err != nil {
		return Limit{}, fmt.Errorf("%q: the count %w", s, err)
	}

	burst := count
	if hasBurst {
		if burst, err = positive(burstText); err != nil {
			return Limit{}, fmt.Errorf("%q: the burst %w", s, err)
		}
	}

	return Limit{Count: count, Period: period, Burst: burst}, nil
}

func positive(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxCount {
		return 0, fmt.Errorf("must be a whole number from 1 to %d, not %q", maxCount, s)
	}

	return n, nil
}

// String writes l as ParseLimit reads it.
func (l Limit) String() string {
	unit := "s"

	for u, p := range periods {
		if p == l.Period {
			unit = u
		}
	}

	return fmt.Sprintf("%d/%s:%d", l.Count, unit, l.Burst)
}

// interval is the time one token takes to come back.
func (l Limit) interval() time.Duration { return l.Period / time.Duration(l.Count) }

// Decision is the answer for one request.
type Decision struct {
	Allowed bool
	// Remaining is the number of requests that may follow at once.
	Remaining int
	// RetryAfter is how long a refused client must wait; 0 when allowed.
	RetryAfter time.Duration
	// ResetAfter is how long until the bucket is full again.
	ResetAfter time.Duration
}

// Limiter spends one token of key's bucket under limit l.
type Limiter interface {
	Allow(ctx context.Context, key string, l Limit) (Decision, error)
}

// errInvalidLimit is returned for a limit ParseLimit would not give.
var errInvalidLimit = errors.New("ratelimit: invalid limit")

func (l Limit) valid() error {
	if l.Count < 1 || l.Burst < 1 || l.Period <= 0 || l.interval() <= 0 {
		return fmt.Errorf("%w: %+v", errInvalidLimit, l)
	}

	return nil
}
