package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/modulith/modulith/internal/middleware"
)

// point is one series of the duration histogram, as the test sees it.
type point struct {
	Method, Route string
	Status        int64
	Count         uint64
}

func TestMetricsRecordsDuration(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))

	t.Cleanup(func() { _ = provider.Shutdown(t.Context()) })

	metrics, err := middleware.Metrics(provider.Meter("test"))
	if err != nil {
		t.Fatalf("Metrics() error = %v", err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/items/{id}", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("POST /v1/items", func(w http.ResponseWriter, r *http.Request) {
		middleware.SetRoute(r.Context(), "/v1/items")
		w.WriteHeader(http.StatusConflict)
	})
	h := middleware.Chain(mux, metrics, middleware.Timeout(time.Minute))

	for _, req := range []struct{ method, path string }{
		{http.MethodGet, "/v1/items/1"},
		{http.MethodGet, "/v1/items/2"},
		{http.MethodPost, "/v1/items"},
		{http.MethodGet, "/v1/nope"},
		{"BREW", "/v1/items/1"},
	} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(t.Context(), req.method, req.path, nil))
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(t.Context(), &rm); err != nil {
		t.Fatalf("Collect() error = %v", err)
	}

	hist := findHistogram(t, rm, "http.request.duration")

	want := []point{
		{Method: "GET", Route: "/v1/items/{id}", Status: 200, Count: 2},
		{Method: "POST", Route: "/v1/items", Status: 409, Count: 1},
		{Method: "GET", Route: "unmatched", Status: 404, Count: 1},
		{Method: "_OTHER", Route: "unmatched", Status: 405, Count: 1},
	}

	var got []point

	for _, dp := range hist.DataPoints {
		got = append(got, point{
			Method: attrString(dp.Attributes, "http.request.method"),
			Route:  attrString(dp.Attributes, "http.route"),
			Status: attrInt(dp.Attributes, "http.response.status_code"),
			Count:  dp.Count,
		})

		wantBounds := []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
		if diff := cmp.Diff(wantBounds, dp.Bounds); diff != "" {
			t.Errorf("bucket bounds (-want +got):\n%s", diff)
		}

		if dp.Sum <= 0 || dp.Sum > 10 {
			t.Errorf("sum of durations = %v s, want a small positive number of seconds", dp.Sum)
		}
	}

	if diff := cmp.Diff(want, got, cmpopts.SortSlices(func(a, b point) bool { return a.Method+a.Route < b.Method+b.Route })); diff != "" {
		t.Errorf("series (-want +got):\n%s", diff)
	}
}

func findHistogram(t *testing.T, rm metricdata.ResourceMetrics, name string) metricdata.Histogram[float64] {
	t.Helper()

	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}

			if m.Unit != "s" {
				t.Errorf("unit of %s = %q, want s", name, m.Unit)
			}

			hist, ok := m.Data.(metricdata.Histogram[float64])
			if !ok {
				t.Fatalf("%s is a %T, want a float64 histogram", name, m.Data)
			}

			return hist
		}
	}

	t.Fatalf("no metric %s collected", name)

	return metricdata.Histogram[float64]{}
}

func attrString(set attribute.Set, key attribute.Key) string {
	v, _ := set.Value(key)

	return v.AsString()
}

func attrInt(set attribute.Set, key attribute.Key) int64 {
	v, _ := set.Value(key)

	return v.AsInt64()
}
