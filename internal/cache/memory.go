package cache

import (
	"context"
	"fmt"
	"time"

	"github.com/maypok86/otter/v2"
)

// memory is a bounded in-memory backend (otter: S3-FIFO eviction, entry
// expiry on a timer wheel).
type memory[V any] struct {
	c *otter.Cache[string, entry[V]]
}

// entry is a value with its own TTL.
type entry[V any] struct {
	v   V
	ttl time.Duration
}

func newMemory[V any](maxEntries int) (*memory[V], error) {
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}

	c, err := otter.New(&otter.Options[string, entry[V]]{
		MaximumSize: maxEntries,
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[string, entry[V]]) time.Duration {
			return e.Value.ttl
		}),
	})
	if err != nil {
		return nil, fmt.Errorf("in-memory cache: %w", err)
	}

	return &memory[V]{c: c}, nil
}

func (m *memory[V]) get(_ context.Context, key string) (V, bool, error) {
	e, ok := m.c.GetIfPresent(key)

	return e.v, ok, nil
}

func (m *memory[V]) set(_ context.Context, key string, v V, ttl time.Duration) error {
	m.c.Set(key, entry[V]{v: v, ttl: ttl})

	return nil
}

func (m *memory[V]) forget(keys []string) {
	for _, k := range keys {
		m.c.Invalidate(k)
	}
}

func (m *memory[V]) drop(context.Context, []string) error { return nil }

func (m *memory[V]) clear() { m.c.InvalidateAll() }
