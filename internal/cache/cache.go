package cache

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// DefaultMaxEntries bounds a cache in memory whose Options set no
// MaxEntries.
const DefaultMaxEntries = 10_000

// Options configure a cache.
type Options[V any] struct {
	// Name identifies the cache in its process: its invalidations, its
	// metrics (cache label) and its keys in Redis. Prefix it with the
	// module's name ("auth.profiles").
	Name string
	// TTL is how long an entry lasts at most; it must be positive.
	TTL time.Duration
	// MaxEntries bounds a cache in memory (DefaultMaxEntries when 0): the
	// least useful entries are evicted first.
	MaxEntries int
	// Until, when set, is the instant a value must not be used after (a
	// session's end): its entry expires then, if before its TTL.
	Until func(V) time.Time
	// Local keeps the cache in each replica's memory even when CACHE_URL
	// shares caches in Redis: for what every request reads, which must not
	// cost a round trip.
	Local bool
}

// backend stores a cache's entries.
type backend[V any] interface {
	get(ctx context.Context, key string) (V, bool, error)
	set(ctx context.Context, key string, v V, ttl time.Duration) error
	// forget deletes keys on this replica after an invalidation; shared
	// entries are deleted once, by the replica that invalidates (drop).
	forget(keys []string)
	drop(ctx context.Context, keys []string) error
	clear()
}

// Cache is a typed cache of values V under string keys, in memory or in
// Redis (see New), invalidated on every replica by its Hub.
type Cache[V any] struct {
	name  string
	hub   *Hub
	b     backend[V]
	local bool
	ttl   time.Duration
	until func(V) time.Time
	now   func() time.Time
	m     metrics

	group singleflight.Group
	// epoch counts the invalidations and clears: a load that saw another
	// epoch start is not stored.
	epoch atomic.Uint64
}

// New returns a cache registered with h: in Redis when h shares caches
// (NewRedisHub) and o.Local is not set, in this replica's memory
// otherwise.
func New[V any](h *Hub, o Options[V]) (*Cache[V], error) {
	if o.Name == "" || o.TTL <= 0 {
		return nil, errors.New("cache: a name and a positive TTL are required")
	}

	c := &Cache[V]{name: o.Name, hub: h, ttl: o.TTL, until: o.Until, now: time.Now, m: newMetrics(h.in, o.Name)}

	if h.shared != nil && !o.Local {
		c.b = &redisBackend[V]{client: h.shared, prefix: h.prefix + o.Name + ":"}
	} else {
		b, err := newMemory[V](o.MaxEntries)
		if err != nil {
			return nil, fmt.Errorf("cache %s: %w", o.Name, err)
		}

		c.b, c.local = b, true
	}

	if err := h.register(o.Name, c); err != nil {
		return nil, err
	}

	return c, nil
}

// Get returns the value under key, if the cache holds it and may be
// trusted (a cache in memory is not while the hub's subscription is
// unhealthy). An unreachable Redis is a miss.
func (c *Cache[V]) Get(ctx context.Context, key string) (V, bool) {
	var zero V

	if c.local && !c.hub.Healthy() {
		c.m.miss(ctx)

		return zero, false
	}

	v, ok, err := c.b.get(ctx, key)
	if err != nil {
		c.hub.logger.WarnContext(ctx, "cache: read failed; loading instead", "cache", c.name, "error", err)
	}

	if !ok || err != nil || c.expired(v) {
		c.m.miss(ctx)

		return zero, false
	}

	c.m.hit(ctx)

	return v, true
}

// GetOrLoad returns the value under key, or loads it, once for all the
// callers that miss it at the same time, and stores it. An error is not
// stored. The load runs with the first caller's values and deadline, not
// its cancellation: the others wait for it too.
func (c *Cache[V]) GetOrLoad(ctx context.Context, key string, load func(context.Context) (V, error)) (V, error) {
	if v, ok := c.Get(ctx, key); ok {
		return v, nil
	}

	// The loader's error travels in the result: it is the callers' own.
	res, _, _ := c.group.Do(key, func() (any, error) {
		v, err := c.load(ctx, key, load)

		return loaded[V]{v: v, err: err}, nil
	})
	r, _ := res.(loaded[V])

	return r.v, r.err
}

// GetOrLoadMany returns the values under keys that it holds or load
// finds, loading every missing key in one call of load (one query for a
// batch), and stores what load found. Keys load does not return are left
// out and not stored. Unlike GetOrLoad, concurrent batches are not merged.
func (c *Cache[V]) GetOrLoadMany(ctx context.Context, keys []string,
	load func(ctx context.Context, missing []string) (map[string]V, error),
) (map[string]V, error) {
	out := make(map[string]V, len(keys))

	var missing []string

	for _, key := range keys {
		if v, ok := c.Get(ctx, key); ok {
			out[key] = v
		} else {
			missing = append(missing, key)
		}
	}

	if len(missing) == 0 {
		return out, nil
	}

	epoch, trusted := c.epoch.Load(), c.hub.Healthy()

	found, err := load(ctx, missing)
	c.m.load(ctx)

	if err != nil {
		return nil, err
	}

	// Stored only when no invalidation can have been missed meanwhile.
	store := trusted && c.hub.Healthy() && c.epoch.Load() == epoch

	for key, v := range found {
		out[key] = v

		if store {
			c.store(ctx, key, v)
		}
	}

	return out, nil
}

// loaded is a load's outcome, shared by the callers that waited for it.
type loaded[V any] struct {
	v   V
	err error
}

func (c *Cache[V]) load(ctx context.Context, key string, load func(context.Context) (V, error)) (V, error) {
	lctx := context.WithoutCancel(ctx)

	if d, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc

		lctx, cancel = context.WithDeadline(lctx, d)
		defer cancel()
	}

	epoch, trusted := c.epoch.Load(), c.hub.Healthy()

	v, err := load(lctx)
	c.m.load(ctx)

	if err != nil {
		return v, err
	}

	// Stored only when no invalidation can have been missed meanwhile.
	if trusted && c.hub.Healthy() && c.epoch.Load() == epoch {
		c.store(lctx, key, v)
	}

	return v, nil
}

func (c *Cache[V]) store(ctx context.Context, key string, v V) {
	ttl := c.ttl
	if c.until != nil {
		ttl = min(ttl, c.until(v).Sub(c.now()))
	}

	if ttl <= 0 {
		return
	}

	if err := c.b.set(ctx, key, v, ttl); err != nil {
		c.hub.logger.WarnContext(ctx, "cache: write failed", "cache", c.name, "error", err)
	}
}

// expired reports a value past its Until (its entry is about to expire).
func (c *Cache[V]) expired(v V) bool {
	return c.until != nil && !c.now().Before(c.until(v))
}

// Invalidate makes every replica forget keys: call it after the change
// that made them stale committed. It returns once every replica
// acknowledged, or had to stop trusting its memory (at most AckWait; see
// the package doc), and then deletes shared entries. It fails when the
// invalidation could not be broadcast.
func (c *Cache[V]) Invalidate(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}

	c.m.invalidated(ctx, len(keys))

	err := c.hub.invalidate(ctx, c.name, keys)

	// Deleted after the other replicas counted the invalidation, so that
	// none stores a value it loaded before the change.
	if !c.local {
		err = errors.Join(err, c.b.drop(context.WithoutCancel(ctx), keys))
	}

	return err
}

// forget is the hub's: an invalidation reached this replica.
func (c *Cache[V]) forget(keys []string) {
	c.epoch.Add(1)
	c.b.forget(keys)
}

// clear is the hub's: the subscription (re)connected.
func (c *Cache[V]) clear() {
	c.epoch.Add(1)
	c.b.clear()
}
