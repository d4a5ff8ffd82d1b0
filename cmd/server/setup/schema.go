package setup

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/modulith/modulith/internal/migration"
)

// SchemaReady returns the readiness check of the modules: the schema of
// each has every migration this binary carries. With MIGRATE_ON_START=false
// migrations are an operator's (a Kubernetes Job): until they run, the
// replica is not ready, and says which module waits. A schema found
// current stays current (a newer binary only adds to it), so the check
// stops querying once every schema was: an outage of the database later is
// the database check's to report.
func SchemaReady(runner *migration.Runner) func(ctx context.Context) map[string]error {
	var current atomic.Bool

	return func(ctx context.Context) map[string]error {
		if current.Load() {
			return nil
		}

		statuses, err := runner.Status(ctx)
		if err != nil {
			return map[string]error{"schema": err}
		}

		pending := make(map[string]error)

		for _, st := range statuses {
			if len(st.Pending) > 0 {
				pending[st.Module] = fmt.Errorf("%d migration(s) pending, from %06d", len(st.Pending), st.Pending[0].Version)
			}
		}

		current.Store(len(pending) == 0)

		return pending
	}
}
