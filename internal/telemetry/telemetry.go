// Package telemetry holds the tracing helpers every layer uses (ServiceSpan,
// RepositorySpan, SetAttribute, RecordError, AddEvent) and the slog handler
// that stamps each log line with the trace, span and request IDs of its
// context and redacts secrets.
//
// Spans come from the global OpenTelemetry tracer provider, which the
// process installs at start (a no-op provider until then), so helpers need
// nothing but a context.
package telemetry

import (
	"context"
	"fmt"
	"math"
	"reflect"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// InstrumentationName names the tracer and meter of this platform.
const InstrumentationName = "github.com/modulith/modulith"

func tracer() trace.Tracer { return otel.Tracer(InstrumentationName) }

// StartSpan starts an internal span named name as a child of ctx's span.
func StartSpan(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	ctx, span := tracer().Start(ctx, name)
	if span.IsRecording() {
		span.SetAttributes(attrs...)
	}

	return ctx, span
}

// ServiceSpan starts the span of a service operation, e.g. "billing.service/Charge".
func ServiceSpan(ctx context.Context, module, operation string) (context.Context, trace.Span) {
	ctx, span := tracer().Start(ctx, module+".service/"+operation)
	if span.IsRecording() {
		span.SetAttributes(
			attribute.String("module", module),
			attribute.String("layer", "service"),
			attribute.String("operation", operation))
	}

	return ctx, span
}

// RepositorySpan starts the span of a repository operation on an entity,
// e.g. "billing.repository/CreateInvoice".
func RepositorySpan(ctx context.Context, module, operation, entity string) (context.Context, trace.Span) {
	ctx, span := tracer().Start(ctx, module+".repository/"+operation)
	if span.IsRecording() {
		span.SetAttributes(
			attribute.String("module", module),
			attribute.String("layer", "repository"),
			attribute.String("operation", operation),
			attribute.String("entity", entity))
	}

	return ctx, span
}

// SetAttribute sets an attribute on ctx's span. Strings, booleans, floats
// and integers that fit in an int64 keep their type; anything else is
// formatted with fmt.
func SetAttribute(ctx context.Context, key string, value any) {
	trace.SpanFromContext(ctx).SetAttributes(attr(key, value))
}

func attr(key string, value any) attribute.KeyValue {
	switch v := value.(type) {
	case string:
		return attribute.String(key, v)
	case bool:
		return attribute.Bool(key, v)
	case fmt.Stringer:
		return attribute.String(key, v.String())
	}

	rv := reflect.ValueOf(value)

	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return attribute.Int64(key, rv.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if u := rv.Uint(); u <= math.MaxInt64 {
			return attribute.Int64(key, int64(u))
		}

		return attribute.String(key, fmt.Sprint(value))
	case reflect.Float32, reflect.Float64:
		return attribute.Float64(key, rv.Float())
	default:
		return attribute.String(key, fmt.Sprint(value))
	}
}

// RecordError records err on ctx's span and marks the span as failed.
func RecordError(ctx context.Context, err error) {
	if err == nil {
		return
	}

	span := trace.SpanFromContext(ctx)
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())
}

// AddEvent adds a named event to ctx's span.
func AddEvent(ctx context.Context, name string, attrs ...attribute.KeyValue) {
	trace.SpanFromContext(ctx).AddEvent(name, trace.WithAttributes(attrs...))
}

// ServiceOp starts the span of a service operation, like ServiceSpan, and
// returns the function that ends it, recording the operation's error:
//
//	ctx, end := telemetry.ServiceOp(ctx, "billing", "Charge")
//	defer end(&err)
func ServiceOp(ctx context.Context, module, op string) (context.Context, func(err *error)) {
	ctx, span := ServiceSpan(ctx, module, op)

	return ctx, func(err *error) {
		if *err != nil {
			RecordError(ctx, *err)
		}

		span.End()
	}
}
