package middleware

import (
	"fmt"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.39.0"
)

// durationBuckets are the histogram boundaries in seconds, from a cache hit
// (1 ms) to the longest request worth telling apart from a timeout (10 s).
var durationBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Metrics records the duration of every request in the histogram
// http.request.duration (seconds; http_request_duration_seconds in
// Prometheus), by method, route and status. Labels are the route pattern,
// never the raw path, to keep the number of series bounded.
func Metrics(meter metric.Meter) (func(http.Handler) http.Handler, error) {
	duration, err := meter.Float64Histogram("http.request.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Duration of HTTP server requests."),
		metric.WithExplicitBucketBoundaries(durationBuckets...),
	)
	if err != nil {
		return nil, fmt.Errorf("create http.request.duration histogram: %w", err)
	}

	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			observe(w, r, next, func(o outcome) {
				duration.Record(r.Context(), o.duration.Seconds(), metric.WithAttributeSet(attribute.NewSet(
					semconv.HTTPRequestMethodKey.String(method(r)),
					semconv.HTTPRoute(o.route),
					semconv.HTTPResponseStatusCode(o.status),
				)))
			})
		})
	}, nil
}

// method returns the request method, or "_OTHER" for methods outside the
// standard set, which a client could otherwise use to create any number of
// series.
func method(r *http.Request) string {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return r.Method
	default:
		return "_OTHER"
	}
}
