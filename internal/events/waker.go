package events

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// wakeCheckEvery is how often the waker asks PostgreSQL whether the
// transactions that stored events have ended, while any is pending.
const wakeCheckEvery = 2 * time.Millisecond

// waker sends one NOTIFY on behalf of many publishing transactions, after
// they commit, instead of a NOTIFY inside each: PostgreSQL serializes the
// commits of transactions that NOTIFY (a database-wide lock held through
// commit), which would cap publishing at one commit per WAL flush.
// PublishTx hands it the transaction's ID; it polls pg_xact_status while
// any is in progress and notifies once for all that committed. If the
// process dies first, dispatchers find the events at their next poll.
type waker struct {
	pool *pgxpool.Pool
	in   chan string // transaction IDs (xid8 as text)
	bus  *Bus
}

func newWaker(pool *pgxpool.Pool, bus *Bus) *waker {
	return &waker{pool: pool, in: make(chan string, 4096), bus: bus}
}

// add queues a publishing transaction; never blocks (a full queue only
// costs latency: polling finds the events).
func (w *waker) add(xid string) {
	select {
	case w.in <- xid:
	default:
	}
}

func (w *waker) run(ctx context.Context) {
	pending := make(map[string]struct{})

	tick := time.NewTicker(wakeCheckEvery)
	defer tick.Stop()

	for {
		if len(pending) == 0 {
			select {
			case <-ctx.Done():
				return
			case x := <-w.in:
				pending[x] = struct{}{}
			}

			continue
		}

		select {
		case <-ctx.Done():
			return
		case x := <-w.in:
			pending[x] = struct{}{}
		case <-tick.C:
			w.check(ctx, pending)
		}
	}
}

// check drops the transactions that ended from pending and notifies once if
// any committed.
func (w *waker) check(ctx context.Context, pending map[string]struct{}) {
	xids := make([]string, 0, len(pending))
	for x := range pending {
		xids = append(xids, x)
	}

	rows, err := w.pool.Query(ctx, `SELECT x, coalesce(pg_xact_status(x::xid8), 'unknown') FROM unnest($1::text[]) AS x`, xids)
	if err != nil {
		w.bus.logger.WarnContext(ctx, "events: check publishing transactions", "error", err)

		return
	}

	var (
		xid, status string
		committed   bool
	)

	_, err = pgx.ForEachRow(rows, []any{&xid, &status}, func() error {
		switch status {
		case "in progress":
		case "committed":
			committed = true

			delete(pending, xid)
		default: // aborted, or too old to tell
			delete(pending, xid)
		}

		return nil
	})
	if err != nil {
		w.bus.logger.WarnContext(ctx, "events: check publishing transactions", "error", err)

		return
	}

	if !committed {
		return
	}

	if _, err := w.pool.Exec(ctx, "SELECT pg_notify($1, '')", notifyChannel); err != nil {
		w.bus.logger.WarnContext(ctx, "events: notify", "error", err)
	}
}
