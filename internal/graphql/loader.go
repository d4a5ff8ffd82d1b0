package graphql

import (
	"context"
	stderrors "errors"
	"fmt"
	"sync"
	"time"

	gqlgen "github.com/99designs/gqlgen/graphql"
	"github.com/vikstrous/dataloadgen"

	"github.com/modulith/modulith/internal/errors"
)

// The batching of Load: how long a loader waits for more keys, and the most
// keys in one fetch (a batch RPC's usual limit).
const (
	loaderWait  = 2 * time.Millisecond
	loaderBatch = 100
)

// Load returns the value of key through the operation's loader named name,
// made with fetch on first use. The loads of one operation within a couple
// of milliseconds — the same field of every item of a list, which gqlgen
// resolves concurrently — reach fetch as one batch, and each key is
// fetched once per operation: a list resolving related data makes one
// call, not one per item (N+1). fetch returns the values of the keys it
// found; a key it leaves out is NotFound. Loaders live as long as their
// operation, so nothing is cached across requests or users.
func Load[K comparable, V any](ctx context.Context, name string, fetch func(ctx context.Context, keys []K) (map[K]V, error), key K) (V, error) {
	var zero V

	l, ok := ctx.Value(loadersKey{}).(*loaders)
	if !ok {
		return zero, fmt.Errorf("graphql: Load(%s) outside an operation", name)
	}

	loader, err := loaderOf(l, name, fetch)
	if err != nil {
		return zero, err
	}

	v, err := loader.Load(ctx, key)

	switch {
	case err == nil:
		return v, nil
	case stderrors.Is(err, dataloadgen.ErrNotFound):
		return zero, errors.NotFound(fmt.Sprintf("%s %v not found", name, key))
	default:
		// fetch's error, a module's status most often: as the module
		// returned it, for the presenter.
		return zero, errors.ToDomain(errors.FromGRPC(err))
	}
}

type loadersKey struct{}

// loaders are the dataloaders of one operation, by name; each waits wait
// for more keys before it fetches.
type loaders struct {
	mu   sync.Mutex
	m    map[string]any
	wait time.Duration
}

func loaderOf[K comparable, V any](l *loaders, name string, fetch func(context.Context, []K) (map[K]V, error)) (*dataloadgen.Loader[K, V], error) {
	l.mu.Lock()
	defer l.mu.Unlock()

	if existing, ok := l.m[name]; ok {
		loader, ok := existing.(*dataloadgen.Loader[K, V])
		if !ok {
			return nil, fmt.Errorf("graphql: loader %s is used with two different key or value types", name)
		}

		return loader, nil
	}

	loader := dataloadgen.NewMappedLoader(fetch, dataloadgen.WithWait(l.wait), dataloadgen.WithBatchCapacity(loaderBatch))
	l.m[name] = loader

	return loader, nil
}

// withLoaders gives each operation its own loaders.
func withLoaders(ctx context.Context, next gqlgen.OperationHandler) gqlgen.ResponseHandler {
	return withLoadersWaiting(loaderWait)(ctx, next)
}

// withLoadersWaiting gives each operation its own loaders, which wait wait
// for more keys.
func withLoadersWaiting(wait time.Duration) gqlgen.OperationMiddleware {
	return func(ctx context.Context, next gqlgen.OperationHandler) gqlgen.ResponseHandler {
		return next(context.WithValue(ctx, loadersKey{}, &loaders{m: make(map[string]any), wait: wait}))
	}
}
