package cache

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/redis/go-redis/v9"
)

// redisBackend keeps entries in Redis, shared by every replica, encoded
// in CBOR (compact, and typed like JSON: struct fields by name).
type redisBackend[V any] struct {
	client *redis.Client
	prefix string
}

func (r *redisBackend[V]) get(ctx context.Context, key string) (V, bool, error) {
	var v V

	b, err := r.client.Get(ctx, r.prefix+key).Bytes()

	switch {
	case errors.Is(err, redis.Nil):
		return v, false, nil
	case err != nil:
		return v, false, fmt.Errorf("redis get: %w", err)
	}

	if err := cbor.Unmarshal(b, &v); err != nil {
		return v, false, fmt.Errorf("decode %s: %w", key, err)
	}

	return v, true, nil
}

func (r *redisBackend[V]) set(ctx context.Context, key string, v V, ttl time.Duration) error {
	b, err := cbor.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}

	if err := r.client.Set(ctx, r.prefix+key, b, ttl).Err(); err != nil {
		return fmt.Errorf("redis set: %w", err)
	}

	return nil
}

// forget leaves the shared entries to the replica that invalidates.
func (r *redisBackend[V]) forget([]string) {}

func (r *redisBackend[V]) drop(ctx context.Context, keys []string) error {
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = r.prefix + k
	}

	if err := r.client.Del(ctx, full...).Err(); err != nil {
		return fmt.Errorf("redis del: %w", err)
	}

	return nil
}

// clear leaves the shared entries: they were invalidated by whoever changed
// them, whether this replica heard of it or not.
func (r *redisBackend[V]) clear() {}
