package feature_test

import (
	"testing"

	"github.com/open-feature/go-sdk/openfeature"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/modulith/modulith/internal/feature"
)

// TestEvaluationsCounted: every evaluation counts once in
// feature.evaluations, by flag, reason and error code (its own flags:
// other tests evaluate at the same time).
func TestEvaluationsCounted(t *testing.T) {
	t.Parallel()

	reader := sdkmetric.NewManualReader()
	otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))

	c := newFlags(t, feature.Flag{Key: "orders.counted", Type: feature.TypeBoolean, Enabled: true, Value: true}).Client("orders")
	none := openfeature.EvaluationContext{}

	c.Boolean(t.Context(), "orders.counted", false, none)
	c.Boolean(t.Context(), "orders.counted", false, none)
	c.Boolean(t.Context(), "orders.uncounted", false, none)

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}

	got := map[[3]string]int64{}

	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			sum, ok := m.Data.(metricdata.Sum[int64])
			if m.Name != "feature.evaluations" || !ok {
				continue
			}

			for _, dp := range sum.DataPoints {
				got[[3]string{attr(dp.Attributes, "flag"), attr(dp.Attributes, "reason"), attr(dp.Attributes, "error")}] = dp.Value
			}
		}
	}

	if n := got[[3]string{"orders.counted", "STATIC", ""}]; n != 2 {
		t.Errorf("evaluations of orders.counted = %d, want 2 (all: %v)", n, got)
	}

	if n := got[[3]string{"orders.uncounted", "ERROR", "FLAG_NOT_FOUND"}]; n != 1 {
		t.Errorf("evaluations of the missing orders.uncounted = %d, want 1 (all: %v)", n, got)
	}
}

func attr(set attribute.Set, key attribute.Key) string {
	v, _ := set.Value(key)

	return v.AsString()
}
