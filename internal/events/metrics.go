package events

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/modulith/modulith/internal/telemetry"
)

// The bus's instruments come from the global meter provider, which
// forwards to the process's provider once it is installed.
var (
	meter = otel.Meter(telemetry.InstrumentationName)

	// events_published_total{event}
	published, _ = meter.Int64Counter("events.published", metric.WithDescription("Events stored in the outbox."))
	// events_handled_total{subscriber,event,outcome}: outcome is delivered,
	// skipped (already processed), failed (will retry) or dead.
	handledCount, _ = meter.Int64Counter("events.handled", metric.WithDescription("Delivery attempts by outcome."))
	// events_handle_duration_seconds{subscriber,event}
	handleDuration, _ = meter.Float64Histogram("events.handle.duration", metric.WithUnit("s"),
		metric.WithDescription("Time a handler took."))
	// events_delivery_lag_seconds{subscriber}: from publication to handling.
	deliveryLag, _ = meter.Float64Histogram("events.delivery.lag", metric.WithUnit("s"),
		metric.WithDescription("Time from publication to the start of a successful handling."))
)

func eventAttr(name string) metric.MeasurementOption {
	return metric.WithAttributes(attribute.String("event", name))
}

// outcomes are the outcome label values of events_handled_total.
var outcomes = []string{StateDelivered, outcomeSkipped, StateFailed, StateDead}

// startSeries adds zero to the counters of every event a consuming process
// subscribes to, for each subscriber and outcome: its /metrics lists them
// before any work arrives, so dashboards and alerts (rate, absent) have a
// series to read from the start.
func startSeries(ctx context.Context, subs []*subscriber) {
	for _, s := range subs {
		for _, event := range s.eventNames() {
			published.Add(ctx, 0, eventAttr(event))

			for _, outcome := range outcomes {
				handledCount.Add(ctx, 0, outcomeAttrs(s.name, event, outcome))
			}
		}
	}
}
