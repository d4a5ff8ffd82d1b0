package ratelimit_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/modulith/modulith/internal/ratelimit"
	"github.com/modulith/modulith/internal/redistest"
)

// The cost of one decision, the price every request pays: in process,
// and in Redis (a round trip to the server and its Lua script).
func BenchmarkLocalAllow(b *testing.B) {
	l := ratelimit.NewLocal(ratelimit.DefaultMaxKeys)
	b.Cleanup(l.Close)

	benchmarkAllow(b, l)
}

func BenchmarkRedisAllow(b *testing.B) {
	l, _ := newRedis(b, redistest.URL(b), redistest.Prefix(b))

	benchmarkAllow(b, l)
}

func benchmarkAllow(b *testing.B, l ratelimit.Limiter) {
	b.Helper()

	lim := ratelimit.Limit{Count: 1_000_000, Period: time.Second, Burst: 1_000_000}
	keys := make([]string, 1000)

	for i := range keys {
		keys[i] = "default|user:" + strconv.Itoa(i)
	}

	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := l.Allow(b.Context(), keys[i%len(keys)], lim); err != nil {
				b.Fatal(err)
			}

			i++
		}
	})
}
