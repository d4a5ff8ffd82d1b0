// Package natsbus is the NATS JetStream transport of the event bus
// (internal/events), chosen with EVENTS_TRANSPORT=nats: give Transport{} to
// events.New.
//
// The outbox in PostgreSQL stays the source of truth. A relay in every
// consuming process hands due deliveries of every subscriber to one
// JetStream work-queue stream of the cluster (events.ClusterID; Stream
// names it), on subjects modulith.<cluster>.deliver.<subscriber>.<event>,
// marking them published (events.deliveries.published_at) in the claiming
// transaction. One durable pull consumer per subscriber, shared by the
// replicas that run it, hands each message to one of them, which handles it
// through the bus (events.Deliveries.Handle: the delivery row, locked, is
// the record that the handler ran) and then acks, naks with the retry
// policy's delay, or terminates a dead delivery.
package natsbus

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/modulith/modulith/internal/events"
)

const (
	// dedupWindow is how long JetStream drops a republished message with
	// the same Nats-Msg-Id (a relay retrying a batch whose acks it lost).
	dedupWindow = 2 * time.Minute
	// ackWaitMargin is added to HandlerTimeout for the consumer's AckWait:
	// a message is redelivered only when its handler cannot still be running.
	ackWaitMargin = 10 * time.Second
	// setupTimeout bounds creating the stream and consumers at start
	// (connecting has nats.go's own timeout); reconnectWait spaces
	// reconnection attempts.
	setupTimeout  = 10 * time.Second
	reconnectWait = time.Second
	// drainTimeout bounds flushing acks and unsubscribing at shutdown.
	drainTimeout = 5 * time.Second
	// publishTimeout bounds the wait for JetStream to acknowledge a
	// relayed batch; fetchWait is how long one pull request waits.
	publishTimeout = 5 * time.Second
	fetchWait      = 5 * time.Second
)

// Transport is the NATS JetStream transport, for the bus's configuration
// EVENTS_TRANSPORT=nats (events.TransportNATS) at NATS_URL. It holds no
// state: each bus it starts for gets a connection of its own.
type Transport struct{}

// Name is events.TransportNATS.
func (Transport) Name() string { return events.TransportNATS }

// Start connects to NATS and creates (or updates) the stream and the
// subscribers' consumers; the function it returns runs the relay and the
// fetch loops until its context ends, then drains the connection.
func (Transport) Start(ctx context.Context, d *events.Deliveries) (func(context.Context), error) {
	t, err := newCarrier(ctx, d)
	if err != nil {
		return nil, err
	}

	setupCtx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()

	consumers, err := t.ensure(setupCtx)
	if err != nil {
		t.nc.Close()

		return nil, fmt.Errorf("events: set up JetStream at NATS_URL %s: %w", redactURL(t.cfg.NATSURL), err)
	}

	return func(ctx context.Context) { t.run(ctx, consumers) }, nil
}

// names are the JetStream names the transport uses: those of the cluster
// (clusterNames).
type names struct {
	stream string
	prefix string
}

// carrier carries one bus's deliveries through JetStream.
type carrier struct {
	d     *events.Deliveries
	cfg   events.Config
	log   *slog.Logger
	nc    *nats.Conn
	js    jetstream.JetStream
	names names
	subs  []string // the subscribers this process runs

	closed chan struct{} // closed by the connection's closed handler

	ensureMu sync.Mutex // one (re)creation of the stream and consumers at a time
}

// newCarrier returns a carrier of d's deliveries, connected to NATS.
func newCarrier(ctx context.Context, d *events.Deliveries) (*carrier, error) {
	id, err := events.ClusterID(ctx, d.Pool())
	if err != nil {
		return nil, err
	}

	t := &carrier{
		d: d, cfg: d.Config(), log: d.Logger(), names: clusterNames(id), subs: d.Subscribers(),
		closed: make(chan struct{}),
	}

	if err := t.connect(); err != nil {
		return nil, err
	}

	return t, nil
}

// connect opens the connection; nats.go reconnects forever after it once
// succeeded, and fetch loops and the relay carry on when it is back.
func (t *carrier) connect() error {
	log := t.log

	nc, err := nats.Connect(t.cfg.NATSURL,
		nats.Name("modulith-events"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(reconnectWait),
		// No buffering while disconnected: a pull request or an ack replayed
		// after a reconnect would be stale; they fail now and are retried.
		nats.ReconnectBufSize(-1),
		nats.DrainTimeout(drainTimeout),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("events: NATS disconnected; reconnecting", "error", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("events: NATS reconnected", "server", c.ConnectedUrlRedacted()) }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Warn("events: NATS error", "error", err)
		}),
		nats.ClosedHandler(func(*nats.Conn) { close(t.closed) }),
	)
	if err != nil {
		return fmt.Errorf("events: connect to NATS at NATS_URL %s: %w", redactURL(t.cfg.NATSURL), err)
	}

	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(publishTimeout))
	if err != nil {
		nc.Close()

		return fmt.Errorf("events: JetStream: %w", err)
	}

	t.nc, t.js = nc, js

	return nil
}

// run owns the transport's goroutines: the NOTIFY listener, the relay and
// Workers fetch loops per subscriber; it drains the connection once they
// all stopped.
func (t *carrier) run(ctx context.Context, consumers map[string]jetstream.Consumer) {
	var wg sync.WaitGroup

	wake := make(chan struct{}, 1)

	wg.Go(func() {
		t.d.Listen(ctx, func() {
			select {
			case wake <- struct{}{}:
			default: // already due to run
			}
		})
	})
	wg.Go(func() { t.relayLoop(ctx, wake) })

	for _, sub := range t.subs {
		for range t.cfg.Workers {
			wg.Go(func() { t.fetchLoop(ctx, sub, consumers[sub]) })
		}
	}

	wg.Wait()
	t.drain()
}

// drain flushes pending acks and closes the connection.
func (t *carrier) drain() {
	if err := t.nc.Drain(); err != nil {
		t.nc.Close()

		return
	}

	timer := time.NewTimer(drainTimeout + time.Second)
	defer timer.Stop()

	select {
	case <-t.closed:
	case <-timer.C:
		t.nc.Close()
	}
}

// redactURL hides passwords in a NATS URL (a comma-separated list of
// servers); a server URL that does not parse is not shown, as it may hold one.
func redactURL(raw string) string {
	servers := strings.Split(raw, ",")
	for i, s := range servers {
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil {
			servers[i] = "(unparsable)"

			continue
		}

		servers[i] = u.Redacted()
	}

	return strings.Join(servers, ",")
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()

	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
