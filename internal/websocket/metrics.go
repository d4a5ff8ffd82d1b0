package websocket

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/metric"
)

// metrics are the hub's instruments; Prometheus shows them as
// websocket_connections (open now), websocket_connections_opened_total,
// websocket_messages_sent_total (written to a socket),
// websocket_messages_received_total (data messages clients sent, which
// are read and ignored) and websocket_messages_dropped_total (not queued:
// the socket's queue was full, and the socket is closed as too slow).
type metrics struct {
	opened   metric.Int64Counter
	sent     metric.Int64Counter
	received metric.Int64Counter
	dropped  metric.Int64Counter
}

// newMetrics creates the instruments on meter and reports the open
// connections of h as they are read.
func newMetrics(meter metric.Meter, h *Hub) (*metrics, error) {
	var (
		m   metrics
		err error
	)

	counters := []struct {
		dst  *metric.Int64Counter
		name string
		desc string
	}{
		{&m.opened, "websocket.connections.opened", "WebSocket connections accepted."},
		{&m.sent, "websocket.messages.sent", "Messages written to WebSockets."},
		{&m.received, "websocket.messages.received", "Data messages received from WebSockets."},
		{&m.dropped, "websocket.messages.dropped", "Messages not delivered: the socket's send queue was full."},
	}
	for _, c := range counters {
		if *c.dst, err = meter.Int64Counter(c.name, metric.WithDescription(c.desc)); err != nil {
			return nil, fmt.Errorf("create %s counter: %w", c.name, err)
		}

		// A counter is exported from its first Add: adding 0 lists it at
		// zero from the start, so a dashboard or an alert on drops reads
		// a series before the first drop, not "no data".
		(*c.dst).Add(context.Background(), 0)
	}

	_, err = meter.Int64ObservableUpDownCounter("websocket.connections",
		metric.WithDescription("Open WebSocket connections of this replica."),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(int64(h.Stats().Connections))

			return nil
		}))
	if err != nil {
		return nil, fmt.Errorf("create websocket.connections gauge: %w", err)
	}

	return &m, nil
}
