package database_test

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/modulith/modulith/internal/database"
	"github.com/modulith/modulith/internal/pgtest"
)

func TestQueryName(t *testing.T) {
	tests := []struct{ sql, want string }{
		{"-- name: ActiveMagicCode :one\nSELECT id FROM auth.magic_codes", "ActiveMagicCode"},
		{"  select 1", "SELECT"},
		{"INSERT\tINTO t VALUES ($1)", "INSERT"},
		{"BEGIN", "BEGIN"},
		{"", "UNKNOWN"},
	}
	for _, tt := range tests {
		if got := database.QueryName(tt.sql); got != tt.want {
			t.Errorf("QueryName(%q) = %q, want %q", tt.sql, got, tt.want)
		}
	}
}

// TestTraceQueries: a statement run inside a span becomes its child, a
// client span with the statement text and without the arguments; outside
// a span nothing is recorded.
func TestTraceQueries(t *testing.T) {
	t.Parallel()

	db := pgtest.NewDatabase(t)

	cc, err := pgx.ParseConfig(db.DSN)
	if err != nil {
		t.Fatal(err)
	}

	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	database.TraceQueries(cc, tp)

	conn, err := pgx.ConnectConfig(t.Context(), cc)
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = conn.Close(t.Context()) })

	const secret = "a-code-that-must-not-leak"

	var got string
	if err := conn.QueryRow(t.Context(), "SELECT $1::text", "outside a span").Scan(&got); err != nil {
		t.Fatal(err)
	}

	ctx, parent := tp.Tracer("test").Start(t.Context(), "request")
	if err := conn.QueryRow(ctx, "-- name: Echo :one\nSELECT $1::text", secret).Scan(&got); err != nil {
		t.Fatal(err)
	}

	parent.End()

	query := onlyQuerySpan(t, rec)

	if query.Name() != "query Echo" || query.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Errorf("query span %q with parent %v, want %q child of %v", query.Name(), query.Parent().SpanID(), "query Echo", parent.SpanContext().SpanID())
	}

	attrs := attribute.NewSet(query.Attributes()...)
	if v, _ := attrs.Value("db.query.text"); !strings.Contains(v.AsString(), "SELECT $1::text") {
		t.Errorf("db.query.text = %q, want the statement", v.AsString())
	}

	for _, kv := range query.Attributes() {
		if strings.Contains(kv.Value.String(), secret) {
			t.Errorf("attribute %s carries the argument: %s", kv.Key, kv.Value.String())
		}
	}
}

// onlyQuerySpan returns the one query span rec ended.
func onlyQuerySpan(t *testing.T, rec *tracetest.SpanRecorder) sdktrace.ReadOnlySpan {
	t.Helper()

	var queries []sdktrace.ReadOnlySpan

	for _, s := range rec.Ended() {
		if strings.HasPrefix(s.Name(), "query ") {
			queries = append(queries, s)
		}
	}

	if len(queries) != 1 {
		t.Fatalf("%d query spans, want 1 (the statement outside a span is not traced)", len(queries))
	}

	return queries[0]
}
