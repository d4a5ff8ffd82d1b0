package middleware

import (
	"net/http"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.39.0"
	"go.opentelemetry.io/otel/trace"
)

// tracerName identifies the instrumentation that creates the server spans.
const tracerName = "github.com/modulith/modulith/internal/middleware"

// Tracing starts a server span for every request, continuing the trace the
// caller propagated in the headers. The span is named "METHOD route" once
// the handler has returned and the route is known, carries the method, route
// and status, and is marked as an error for 5xx responses (4xx are the
// client's errors, not the server's).
func Tracing(tp trace.TracerProvider, prop propagation.TextMapPropagator) func(http.Handler) http.Handler {
	tracer := tp.Tracer(tracerName)

	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
			ctx, span := tracer.Start(ctx, method(r),
				trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(semconv.HTTPRequestMethodKey.String(method(r))),
			)

			observe(w, r.WithContext(ctx), next, func(o outcome) {
				span.SetName(method(r) + " " + o.route)
				span.SetAttributes(semconv.HTTPRoute(o.route), semconv.HTTPResponseStatusCode(o.status))

				if o.status >= http.StatusInternalServerError {
					span.SetStatus(codes.Error, http.StatusText(o.status))
				}

				span.End()
			})
		})
	}
}
