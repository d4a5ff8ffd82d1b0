package examples

import (
	"net/http"
	"testing"
)

// TestFreshWorkerMetrics: a worker that has handled nothing yet already
// lists the pool and event series (the counters and the backlog at zero), so dashboards
// and alerts have a series to read from the start. The worker runs as a
// process of its own: the bus's instruments come from the global meter
// provider, which in this test process belongs to whichever server
// started first.
func TestFreshWorkerMetrics(t *testing.T) {
	t.Parallel()

	admin := runWorkerBinary(t, harnessEnv(freshDSN(t)), newLogs())

	r := (&server{Admin: admin}).admin(t, "/metrics")
	if r.Status != http.StatusOK {
		t.Fatalf("worker GET /metrics = %d", r.Status)
	}

	body := r.Body

	wants := []struct {
		name   string
		labels []string
	}{
		{"db_pool_connections", []string{`state="idle"`}},
		{"db_pool_max_connections", nil},
		{"db_pool_acquires_total", nil},
		{"events_published_total", []string{`event="order.created"`}},
		{"events_handled_total", []string{`subscriber="orders-notifier"`, `event="order.created"`, `outcome="delivered"`}},
		{"events_handled_total", []string{`subscriber="websocket"`, `outcome="dead"`}},
		{"events_deliveries", []string{`subscriber="orders-notifier"`, `state="pending"`}},
		{"events_deliveries", []string{`subscriber="websocket"`, `state="dead"`}},
		{"events_oldest_pending_age_seconds", []string{`subscriber="orders-notifier"`}},
	}

	for _, w := range wants {
		if !hasSeries(string(body), w.name, w.labels...) {
			t.Errorf("fresh worker /metrics has no %s series with %v", w.name, w.labels)
		}
	}
}
