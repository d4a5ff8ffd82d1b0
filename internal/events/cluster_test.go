package events_test

import (
	"regexp"
	"sync"
	"testing"

	"github.com/modulith/modulith/internal/bustest"
	"github.com/modulith/modulith/internal/events"
)

var clusterIDPattern = regexp.MustCompile(`^[a-z0-9]{12}$`)

// Replicas starting together on one database agree on one cluster ID, the
// first drawn; it stays the same afterwards.
func TestClusterIDIsSharedByReplicas(t *testing.T) {
	t.Parallel()

	db := bustest.NewDB(t)

	const replicas = 8

	ids := make([]string, replicas)

	var wg sync.WaitGroup

	for i := range replicas {
		pool := db.NewPool(1) // a process of its own

		wg.Go(func() {
			id, err := events.ClusterID(t.Context(), pool)
			if err != nil {
				t.Errorf("ClusterID() = %v", err)
			}

			ids[i] = id
		})
	}

	wg.Wait()

	if !clusterIDPattern.MatchString(ids[0]) {
		t.Fatalf("ClusterID() = %q, want 12 lowercase alphanumerics", ids[0])
	}

	for i, id := range ids {
		if id != ids[0] {
			t.Errorf("replica %d: ClusterID() = %q, replica 0 got %q", i, id, ids[0])
		}
	}

	if again, err := events.ClusterID(t.Context(), db.Pool); err != nil || again != ids[0] {
		t.Errorf("ClusterID() later = %q, %v; want %q", again, err, ids[0])
	}

	if n := db.Count("SELECT count(*) FROM events.cluster"); n != 1 {
		t.Errorf("events.cluster holds %d rows, want 1", n)
	}
}

// Databases cloned from one template (as test databases and staging
// copies are) are clusters of their own (natsbus tests that their streams
// differ too).
func TestClusterIDDiffersPerDatabase(t *testing.T) {
	t.Parallel()

	a, b := bustest.NewDB(t), bustest.NewDB(t)

	idA, errA := events.ClusterID(t.Context(), a.Pool)
	idB, errB := events.ClusterID(t.Context(), b.Pool)

	if errA != nil || errB != nil {
		t.Fatalf("ClusterID() = %v, %v", errA, errB)
	}

	if idA == idB {
		t.Errorf("two databases share cluster ID %q", idA)
	}
}
