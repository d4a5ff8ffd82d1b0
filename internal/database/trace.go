package database

import (
	"strings"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
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
	cc.Tracer = otelpgx.NewTracer(
		otelpgx.WithTracerProvider(tp),
		otelpgx.WithMeterProvider(noop.NewMeterProvider()),
		otelpgx.WithTrimSQLInSpanName(),
		otelpgx.WithSpanNameFunc(QueryName),
	)
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
