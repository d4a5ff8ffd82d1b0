// Package resilience guards the calls that leave the process: the gRPC
// clients of modules that run elsewhere (REMOTE_MODULES), the SMTP and SMS
// providers, and the outbound HTTP client modules get (OAuth providers).
//
// Each destination has a circuit breaker (sony/gobreaker): after
// Config.Failures consecutive failures it opens, and calls to it answer at
// once with an Unavailable error instead of waiting on a dead peer; after
// Config.Cooldown one trial call goes through, and its outcome closes or
// reopens the breaker. What counts as a failure is the destination's fault
// only (an unreachable peer, a timeout, a 5xx), never the caller's (a
// validation error, a cancelled context). Calls that are safe to repeat are
// retried with exponential backoff and jitter (cenkalti/backoff) while the
// breaker lets them through.
//
// Breaker states are exported as the gauge resilience.breaker.state (0
// closed, 1 half-open, 2 open, per destination), with the counters
// resilience.breaker.rejected and resilience.retries.
package resilience

import (
	"context"
	stderrors "errors"
	"fmt"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/modulith/modulith/internal/errors"
)

// ErrOpen is in the chain of the error a call gets while its destination's
// breaker is open (errors.Is).
var ErrOpen = stderrors.New("circuit open")

// Config is how guarded calls behave.
type Config struct {
	// Failures is how many consecutive failures open a breaker.
	Failures int
	// Cooldown is how long a breaker stays open before a trial call.
	Cooldown time.Duration
	// Retries is how many times a call that may be repeated is tried again
	// after a transient failure (0 = never).
	Retries int
	// Backoff is the wait before the first retry; it doubles, up to
	// MaxBackoff, each wait randomised by ±50 % so that clients do not
	// retry in step.
	Backoff    time.Duration
	MaxBackoff time.Duration
}

// DefaultConfig is the configuration's defaults (BREAKER_*, OUTBOUND_RETRIES).
func DefaultConfig() Config {
	return Config{Failures: 5, Cooldown: 10 * time.Second, Retries: 2, Backoff: 100 * time.Millisecond, MaxBackoff: 2 * time.Second}
}

func (c Config) validate() error {
	switch {
	case c.Failures < 1:
		return fmt.Errorf("resilience: failures to open a breaker must be at least 1, got %d", c.Failures)
	case c.Cooldown <= 0:
		return fmt.Errorf("resilience: breaker cooldown must be positive, got %s", c.Cooldown)
	case c.Retries < 0:
		return fmt.Errorf("resilience: retries must not be negative, got %d", c.Retries)
	case c.Retries > 0 && (c.Backoff <= 0 || c.MaxBackoff < c.Backoff):
		return fmt.Errorf("resilience: backoff %s to %s is not a range", c.Backoff, c.MaxBackoff)
	}

	return nil
}

// Guards holds the breaker of every destination of a process and their
// metrics. Its methods are safe for concurrent use.
type Guards struct {
	cfg      Config
	rejected metric.Int64Counter
	retries  metric.Int64Counter

	mu       sync.Mutex
	breakers map[string]*Breaker
}

// New returns the guards of a process, registering their metrics on meter.
func New(cfg Config, meter metric.Meter) (*Guards, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}

	g := &Guards{cfg: cfg, breakers: make(map[string]*Breaker)}

	var err error

	g.rejected, err = meter.Int64Counter("resilience.breaker.rejected",
		metric.WithDescription("Calls refused at once because their destination's circuit breaker was open"),
		metric.WithUnit("{call}"))
	if err != nil {
		return nil, fmt.Errorf("resilience: metric: %w", err)
	}

	g.retries, err = meter.Int64Counter("resilience.retries",
		metric.WithDescription("Calls tried again after a transient failure"), metric.WithUnit("{call}"))
	if err != nil {
		return nil, fmt.Errorf("resilience: metric: %w", err)
	}

	_, err = meter.Int64ObservableGauge("resilience.breaker.state",
		metric.WithDescription("State of each destination's circuit breaker: 0 closed, 1 half-open, 2 open"),
		metric.WithInt64Callback(g.observe))
	if err != nil {
		return nil, fmt.Errorf("resilience: metric: %w", err)
	}

	return g, nil
}

// observe reports every breaker's state.
func (g *Guards) observe(_ context.Context, o metric.Int64Observer) error {
	g.mu.Lock()
	defer g.mu.Unlock()

	for name, b := range g.breakers {
		o.Observe(stateValue(b.cb.State()), metric.WithAttributes(attribute.String("destination", name)))
	}

	return nil
}

// stateValue is the gauge's value of a state.
func stateValue(s gobreaker.State) int64 {
	switch s {
	case gobreaker.StateHalfOpen:
		return 1
	case gobreaker.StateOpen:
		return 2
	default:
		return 0
	}
}

// Breaker returns the breaker of destination (a name such as "smtp" or
// "module:auth"), made on first use. failure tells which errors count
// against the destination; nil counts every error but a cancelled or
// expired caller context. The first call for a destination fixes its
// failure function.
func (g *Guards) Breaker(destination string, failure func(error) bool) *Breaker {
	g.mu.Lock()
	defer g.mu.Unlock()

	if b, ok := g.breakers[destination]; ok {
		return b
	}

	if failure == nil {
		failure = func(error) bool { return true }
	}

	b := &Breaker{name: destination, guards: g, failure: failure}
	b.cb = gobreaker.NewCircuitBreaker[any](gobreaker.Settings{
		Name:        destination,
		MaxRequests: 1,
		Timeout:     g.cfg.Cooldown,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= uint32(g.cfg.Failures) }, //nolint:gosec // validated ≥ 1
		IsSuccessful: func(err error) bool {
			return err == nil || !failure(err)
		},
		IsExcluded: isCallerDone,
	})
	g.breakers[destination] = b

	return b
}

// isCallerDone reports whether err is the caller giving up: that says
// nothing of the destination.
func isCallerDone(err error) bool {
	return stderrors.Is(err, context.Canceled)
}

// Breaker guards the calls to one destination.
type Breaker struct {
	name    string
	guards  *Guards
	failure func(error) bool
	cb      *gobreaker.CircuitBreaker[any]
}

// Name is the destination's name.
func (b *Breaker) Name() string { return b.name }

// Open reports whether the breaker refuses calls now.
func (b *Breaker) Open() bool { return b.cb.State() == gobreaker.StateOpen }

// Do runs fn unless the breaker is open, and counts its outcome. While the
// breaker is open, or half-open with its trial call in flight, Do returns
// an Unavailable domain error wrapping ErrOpen at once.
func (b *Breaker) Do(ctx context.Context, fn func(context.Context) error) error {
	var called error

	_, err := b.cb.Execute(func() (any, error) {
		called = fn(ctx)

		return nil, called
	})
	if err != nil && called == nil { // refused: fn did not run
		b.guards.rejected.Add(ctx, 1, metric.WithAttributes(attribute.String("destination", b.name)))

		return errors.Unavailable(b.name+" is unavailable: too many recent failures",
			errors.WithRetryAfter(b.guards.cfg.Cooldown), errors.WithCause(ErrOpen))
	}

	return called
}

// Retry runs fn, through the breaker of destination when b is not nil,
// and tries it again while retryable says its error is transient, up to
// Config.Retries times, with exponential backoff and jitter. It stops at
// once when the breaker opens or ctx ends. Only calls that are safe to
// repeat may be retried.
func (g *Guards) Retry(ctx context.Context, b *Breaker, retryable func(error) bool, fn func(context.Context) error) error {
	attempt := func(ctx context.Context) error {
		if b == nil {
			return fn(ctx)
		}

		return b.Do(ctx, fn)
	}

	if g.cfg.Retries == 0 {
		return attempt(ctx)
	}

	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval, bo.MaxInterval, bo.RandomizationFactor = g.cfg.Backoff, g.cfg.MaxBackoff, 0.5

	tries := 0

	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		if tries > 0 {
			g.retries.Add(ctx, 1, metric.WithAttributes(attribute.String("destination", destination(b))))
		}

		tries++

		err := attempt(ctx)
		if err != nil && (stderrors.Is(err, ErrOpen) || !retryable(err) || ctx.Err() != nil) {
			return struct{}{}, backoff.Permanent(err)
		}

		return struct{}{}, err
	}, backoff.WithBackOff(bo), backoff.WithMaxTries(uint(g.cfg.Retries)+1), backoff.WithMaxElapsedTime(0))

	return unwrapPermanent(err)
}

// unwrapPermanent returns the error backoff.Permanent wrapped, so that
// callers see fn's own error.
func unwrapPermanent(err error) error {
	var p *backoff.PermanentError
	if stderrors.As(err, &p) {
		return p.Err
	}

	return err
}

func destination(b *Breaker) string {
	if b == nil {
		return ""
	}

	return b.name
}
