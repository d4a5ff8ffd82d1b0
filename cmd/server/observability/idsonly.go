package observability

import (
	"context"
	"encoding/binary"
	"math/rand/v2"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
)

// TracerProvider is the process's tracer provider: spans, and a Shutdown
// that flushes the ones not yet exported.
type TracerProvider interface {
	trace.TracerProvider
	Shutdown(ctx context.Context) error
}

// idsOnly is the tracer provider when spans go nowhere. Its spans record
// nothing but have IDs, which stamp the log lines of a request and travel
// to the services it calls: a span continues its parent's trace and keeps
// its sampled flag, so that a service downstream that exports records
// what the caller sampled; a root span starts a trace, unsampled. The SDK
// did the same with a sampler that never samples, at some 3 % of an
// authenticated read's CPU: random IDs under a lock, the sampler's call,
// a span object.
type idsOnly struct{ embedded.TracerProvider }

func (*idsOnly) Tracer(string, ...trace.TracerOption) trace.Tracer { return idsTracer{} }

// Shutdown has nothing to flush.
func (*idsOnly) Shutdown(context.Context) error { return nil }

type idsTracer struct{ embedded.Tracer }

func (idsTracer) Start(ctx context.Context, _ string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	parent := trace.SpanContextFromContext(ctx)

	if len(opts) > 0 {
		if cfg := trace.NewSpanStartConfig(opts...); cfg.NewRoot() {
			parent = trace.SpanContext{}
		}
	}

	cfg := trace.SpanContextConfig{
		TraceID: parent.TraceID(), SpanID: newSpanID(), TraceFlags: parent.TraceFlags(), TraceState: parent.TraceState(),
	}
	if !parent.IsValid() {
		cfg.TraceID, cfg.TraceFlags, cfg.TraceState = newTraceID(), 0, trace.TraceState{}
	}

	ctx = trace.ContextWithSpanContext(ctx, trace.NewSpanContext(cfg))

	return ctx, trace.SpanFromContext(ctx)
}

// newTraceID and newSpanID draw random, non-zero IDs from the runtime's
// per-thread generator, without a lock. They identify; they are not
// secrets.
func newTraceID() trace.TraceID {
	var id trace.TraceID

	for !id.IsValid() {
		binary.BigEndian.PutUint64(id[:8], rand.Uint64()) //nolint:gosec // IDs, not secrets
		binary.BigEndian.PutUint64(id[8:], rand.Uint64()) //nolint:gosec // IDs, not secrets
	}

	return id
}

func newSpanID() trace.SpanID {
	var id trace.SpanID

	for !id.IsValid() {
		binary.BigEndian.PutUint64(id[:], rand.Uint64()) //nolint:gosec // IDs, not secrets
	}

	return id
}
