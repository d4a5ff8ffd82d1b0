package events

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Querier runs a query: a pool, a connection or a transaction.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// ClusterID returns the identity of the cluster on db: the replicas that
// share this database. The first caller draws it (random, lowercase
// alphanumerics) and stores it; every later caller on the same database
// reads the same one. Names on shared infrastructure are derived from it
// (the NATS transport's stream, natsbus.Stream; the WebSocket fan-out's
// default subject), so deployments that share a NATS server stay apart
// without configuration.
func ClusterID(ctx context.Context, db Querier) (string, error) {
	// Two first callers at once: the second one's insert waits for the
	// first and does nothing, and its statement's snapshot, older than the
	// first's commit, shows no row; the next statement sees it.
	for range 2 {
		var id string

		err := db.QueryRow(ctx, `
			WITH drawn AS (
				INSERT INTO events.cluster (database, id) VALUES (current_database(), $1)
				ON CONFLICT (database) DO NOTHING
				RETURNING id
			)
			SELECT id FROM drawn
			UNION ALL
			SELECT id FROM events.cluster WHERE database = current_database()
			LIMIT 1`, strings.ToLower(rand.Text()[:12])).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}

		if err != nil {
			return "", fmt.Errorf("events: cluster ID: %w", err)
		}

		return id, nil
	}

	return "", errors.New("events: cluster ID: drawn by another process but not visible")
}
