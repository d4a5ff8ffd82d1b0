// Package database holds the connection settings every pool of the
// platform uses, the server's and the tests' alike.
package database

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"
)

// cancelGrace is how long a query may take to stop after PostgreSQL was
// asked to cancel it before its connection is closed.
const cancelGrace = 2 * time.Second

// CancelQueriesOnTimeout makes a query whose context ends ask PostgreSQL to
// cancel it, instead of closing the connection at once (pgx's default): the
// transaction survives (a request timeout or an event handler's timeout
// aborts only the statement and can be rolled back to a savepoint), and the
// connection returns to the pool.
func CancelQueriesOnTimeout(cc *pgx.ConnConfig) {
	cc.BuildContextWatcherHandler = func(conn *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: conn, DeadlineDelay: cancelGrace}
	}
}

// listenAs opens a connection of its own, outside pool but configured like
// it, whose application_name is appName (when not empty, so that
// pg_stat_activity tells the listeners apart), and LISTENs on channels. A
// listener waits on its connection for as long as the process runs, so it
// should not hold one of the pool's; and unlike pooled connections it
// unblocks at once when its context ends (the default context handling
// closes the connection).
func listenAs(ctx context.Context, pool *pgxpool.Pool, appName string, channels ...string) (*pgx.Conn, error) {
	cc := pool.Config().ConnConfig.Copy()
	if appName != "" {
		cc.RuntimeParams["application_name"] = appName
	}

	cc.BuildContextWatcherHandler = func(conn *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: conn.Conn()} // pgx's default
	}

	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return nil, fmt.Errorf("connect listener: %w", err)
	}

	for _, ch := range channels {
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{ch}.Sanitize()); err != nil {
			_ = conn.Close(context.WithoutCancel(ctx))

			return nil, fmt.Errorf("listen %s: %w", ch, err)
		}
	}

	return conn, nil
}
