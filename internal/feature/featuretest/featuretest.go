// Package featuretest reads what the feature flags' store wrote, for tests
// of it and of the code that changes flags.
package featuretest

import (
	"encoding/json"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/modulith/modulith/internal/feature"
)

// Changes returns the feature.flag_changed events of the flag key in the
// outbox of pool's database, oldest first; any error fails the test.
func Changes(t testing.TB, pool *pgxpool.Pool, key string) []feature.FlagChanged {
	t.Helper()

	rows, err := pool.Query(t.Context(), `SELECT payload FROM events.outbox
		WHERE name = $1 AND ordering_key = $2 ORDER BY seq`, feature.FlagChanged{}.EventName(), key)
	if err != nil {
		t.Fatalf("featuretest: %v", err)
	}
	defer rows.Close()

	var out []feature.FlagChanged

	for rows.Next() {
		var (
			raw []byte
			e   feature.FlagChanged
		)

		if err := rows.Scan(&raw); err != nil {
			t.Fatalf("featuretest: %v", err)
		}

		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatalf("featuretest: decode %s: %v", raw, err)
		}

		out = append(out, e)
	}

	if err := rows.Err(); err != nil {
		t.Fatalf("featuretest: %v", err)
	}

	return out
}
