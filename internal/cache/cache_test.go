package cache_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/modulith/modulith/internal/cache"
	"github.com/modulith/modulith/internal/pgtest"
	"github.com/modulith/modulith/internal/redistest"
)

// cluster builds hubs that share one transport, as replicas do.
type cluster struct {
	newHub func(t *testing.T) *cache.Hub
}

// transports are the hub's transports, each on its real server: a test
// database of its own, or a Redis prefix of its own.
func transports(t *testing.T) map[string]cluster {
	t.Helper()

	return map[string]cluster{
		"postgres": {newHub: func(t *testing.T) *cache.Hub {
			t.Helper()

			return must(cache.NewPostgresHub(sharedDB(t).Pool, "cache_test", slog.New(slog.DiscardHandler), noop.Meter{}))(t)
		}},
		"redis": {newHub: func(t *testing.T) *cache.Hub {
			t.Helper()

			return must(cache.NewRedisHub(newRedis(t), sharedPrefix(t), slog.New(slog.DiscardHandler), noop.Meter{}))(t)
		}},
	}
}

// must returns v, failing the test on err.
func must[V any](v V, err error) func(t *testing.T) V {
	return func(t *testing.T) V {
		t.Helper()

		if err != nil {
			t.Fatal(err)
		}

		return v
	}
}

var (
	dbs      sync.Map // test name → *pgtest.Database
	prefixes sync.Map // test name → prefix
)

// sharedDB is the database of the (sub)test, created on first use.
func sharedDB(t *testing.T) *pgtest.Database {
	t.Helper()

	if db, ok := dbs.Load(t.Name()); ok {
		return db.(*pgtest.Database)
	}

	db := pgtest.NewDatabase(t)
	dbs.Store(t.Name(), db)
	t.Cleanup(func() { dbs.Delete(t.Name()) })

	return db
}

func sharedPrefix(t *testing.T) string {
	t.Helper()

	p, _ := prefixes.LoadOrStore(t.Name(), redistest.Prefix(t))
	t.Cleanup(func() { prefixes.Delete(t.Name()) })

	return p.(string)
}

func newRedis(t *testing.T) *redis.Client {
	t.Helper()

	opts, err := redis.ParseURL(redistest.URL(t))
	if err != nil {
		t.Fatal(err)
	}

	c := redis.NewClient(opts)

	t.Cleanup(func() { _ = c.Close() })

	return c
}

// start starts h, waits until it trusts its memory, and closes it when the
// test ends.
func start(t *testing.T, h *cache.Hub) *cache.Hub {
	t.Helper()

	if err := h.Start(t.Context()); err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() {
		if err := h.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})

	deadline := time.Now().Add(5 * time.Second)
	for !h.Healthy() {
		if time.Now().After(deadline) {
			t.Fatal("hub not healthy 5s after Start: its heartbeat does not come back")
		}

		time.Sleep(10 * time.Millisecond)
	}

	return h
}

type profile struct {
	Name string
}

func newCache(t *testing.T, h *cache.Hub, local bool) *cache.Cache[profile] {
	t.Helper()

	c, err := cache.New(h, cache.Options[profile]{Name: "test.profiles", TTL: time.Minute, Local: local})
	if err != nil {
		t.Fatal(err)
	}

	return c
}

// TestGetOrLoadLoadsOnceForConcurrentMisses: a stampede of misses on one
// key runs one load, and every caller gets its value.
func TestGetOrLoadLoadsOnceForConcurrentMisses(t *testing.T) {
	t.Parallel()

	for name, cl := range transports(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			testStampede(t, newCache(t, start(t, cl.newHub(t)), false))
		})
	}
}

func testStampede(t *testing.T, c *cache.Cache[profile]) {
	t.Helper()

	const callers = 50

	var loads, entered atomic.Int32

	release := make(chan struct{})
	load := func(ctx context.Context) (profile, error) {
		loads.Add(1)

		select {
		case <-release:
			return profile{Name: "Ada"}, nil
		case <-ctx.Done():
			return profile{}, ctx.Err()
		}
	}

	var wg sync.WaitGroup

	errs := make([]error, callers)
	got := make([]profile, callers)

	for i := range callers {
		wg.Go(func() {
			entered.Add(1)

			got[i], errs[i] = c.GetOrLoad(t.Context(), "user_1", load)
		})
	}

	for entered.Load() < callers {
		time.Sleep(time.Millisecond)
	}

	time.Sleep(200 * time.Millisecond) // every caller waits for the load
	close(release)
	wg.Wait()

	if n := loads.Load(); n != 1 {
		t.Errorf("%d loads for %d concurrent misses, want 1", n, callers)
	}

	wantAll(t, got, errs, "Ada")

	if _, err := c.GetOrLoad(t.Context(), "user_1", load); err != nil || loads.Load() != 1 {
		t.Errorf("GetOrLoad() after the load = %v with %d loads, want a hit", err, loads.Load())
	}
}

// TestInvalidateReachesEveryReplica: after Invalidate returns on one
// replica, no replica answers the key from its cache, in memory or shared.
func TestInvalidateReachesEveryReplica(t *testing.T) {
	t.Parallel()

	for name, cl := range transports(t) {
		for _, local := range []bool{true, false} {
			t.Run(name+"/"+map[bool]string{true: "memory", false: "shared"}[local], func(t *testing.T) {
				t.Parallel()

				a := newCache(t, start(t, cl.newHub(t)), local)
				b := newCache(t, start(t, cl.newHub(t)), local)

				for i := range 20 {
					invalidateRound(t, a, b, i)
				}
			})
		}
	}
}

// invalidateRound caches a value on b, invalidates it on a, and checks b
// no longer answers it.
func invalidateRound(t *testing.T, a, b *cache.Cache[profile], round int) {
	t.Helper()

	current := profile{Name: fmt.Sprint("v", round)}

	if _, err := b.GetOrLoad(t.Context(), "user_1", func(context.Context) (profile, error) { return current, nil }); err != nil {
		t.Fatal(err)
	}

	if err := a.Invalidate(t.Context(), "user_1"); err != nil {
		t.Fatalf("Invalidate() = %v", err)
	}

	if v, ok := b.Get(t.Context(), "user_1"); ok {
		t.Fatalf("round %d: B still answers %+v after A's Invalidate returned", round, v)
	}
}

// TestInvalidateIsQuickWhenEveryReplicaAnswers: acknowledgements, not
// the bounded wait, end an invalidation.
func TestInvalidateIsQuickWhenEveryReplicaAnswers(t *testing.T) {
	t.Parallel()

	for name, cl := range transports(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			a := newCache(t, start(t, cl.newHub(t)), true)
			newCache(t, start(t, cl.newHub(t)), true)
			newCache(t, start(t, cl.newHub(t)), true)

			began := time.Now()

			if err := a.Invalidate(t.Context(), "user_1", "user_2"); err != nil {
				t.Fatal(err)
			}

			if d := time.Since(began); d >= cache.AckWait {
				t.Errorf("Invalidate() took %s with three live replicas, want their acknowledgements before AckWait (%s)", d, cache.AckWait)
			}
		})
	}
}

// TestLoadRacingAnInvalidationIsNotStored: a value loaded before a change
// committed, and returned after its invalidation, is not cached.
func TestLoadRacingAnInvalidationIsNotStored(t *testing.T) {
	t.Parallel()

	for name, cl := range transports(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			a := newCache(t, start(t, cl.newHub(t)), true)
			b := newCache(t, start(t, cl.newHub(t)), true)

			loaded, release := make(chan struct{}), make(chan struct{})
			done := make(chan error, 1)

			go func() {
				_, err := b.GetOrLoad(t.Context(), "user_1", func(context.Context) (profile, error) {
					close(loaded)
					<-release

					return profile{Name: "stale"}, nil
				})
				done <- err
			}()

			<-loaded

			if err := a.Invalidate(t.Context(), "user_1"); err != nil {
				t.Fatal(err)
			}

			close(release)

			if err := <-done; err != nil {
				t.Fatal(err)
			}

			if v, ok := b.Get(t.Context(), "user_1"); ok {
				t.Errorf("B cached %+v, a value loaded before the invalidation", v)
			}
		})
	}
}

// TestUnhealthyHubIsNotTrusted: memory is not used before the hub has
// heard its own heartbeat, nor after it closed.
func TestUnhealthyHubIsNotTrusted(t *testing.T) {
	t.Parallel()

	h := must(cache.NewPostgresHub(pgtest.NewDatabase(t).Pool, "cache_test", slog.New(slog.DiscardHandler), noop.Meter{}))(t)
	c := newCache(t, h, true)

	var loads int

	load := func(context.Context) (profile, error) {
		loads++

		return profile{Name: "Ada"}, nil
	}

	for range 2 {
		if _, err := c.GetOrLoad(t.Context(), "user_1", load); err != nil {
			t.Fatal(err)
		}
	}

	if loads != 2 {
		t.Errorf("%d loads for 2 reads before Start, want 2 (nothing stored)", loads)
	}

	if err := h.Start(t.Context()); err != nil {
		t.Fatal(err)
	}

	for !h.Healthy() {
		time.Sleep(10 * time.Millisecond)
	}

	if _, err := c.GetOrLoad(t.Context(), "user_1", load); err != nil {
		t.Fatal(err)
	}

	if err := h.Close(t.Context()); err != nil {
		t.Fatal(err)
	}

	time.Sleep(cache.Lease + 100*time.Millisecond)

	if v, ok := c.Get(t.Context(), "user_1"); ok {
		t.Errorf("Get() after the hub closed and its lease passed = %+v, want a miss", v)
	}
}

// TestLoadErrorsAreNotStored: a failed load is retried by the next call.
func TestLoadErrorsAreNotStored(t *testing.T) {
	t.Parallel()

	c := newCache(t, start(t, transports(t)["postgres"].newHub(t)), true)
	boom := errors.New("boom")

	if _, err := c.GetOrLoad(t.Context(), "k", func(context.Context) (profile, error) { return profile{}, boom }); !errors.Is(err, boom) {
		t.Fatalf("GetOrLoad() = %v, want %v", err, boom)
	}

	v, err := c.GetOrLoad(t.Context(), "k", func(context.Context) (profile, error) { return profile{Name: "ok"}, nil })
	if err != nil || v.Name != "ok" {
		t.Errorf("GetOrLoad() after a failure = %+v, %v; want a new load", v, err)
	}
}

// TestGetOrLoadMany: a batch loads only the keys it misses, in one call,
// leaves out what the load did not find, and after an invalidation on
// another replica loads the key again.
func TestGetOrLoadMany(t *testing.T) {
	t.Parallel()

	for name, cl := range transports(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			testGetOrLoadMany(t, newCache(t, start(t, cl.newHub(t)), false), newCache(t, start(t, cl.newHub(t)), false))
		})
	}
}

// batchLoader loads the profiles of names and records each call's keys.
type batchLoader struct {
	names map[string]string
	asked [][]string
}

func (l *batchLoader) load(_ context.Context, missing []string) (map[string]profile, error) {
	l.asked = append(l.asked, missing)
	out := map[string]profile{}

	for _, k := range missing {
		if n, ok := l.names[k]; ok {
			out[k] = profile{Name: n}
		}
	}

	return out, nil
}

func testGetOrLoadMany(t *testing.T, a, b *cache.Cache[profile]) {
	t.Helper()

	l := &batchLoader{names: map[string]string{"u1": "Ada", "u2": "Bob"}}

	got, err := a.GetOrLoadMany(t.Context(), []string{"u1", "u2", "nobody"}, l.load)
	if want := map[string]profile{"u1": {Name: "Ada"}, "u2": {Name: "Bob"}}; err != nil || !maps.Equal(got, want) {
		t.Fatalf("first batch = %v, %v; want %v", got, err, want)
	}

	if _, err := a.GetOrLoadMany(t.Context(), []string{"u1", "u2"}, l.load); err != nil || len(l.asked) != 1 {
		t.Fatalf("second batch loaded again (%v), %v; want it from the cache", l.asked, err)
	}

	l.names["u1"] = "Ada L."

	if err := b.Invalidate(t.Context(), "u1"); err != nil {
		t.Fatal(err)
	}

	got, err = a.GetOrLoadMany(t.Context(), []string{"u1", "u2"}, l.load)
	if err != nil || got["u1"].Name != "Ada L." || !slices.Equal(l.asked[len(l.asked)-1], []string{"u1"}) {
		t.Fatalf("after the invalidation: %v, %v, loads %v; want Ada L. loaded alone", got, err, l.asked)
	}
}

// wantAll checks that every caller got a profile of name and no error.
func wantAll(t *testing.T, got []profile, errs []error, name string) {
	t.Helper()

	for i, v := range got {
		if v.Name != name || errs[i] != nil {
			t.Fatalf("caller %d got %+v, %v; want %s", i, v, errs[i], name)
		}
	}
}
