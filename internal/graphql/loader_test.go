package graphql

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gqlgen "github.com/99designs/gqlgen/graphql"

	"github.com/modulith/modulith/internal/errors"
)

// inOperation runs fn with the loaders of one operation. They wait longer
// than the server's for more keys, so that the goroutines of a test all
// reach a batch on a busy machine too.
func inOperation(ctx context.Context, fn func(ctx context.Context)) {
	withLoadersWaiting(200*time.Millisecond)(ctx, func(ctx context.Context) gqlgen.ResponseHandler {
		fn(ctx)

		return nil
	})
}

// names fetches names, counting its calls; ghost has none.
type names struct{ calls atomic.Int32 }

func (n *names) fetch(_ context.Context, keys []string) (map[string]string, error) {
	n.calls.Add(1)

	out := make(map[string]string, len(keys))
	for _, k := range keys {
		if k != "ghost" {
			out[k] = "name of " + k
		}
	}

	return out, nil
}

func TestLoadBatchesTheKeysOfAnOperation(t *testing.T) {
	t.Parallel()

	var n names

	inOperation(t.Context(), func(ctx context.Context) {
		var wg sync.WaitGroup

		for _, k := range []string{"a", "b", "a", "c"} {
			wg.Go(func() {
				if v, err := Load(ctx, "names", n.fetch, k); err != nil || v != "name of "+k {
					t.Errorf("Load(%s) = %q, %v", k, v, err)
				}
			})
		}

		wg.Wait()

		if got := n.calls.Load(); got != 1 {
			t.Errorf("fetch called %d times for 4 concurrent loads, want 1", got)
		}
	})
}

func TestLoadPerOperation(t *testing.T) {
	t.Parallel()

	var n names

	fetch := n.fetch

	inOperation(t.Context(), func(ctx context.Context) {
		if _, err := Load(ctx, "names", fetch, "ghost"); !errors.IsType(err, errors.TypeNotFound) {
			t.Errorf("Load(ghost) = %v, want NotFound", err)
		}

		if _, err := Load(ctx, "names", func(context.Context, []int) (map[int]int, error) { return nil, nil }, 1); err == nil {
			t.Error("a loader name reused with other types was accepted")
		}
	})

	// Another operation fetches again: nothing is cached across requests.
	inOperation(t.Context(), func(ctx context.Context) {
		if _, err := Load(ctx, "names", fetch, "a"); err != nil {
			t.Fatal(err)
		}
	})

	if got := n.calls.Load(); got != 2 {
		t.Errorf("fetch calls = %d, want 2 (ghost, then a in the second operation)", got)
	}

	if _, err := Load(t.Context(), "names", fetch, "a"); err == nil {
		t.Error("Load outside an operation succeeded")
	}
}
