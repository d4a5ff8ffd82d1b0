package database

import (
	"context"
	"strings"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
)

// TraceQueries makes every statement run on connections of cc a client
// span (otelpgx) of the span in its context; a statement run outside a
// recorded span gets none. The span is named after the sqlc query ("query
// ActiveMagicCode") or else the statement's first word ("query SELECT"),
// and carries the statement text, never its arguments (codes, tokens and
// addresses travel as arguments). otelpgx's own metrics are left out: the
// pool is built before the process's meter provider exists, and its
// statistics are exported already (observability.ObservePool).
func TraceQueries(cc *pgx.ConnConfig, tp trace.TracerProvider) {
	cc.Tracer = recordedOnly{otelpgx.NewTracer(
		otelpgx.WithTracerProvider(tp),
		otelpgx.WithMeterProvider(noop.NewMeterProvider()),
		otelpgx.WithTrimSQLInSpanName(),
		otelpgx.WithSpanNameFunc(QueryName),
	)}
}

// recordedOnly hands otelpgx only the operations that run in a recorded
// span. otelpgx skips the span of the others but still stores their start
// time and builds the attributes of its (discarded) metrics: some 3 % of
// the CPU of a read when traces are not exported. An operation's end goes
// to otelpgx when its start did, which left a recorded span of its own in
// the context.
type recordedOnly struct{ t *otelpgx.Tracer }

func recorded(ctx context.Context) bool { return trace.SpanFromContext(ctx).IsRecording() }

func (r recordedOnly) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if !recorded(ctx) {
		return ctx
	}

	return r.t.TraceQueryStart(ctx, conn, data)
}

func (r recordedOnly) TraceQueryEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryEndData) {
	if recorded(ctx) {
		r.t.TraceQueryEnd(ctx, conn, data)
	}
}

func (r recordedOnly) TraceBatchStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	if !recorded(ctx) {
		return ctx
	}

	return r.t.TraceBatchStart(ctx, conn, data)
}

func (r recordedOnly) TraceBatchQuery(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchQueryData) {
	if recorded(ctx) {
		r.t.TraceBatchQuery(ctx, conn, data)
	}
}

func (r recordedOnly) TraceBatchEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchEndData) {
	if recorded(ctx) {
		r.t.TraceBatchEnd(ctx, conn, data)
	}
}

func (r recordedOnly) TraceCopyFromStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceCopyFromStartData) context.Context {
	if !recorded(ctx) {
		return ctx
	}

	return r.t.TraceCopyFromStart(ctx, conn, data)
}

func (r recordedOnly) TraceCopyFromEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceCopyFromEndData) {
	if recorded(ctx) {
		r.t.TraceCopyFromEnd(ctx, conn, data)
	}
}

func (r recordedOnly) TracePrepareStart(ctx context.Context, conn *pgx.Conn, data pgx.TracePrepareStartData) context.Context {
	if !recorded(ctx) {
		return ctx
	}

	return r.t.TracePrepareStart(ctx, conn, data)
}

func (r recordedOnly) TracePrepareEnd(ctx context.Context, conn *pgx.Conn, data pgx.TracePrepareEndData) {
	if recorded(ctx) {
		r.t.TracePrepareEnd(ctx, conn, data)
	}
}

func (r recordedOnly) TraceConnectStart(ctx context.Context, data pgx.TraceConnectStartData) context.Context {
	if !recorded(ctx) {
		return ctx
	}

	return r.t.TraceConnectStart(ctx, data)
}

func (r recordedOnly) TraceConnectEnd(ctx context.Context, data pgx.TraceConnectEndData) {
	if recorded(ctx) {
		r.t.TraceConnectEnd(ctx, data)
	}
}

func (r recordedOnly) TraceAcquireStart(ctx context.Context, pool *pgxpool.Pool, data pgxpool.TraceAcquireStartData) context.Context {
	if !recorded(ctx) {
		return ctx
	}

	return r.t.TraceAcquireStart(ctx, pool, data)
}

func (r recordedOnly) TraceAcquireEnd(ctx context.Context, pool *pgxpool.Pool, data pgxpool.TraceAcquireEndData) {
	if recorded(ctx) {
		r.t.TraceAcquireEnd(ctx, pool, data)
	}
}

// QueryName names a statement: the name sqlc gives it in its first line
// ("-- name: ActiveMagicCode :one"), or else its first word in upper case.
func QueryName(sql string) string {
	sql = strings.TrimSpace(sql)

	if rest, ok := strings.CutPrefix(sql, "-- name:"); ok {
		if fields := strings.Fields(rest); len(fields) > 0 {
			return fields[0]
		}
	}

	fields := strings.Fields(sql)
	if len(fields) == 0 {
		return "UNKNOWN"
	}

	return strings.ToUpper(fields[0])
}
