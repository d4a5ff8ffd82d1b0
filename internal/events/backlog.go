package events

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// The backlog gauges, read from the database when /metrics is scraped, for
// the subscribers of the process (a consuming one): the same figures on
// every replica that runs them, so dashboards aggregate them with max.
var (
	// events_deliveries{subscriber,state}: deliveries pending, failed
	// (waiting for a retry) or dead (every attempt failed).
	backlogGauge, _ = meter.Int64ObservableGauge("events.deliveries",
		metric.WithDescription("Deliveries of the subscriber waiting (pending), waiting for a retry (failed) or dead, cluster-wide."))
	// events_oldest_pending_age_seconds{subscriber}: 0 when none waits.
	oldestGauge, _ = meter.Float64ObservableGauge("events.oldest.pending.age", metric.WithUnit("s"),
		metric.WithDescription("Age of the oldest event not yet delivered to the subscriber (pending or failed); 0 when none."))
)

// backlogStates are the state label values of events_deliveries.
var backlogStates = []string{StatePending, StateFailed, StateDead}

// backlogTimeout bounds the query of one scrape.
const backlogTimeout = 2 * time.Second

// subscriberBacklog is one subscriber's deliveries by state, and the age
// of its oldest undelivered event.
type subscriberBacklog struct {
	Count  map[string]int64 // by state: pending, failed, dead
	Oldest time.Duration
}

// backlog reads the backlog of each subscriber in names; every one of them
// is in the result, with zeros when nothing waits. Both counts use the
// partial indexes of waiting and dead deliveries.
func backlog(ctx context.Context, pool *pgxpool.Pool, names []string) (map[string]subscriberBacklog, error) {
	rows, err := pool.Query(ctx, `WITH counts AS (
			SELECT subscriber, state, count(*) AS n, min(seq) AS first_seq FROM events.deliveries
			WHERE subscriber = ANY($1) AND state IN ('pending', 'failed')
			GROUP BY subscriber, state
			UNION ALL
			SELECT subscriber, 'dead', count(*), NULL FROM events.deliveries
			WHERE subscriber = ANY($1) AND state = 'dead'
			GROUP BY subscriber)
		SELECT c.subscriber, c.state, c.n,
		       coalesce(extract(epoch FROM clock_timestamp() - o.created_at), 0)::float8
		FROM counts c LEFT JOIN events.outbox o ON o.seq = c.first_seq`, names)
	if err != nil {
		return nil, fmt.Errorf("events backlog: %w", err)
	}

	out := make(map[string]subscriberBacklog, len(names))
	for _, n := range names {
		out[n] = subscriberBacklog{Count: map[string]int64{StatePending: 0, StateFailed: 0, StateDead: 0}}
	}

	var (
		name, state string
		n           int64
		age         float64
	)

	_, err = pgx.ForEachRow(rows, []any{&name, &state, &n, &age}, func() error {
		b := out[name]
		b.Count[state] = n
		b.Oldest = max(b.Oldest, time.Duration(age*float64(time.Second)))
		out[name] = b

		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("events backlog: %w", err)
	}

	return out, nil
}

// observeBacklog reports the backlog gauges of subs at every collection
// until the registration is undone. A query that fails (the database out
// of reach) leaves the gauges out of that scrape rather than failing it.
func (b *Bus) observeBacklog(subs []*subscriber) (metric.Registration, error) {
	names := make([]string, len(subs))
	for i, s := range subs {
		names[i] = s.name
	}

	reg, err := meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		ctx, cancel := context.WithTimeout(ctx, backlogTimeout)
		defer cancel()

		backlogs, err := backlog(ctx, b.pool, names)
		if err != nil {
			b.logger.DebugContext(ctx, "events: backlog metrics not collected", "error", err)

			return nil
		}

		for name, bl := range backlogs {
			sub := attribute.String("subscriber", name)
			for _, state := range backlogStates {
				o.ObserveInt64(backlogGauge, bl.Count[state], metric.WithAttributes(sub, attribute.String("state", state)))
			}

			o.ObserveFloat64(oldestGauge, bl.Oldest.Seconds(), metric.WithAttributes(sub))
		}

		return nil
	}, backlogGauge, oldestGauge)
	if err != nil {
		return nil, fmt.Errorf("events: backlog metrics: %w", err)
	}

	return reg, nil
}
