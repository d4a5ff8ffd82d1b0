package observability_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	semconv "go.opentelemetry.io/otel/semconv/v1.39.0"

	"github.com/modulith/modulith/cmd/server/observability"
	"github.com/modulith/modulith/internal/pgtest"
)

func newMetrics(t *testing.T) *observability.Metrics {
	t.Helper()

	m, err := observability.NewMetrics(resource.NewSchemaless(semconv.ServiceName("svc"), semconv.ServiceVersion("1.2.3")))
	if err != nil {
		t.Fatalf("NewMetrics() = %v", err)
	}

	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })

	return m
}

// scrape returns the Prometheus text exposition of m.
func scrape(t *testing.T, m *observability.Metrics) string {
	t.Helper()

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/metrics", nil))

	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics = %d", rec.Code)
	}

	return rec.Body.String()
}

// checkSeries checks that each pattern matches a line of the exposition.
func checkSeries(t *testing.T, exposition string, patterns ...string) {
	t.Helper()

	for _, p := range patterns {
		if !regexp.MustCompile(`(?m)` + p).MatchString(exposition) {
			t.Errorf("no series matches %s", p)
		}
	}
}

func TestMetricsHandler(t *testing.T) {
	m := newMetrics(t)
	meter := m.Meter()

	handled, err := meter.Int64Counter("grpc.server.handled")
	if err != nil {
		t.Fatal(err)
	}

	duration, err := meter.Float64Histogram("http.request.duration", metric.WithUnit("s"))
	if err != nil {
		t.Fatal(err)
	}

	handled.Add(t.Context(), 3, metric.WithAttributes(semconv.RPCMethod("GetProfile")))
	duration.Record(t.Context(), 0.2)

	checkSeries(t, scrape(t, m),
		`^go_goroutines \d+`,
		`^process_\w+ `,
		`^grpc_server_handled_total\{.*\} 3$`,
		`^http_request_duration_seconds_bucket\{.*le="\+Inf".*\} 1$`,
		`^http_request_duration_seconds_count(\{.*\})? 1$`,
		`^target_info\{.*service_name="svc".*\} 1$`,
	)
}

func TestMetricsWithoutScopeLabels(t *testing.T) {
	m := newMetrics(t)

	c, err := m.Meter().Int64Counter("jobs.done")
	if err != nil {
		t.Fatal(err)
	}

	c.Add(t.Context(), 1)

	for line := range strings.SplitSeq(scrape(t, m), "\n") {
		if strings.HasPrefix(line, "jobs_done_total") && strings.Contains(line, "otel_scope") {
			t.Errorf("series carries scope labels: %s", line)
		}
	}
}

func TestMetricsShutdown(t *testing.T) {
	m, err := observability.NewMetrics(resource.Empty())
	if err != nil {
		t.Fatal(err)
	}

	if err := m.Shutdown(t.Context()); err != nil {
		t.Errorf("Shutdown() = %v", err)
	}

	if err := m.Shutdown(t.Context()); err == nil {
		t.Error("second Shutdown() = nil, want an error")
	}
}

func TestObservePool(t *testing.T) {
	db := pgtest.NewDatabase(t)
	m := newMetrics(t)

	if err := observability.ObservePool(m.Meter(), db.Pool); err != nil {
		t.Fatalf("ObservePool() = %v", err)
	}

	conn, err := db.Pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()

	checkSeries(t, scrape(t, m),
		`^db_pool_connections\{.*state="acquired".*\} 1$`,
		`^db_pool_connections\{.*state="idle".*\} \d+$`,
		`^db_pool_connections\{.*state="constructing".*\} \d+$`,
		`^db_pool_max_connections(\{.*\})? 4$`,
		`^db_pool_acquires_total(\{.*\})? [1-9]\d*$`,
		`^db_pool_empty_acquires_total(\{.*\})? \d+$`,
		`^db_pool_acquire_wait_seconds_total(\{.*\})? [0-9.e+-]+$`,
	)
}
