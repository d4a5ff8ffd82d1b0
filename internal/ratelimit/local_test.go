package ratelimit_test

import (
	"testing"
	"time"

	"github.com/modulith/modulith/internal/ratelimit"
)

// spend asks l n times for key and returns the decisions.
func spend(t *testing.T, l ratelimit.Limiter, key string, lim ratelimit.Limit, n int) []ratelimit.Decision {
	t.Helper()

	out := make([]ratelimit.Decision, n)

	for i := range out {
		d, err := l.Allow(t.Context(), key, lim)
		if err != nil {
			t.Fatalf("Allow(%q) #%d: %v", key, i, err)
		}

		out[i] = d
	}

	return out
}

// checkBurst checks that a fresh bucket of lim lets exactly its burst
// through, counting Remaining down, then refuses with advice to retry.
func checkBurst(t *testing.T, ds []ratelimit.Decision, lim ratelimit.Limit) {
	t.Helper()

	for i, d := range ds[:lim.Burst] {
		if !d.Allowed || d.Remaining != lim.Burst-1-i {
			t.Errorf("request %d = %+v, want allowed with %d remaining", i, d, lim.Burst-1-i)
		}
	}

	refused := ds[lim.Burst]
	if refused.Allowed || refused.RetryAfter <= 0 || refused.RetryAfter > lim.Period/time.Duration(lim.Count) {
		t.Errorf("request past the burst = %+v, want refused, retry within one interval (%s)", refused, lim.Period/time.Duration(lim.Count))
	}

	if refused.ResetAfter <= 0 || refused.ResetAfter > lim.Period {
		t.Errorf("ResetAfter = %s, want in (0, %s]", refused.ResetAfter, lim.Period)
	}
}

func TestLocalBurstThenRefuses(t *testing.T) {
	l := ratelimit.NewLocal(10)
	t.Cleanup(l.Close)

	lim := ratelimit.Limit{Count: 3, Period: time.Minute, Burst: 3}
	checkBurst(t, spend(t, l, "k", lim, 4), lim)

	// Keys have their own buckets.
	if d := spend(t, l, "other", lim, 1)[0]; !d.Allowed {
		t.Errorf("another key's first request = %+v, want allowed", d)
	}
}

func TestLocalRefills(t *testing.T) {
	l := ratelimit.NewLocal(10)
	t.Cleanup(l.Close)

	lim := ratelimit.Limit{Count: 50, Period: time.Second, Burst: 1} // one token every 20ms
	if ds := spend(t, l, "k", lim, 2); !ds[0].Allowed || ds[1].Allowed {
		t.Fatalf("decisions = %+v, want allowed then refused", ds)
	}

	time.Sleep(ds0Retry(t, l, lim))

	if d := spend(t, l, "k", lim, 1)[0]; !d.Allowed {
		t.Errorf("after RetryAfter = %+v, want allowed", d)
	}
}

// ds0Retry returns how long the empty bucket "k" asks to wait.
func ds0Retry(t *testing.T, l ratelimit.Limiter, lim ratelimit.Limit) time.Duration {
	t.Helper()

	d := spend(t, l, "k", lim, 1)[0]
	if d.Allowed {
		t.Fatalf("empty bucket allowed a request: %+v", d)
	}

	return d.RetryAfter
}

func TestLocalBoundsItsKeys(t *testing.T) {
	l := ratelimit.NewLocal(100)
	t.Cleanup(l.Close)

	lim := ratelimit.Limit{Count: 1, Period: time.Hour, Burst: 1}
	for i := range 10_000 {
		spend(t, l, "key-"+string(rune('a'+i%26))+time.Duration(i).String(), lim, 1)
	}

	if n := l.Keys(); n > 200 {
		t.Errorf("Keys() = %d after 10000 keys, want about the bound 100", n)
	}
}

func TestLocalRejectsAnInvalidLimit(t *testing.T) {
	l := ratelimit.NewLocal(10)
	t.Cleanup(l.Close)

	if _, err := l.Allow(t.Context(), "k", ratelimit.Limit{}); err == nil {
		t.Error("Allow(zero limit) succeeded, want an error")
	}
}
