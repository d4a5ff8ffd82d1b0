package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.jetify.com/typeid"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"

	apperrors "github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/secrets"
)

// subscriberName is what a subscriber may be called: it names delivery
// rows and, with NATS, a durable consumer.
var subscriberName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)

// ErrClosed is returned by Publish after Close.
var ErrClosed = apperrors.Unavailable("event bus is closed")

// Bus publishes events durably and delivers them to subscribers.
type Bus struct {
	pool   *pgxpool.Pool
	cfg    Config
	logger *slog.Logger
	sealer *sealer
	policy RetryPolicy
	now    func() time.Time

	waker     *waker
	transport Transport

	mu      sync.Mutex
	subs    map[string]*subscriber // by subscriber name
	started bool
	closed  bool
	cancel  context.CancelFunc
	done    sync.WaitGroup
	backlog metric.Registration // the backlog gauges' callback, when consuming
}

// subscriber is a named consumer and the events it handles.
type subscriber struct {
	name     string
	handlers map[string]Handler // by event name
}

func (s *subscriber) eventNames() []string {
	names := make([]string, 0, len(s.handlers))
	for n := range s.handlers {
		names = append(names, n)
	}

	sort.Strings(names)

	return names
}

// New returns a bus storing events through pool. A key derived from
// secret, the platform secret, seals event secrets; it follows the secret's
// rotations.
// Deliveries travel by the transport cfg.Transport names: the built-in
// PostgreSQL dispatcher, or one of transports (natsbus.Transport{} for
// "nats"); New fails when none of them has that name.
func New(pool *pgxpool.Pool, cfg Config, secret *secrets.Secret, logger *slog.Logger, transports ...Transport) (*Bus, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}

	t, err := transportFor(cfg.Transport, transports)
	if err != nil {
		return nil, err
	}

	if secret == nil {
		return nil, errors.New("events: the platform secret is required")
	}

	b := &Bus{
		pool: pool, cfg: cfg, logger: logger, sealer: newSealer(secret), policy: cfg.retryPolicy(),
		now: time.Now, subs: make(map[string]*subscriber), transport: t,
	}
	b.waker = newWaker(pool, b)

	return b, nil
}

// Config is the bus's configuration (its transport decides how other
// cluster-wide messages travel too).
func (b *Bus) Config() Config { return b.cfg }

// Subscribe makes subscriber handle events named event. The subscriber name
// is durable: deliveries are recorded under it, so renaming a subscriber
// starts it afresh. Call it before Start.
func (b *Bus) Subscribe(subscriberName, event string, h Handler) error {
	if !validSubscriber(subscriberName) {
		return fmt.Errorf("events: subscriber name %q must match %s", subscriberName, subscriberNamePattern())
	}

	if event == "" || h == nil {
		return fmt.Errorf("events: subscriber %s needs an event name and a handler", subscriberName)
	}

	b.mu.Lock()
	defer b.mu.Unlock()

	if b.started {
		return fmt.Errorf("events: subscriber %s subscribed after Start", subscriberName)
	}

	s := b.subs[subscriberName]
	if s == nil {
		s = &subscriber{name: subscriberName, handlers: make(map[string]Handler)}
		b.subs[subscriberName] = s
	}

	if _, dup := s.handlers[event]; dup {
		return fmt.Errorf("events: subscriber %s already handles %s", subscriberName, event)
	}

	s.handlers[event] = h

	return nil
}

func validSubscriber(name string) bool { return subscriberName.MatchString(name) }

func subscriberNamePattern() string { return subscriberName.String() }

// subscribers returns the subscribers, sorted by name.
func (b *Bus) subscribers() []*subscriber {
	b.mu.Lock()
	defer b.mu.Unlock()

	out := make([]*subscriber, 0, len(b.subs))
	for _, s := range b.subs {
		out = append(out, s)
	}

	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })

	return out
}

// Publish stores the event p in tx, the transaction of the change it
// records: the event exists, and will be delivered to every subscriber of
// its name, if and only if tx commits.
func (b *Bus) Publish(ctx context.Context, tx pgx.Tx, p Payload) error {
	e, err := encode(p)
	if err != nil {
		return err
	}

	return b.PublishRaw(ctx, tx, e)
}

// PublishRaw stores a raw event in tx, like Publish.
func (b *Bus) PublishRaw(ctx context.Context, tx pgx.Tx, e Raw) error {
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()

	if closed {
		return ErrClosed
	}

	if err := b.complete(&e); err != nil {
		return err
	}

	trace := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, trace)

	sealed, err := b.sealer.seal(e.ID, e.Secret)
	if err != nil {
		return err
	}

	xid, err := insertEvent(ctx, tx, e, sealed, trace)
	if err != nil {
		return fmt.Errorf("publish %s: %w", e.Name, err)
	}

	b.waker.add(xid) // wake dispatchers everywhere once tx commits
	published.Add(ctx, 1, eventAttr(e.Name))

	return nil
}

// complete checks e and fills its defaults.
func (b *Bus) complete(e *Raw) error {
	if e.Name == "" {
		return fmt.Errorf("publish: event has no name")
	}

	if e.ID == "" {
		id, err := typeid.WithPrefix(IDPrefix)
		if err != nil {
			return fmt.Errorf("publish %s: new event ID: %w", e.Name, err)
		}

		e.ID = id.String()
	}

	if e.Version == 0 {
		e.Version = 1
	}

	if e.OccurredAt.IsZero() {
		e.OccurredAt = b.now().UTC()
	}

	if len(e.Payload) == 0 {
		e.Payload = json.RawMessage("{}")
	}

	return nil
}

// Start registers this process's subscribers cluster-wide, starts the
// maintenance that purges old rows and erases secrets and, unless
// Config.Consume is off, starts the transport delivering to the
// subscribers; it returns the transport's error.
func (b *Bus) Start(ctx context.Context) error {
	b.mu.Lock()
	if b.started {
		b.mu.Unlock()

		return fmt.Errorf("events: bus already started")
	}

	b.started = true
	b.mu.Unlock()

	subs := b.subscribers()
	if err := registerSubscriptions(ctx, b.pool, subs); err != nil {
		return fmt.Errorf("events: register subscriptions: %w", err)
	}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))

	b.mu.Lock()
	b.cancel = cancel
	b.mu.Unlock()

	b.goRun(runCtx, "maintenance", b.maintain)
	b.goRun(runCtx, "waker", b.waker.run)

	if !b.cfg.Consume || len(subs) == 0 {
		return nil
	}

	startSeries(ctx, subs)

	reg, err := b.observeBacklog(subs)
	if err != nil {
		return err
	}

	b.mu.Lock()
	b.backlog = reg
	b.mu.Unlock()

	run, err := b.transport.Start(runCtx, newDeliveries(b, subs))
	if err != nil {
		return err
	}

	b.goRun(runCtx, "transport "+b.transport.Name(), run)

	return nil
}

// goRun runs fn in a goroutine the bus owns until Close.
func (b *Bus) goRun(ctx context.Context, what string, fn func(context.Context)) {
	b.done.Add(1)

	go func() {
		defer b.done.Done()

		fn(ctx)
		b.logger.DebugContext(ctx, "events: stopped", "loop", what)
	}()
}

// Close stops accepting events and delivering them, and waits until
// running handlers finish or ctx ends.
func (b *Bus) Close(ctx context.Context) error {
	b.mu.Lock()
	b.closed = true
	cancel, reg := b.cancel, b.backlog
	b.mu.Unlock()

	if cancel != nil {
		cancel()
	}

	if reg != nil {
		if err := reg.Unregister(); err != nil {
			b.logger.WarnContext(ctx, "events: unregister backlog metrics", "error", err)
		}
	}

	stopped := make(chan struct{})

	go func() {
		b.done.Wait()
		close(stopped)
	}()

	select {
	case <-stopped:
		return nil
	case <-ctx.Done():
		return errors.Join(errors.New("events: handlers still running at shutdown"), ctx.Err())
	}
}
