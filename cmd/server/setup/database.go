// Package setup builds the pieces of a server process, each by one
// function that returns the thing: the database pool, the notifier, the
// WebSocket fan-out and the HTTP handler (the gRPC server comes from
// internal/grpcserver, the modules from internal/registry).
package setup

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/modulith/modulith/internal/config"
	"github.com/modulith/modulith/internal/database"
	"github.com/modulith/modulith/internal/telemetry"
)

// pingTimeout bounds the start-up check that the database answers.
const pingTimeout = 5 * time.Second

// Database opens the shared connection pool and checks that it answers.
func Database(ctx context.Context, cfg *config.Config) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(cfg.DBDSN)
	if err != nil {
		return nil, fmt.Errorf("DB_DSN: %w", err)
	}

	pc.MaxConns = cfg.DBMaxConns
	pc.MinConns = cfg.DBMinConns
	pc.MaxConnLifetime = cfg.DBConnMaxLifetime
	database.CancelQueriesOnTimeout(pc.ConnConfig)
	// The pool exists before telemetry does: its spans go to the global
	// provider of the moment, which telemetry installs.
	database.TraceQueries(pc.ConnConfig, telemetry.GlobalTracerProvider())

	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("open database pool: %w", err)
	}

	pingCtx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()

	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()

		return nil, fmt.Errorf("database at %s:%d does not answer (run `make db-up`, or set DB_DSN): %w",
			pc.ConnConfig.Host, pc.ConnConfig.Port, err)
	}

	return pool, nil
}
