package resilience_test

import (
	"context"
	stderrors "errors"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/resilience"
)

var errDown = stderrors.New("destination down")

// newGuards returns guards with cfg and the reader of their metrics.
func newGuards(t *testing.T, cfg resilience.Config) (*resilience.Guards, *sdkmetric.ManualReader) {
	t.Helper()

	reader := sdkmetric.NewManualReader()

	g, err := resilience.New(cfg, sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)).Meter("test"))
	if err != nil {
		t.Fatalf("New() = %v", err)
	}

	return g, reader
}

func quick() resilience.Config {
	return resilience.Config{Failures: 3, Cooldown: 50 * time.Millisecond, Retries: 2, Backoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond}
}

// metrics collects the gauge and counters, by metric name then destination.
func metrics(t *testing.T, reader *sdkmetric.ManualReader) map[string]map[string]int64 {
	t.Helper()

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(t.Context(), &rm); err != nil {
		t.Fatalf("collect: %v", err)
	}

	out := map[string]map[string]int64{}

	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			var points []metricdata.DataPoint[int64]

			switch d := m.Data.(type) {
			case metricdata.Gauge[int64]:
				points = d.DataPoints
			case metricdata.Sum[int64]:
				points = d.DataPoints
			}

			if out[m.Name] == nil {
				out[m.Name] = map[string]int64{}
			}

			for _, p := range points {
				dest, _ := p.Attributes.Value("destination")
				out[m.Name][dest.AsString()] = p.Value
			}
		}
	}

	return out
}

func TestBreakerOpensThenClosesAfterCooldown(t *testing.T) {
	t.Parallel()

	g, reader := newGuards(t, quick())
	b := g.Breaker("smtp", nil)

	calls := 0
	fail := func(context.Context) error { calls++; return errDown }

	for range 3 {
		if err := b.Do(t.Context(), fail); !stderrors.Is(err, errDown) {
			t.Fatalf("Do() = %v, want the call's own error while closed", err)
		}
	}

	err := b.Do(t.Context(), fail)
	if calls != 3 || !stderrors.Is(err, resilience.ErrOpen) || !errors.IsType(err, errors.TypeUnavailable) {
		t.Fatalf("after 3 failures: Do() = %v with %d calls made, want an Unavailable ErrOpen without calling", err, calls)
	}

	if !b.Open() {
		t.Error("Open() = false after 3 failures")
	}

	wantMetrics(t, reader, "smtp", 2, 1)

	time.Sleep(60 * time.Millisecond) // the cooldown: the next call is a trial

	if err := b.Do(t.Context(), func(context.Context) error { return nil }); err != nil {
		t.Fatalf("trial call after the cooldown: %v", err)
	}

	if b.Open() {
		t.Error("a successful trial call left the breaker open")
	}

	wantMetrics(t, reader, "smtp", 0, 1)
}

// wantMetrics checks the state gauge and rejection counter of destination.
func wantMetrics(t *testing.T, reader *sdkmetric.ManualReader, destination string, state, rejected int64) {
	t.Helper()

	got := metrics(t, reader)
	if got["resilience.breaker.state"][destination] != state || got["resilience.breaker.rejected"][destination] != rejected {
		t.Errorf("metrics %v, want state %d and %d rejected calls for %s", got, state, rejected, destination)
	}
}

func TestBreakerCountsOnlyTheDestinationsFailures(t *testing.T) {
	t.Parallel()

	g, _ := newGuards(t, quick())
	refused := stderrors.New("recipient refused")
	b := g.Breaker("sms", func(err error) bool { return !stderrors.Is(err, refused) })

	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	for range 10 {
		_ = b.Do(t.Context(), func(context.Context) error { return refused })
		_ = b.Do(ctx, func(ctx context.Context) error { return ctx.Err() })
	}

	if b.Open() {
		t.Fatal("the breaker opened on answers and cancelled calls, which say nothing of the destination")
	}

	if g.Breaker("sms", nil) != b {
		t.Error("Breaker() made a second breaker for the same destination")
	}
}

func transient(err error) bool { return stderrors.Is(err, errDown) }

func TestRetryUntilSuccess(t *testing.T) {
	t.Parallel()

	g, reader := newGuards(t, quick())
	b := g.Breaker("a", nil)
	calls := 0

	err := g.Retry(t.Context(), b, transient, func(context.Context) error {
		calls++
		if calls < 3 {
			return errDown
		}

		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("Retry() = %v after %d calls, want success on the third", err, calls)
	}

	if n := metrics(t, reader)["resilience.retries"]["a"]; n != 2 {
		t.Errorf("resilience.retries = %d, want 2", n)
	}
}

func TestRetryAtMostRetriesTimes(t *testing.T) {
	t.Parallel()

	g, _ := newGuards(t, quick())
	calls := 0

	err := g.Retry(t.Context(), nil, transient, func(context.Context) error { calls++; return errDown })
	if !stderrors.Is(err, errDown) || calls != 3 {
		t.Fatalf("Retry() = %v after %d calls, want the error after 1 + 2 retries", err, calls)
	}
}

func TestRetryNotAPermanentFailure(t *testing.T) {
	t.Parallel()

	g, _ := newGuards(t, quick())
	permanent := stderrors.New("bad request")
	calls := 0

	err := g.Retry(t.Context(), nil, transient, func(context.Context) error { calls++; return permanent })
	if !stderrors.Is(err, permanent) || calls != 1 {
		t.Fatalf("Retry() = %v after %d calls, want the error at once", err, calls)
	}
}

func TestRetryStopsWhenTheBreakerOpens(t *testing.T) {
	t.Parallel()

	cfg := quick()
	cfg.Failures, cfg.Retries, cfg.Cooldown = 2, 5, time.Hour
	g, _ := newGuards(t, cfg)
	calls := 0

	err := g.Retry(t.Context(), g.Breaker("b", nil), transient, func(context.Context) error { calls++; return errDown })
	if !stderrors.Is(err, resilience.ErrOpen) || calls != 2 {
		t.Fatalf("Retry() = %v after %d calls, want ErrOpen once the breaker opened after 2", err, calls)
	}
}

func TestRetryNoneConfigured(t *testing.T) {
	t.Parallel()

	cfg := quick()
	cfg.Retries = 0
	g, _ := newGuards(t, cfg)
	calls := 0

	_ = g.Retry(t.Context(), nil, transient, func(context.Context) error { calls++; return errDown })
	if calls != 1 {
		t.Fatalf("%d calls with Retries 0, want 1", calls)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()

	for name, cfg := range map[string]resilience.Config{
		"no failures":      {Failures: 0, Cooldown: time.Second},
		"no cooldown":      {Failures: 1},
		"negative retries": {Failures: 1, Cooldown: time.Second, Retries: -1},
		"no backoff":       {Failures: 1, Cooldown: time.Second, Retries: 1},
	} {
		if _, err := resilience.New(cfg, sdkmetric.NewMeterProvider().Meter("test")); err == nil {
			t.Errorf("%s: New(%+v) = nil error", name, cfg)
		}
	}

	if _, err := resilience.New(resilience.DefaultConfig(), sdkmetric.NewMeterProvider().Meter("test")); err != nil {
		t.Errorf("New(DefaultConfig()) = %v", err)
	}
}
