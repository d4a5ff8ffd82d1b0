package events

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The NATS transport: the outbox stays the source of truth. A relay in
// every consuming process hands due deliveries of every subscriber to one
// JetStream work-queue stream of the cluster (ClusterID), on subjects
// modulith.<cluster>.deliver.<subscriber>.<event>, marking them
// published in the claiming transaction; one durable pull consumer per
// subscriber, shared by the replicas that run it, hands each message to one
// of them, which handles it like the PostgreSQL dispatcher does (the
// delivery row, locked, is the record that the handler ran) and then acks,
// naks with the retry policy's delay, or terminates a dead delivery.
const (
	// natsStream begins the name of the cluster's stream (clusterNATSNames).
	natsStream = "MODULITH_DELIVERIES"
	// dedupWindow is how long JetStream drops a republished message with
	// the same Nats-Msg-Id (a relay retrying a batch whose acks it lost).
	dedupWindow = 2 * time.Minute
	// ackWaitMargin is added to HandlerTimeout for the consumer's AckWait:
	// a message is redelivered only when its handler cannot still be running.
	ackWaitMargin = 10 * time.Second
	// natsSetupTimeout bounds creating the stream and consumers at start
	// (connecting has nats.go's own timeout); natsReconnectWait spaces
	// reconnection attempts.
	natsSetupTimeout  = 10 * time.Second
	natsReconnectWait = time.Second
	// natsDrainTimeout bounds flushing acks and unsubscribing at shutdown.
	natsDrainTimeout = 5 * time.Second
	// publishTimeout bounds the wait for JetStream to acknowledge a
	// relayed batch; fetchWait is how long one pull request waits.
	publishTimeout = 5 * time.Second
	fetchWait      = 5 * time.Second
)

// natsNames are the JetStream names the transport uses: those of the
// cluster (clusterNATSNames).
type natsNames struct {
	stream string
	prefix string
}

// natsTransport carries deliveries through JetStream for one bus.
type natsTransport struct {
	bus   *Bus
	nc    *nats.Conn
	js    jetstream.JetStream
	names natsNames
	subs  []*subscriber

	closed chan struct{} // closed by the connection's closed handler

	ensureMu sync.Mutex // one (re)creation of the stream and consumers at a time
}

// startNATS connects to NATS, creates (or updates) the stream and the
// subscribers' consumers, and runs the relay and the fetch loops until ctx
// ends; the connection is drained at the end.
func (b *Bus) startNATS(ctx context.Context, subs []*subscriber) error {
	id, err := ClusterID(ctx, b.pool)
	if err != nil {
		return err
	}

	t := &natsTransport{bus: b, names: clusterNATSNames(id), subs: subs, closed: make(chan struct{})}

	if err := t.connect(); err != nil {
		return err
	}

	setupCtx, cancel := context.WithTimeout(ctx, natsSetupTimeout)
	defer cancel()

	consumers, err := t.ensure(setupCtx)
	if err != nil {
		t.nc.Close()

		return fmt.Errorf("events: set up JetStream at NATS_URL %s: %w", redactURL(b.cfg.NATSURL), err)
	}

	b.goRun(ctx, "nats", func(ctx context.Context) { t.run(ctx, consumers) })

	return nil
}

// connect opens the connection; nats.go reconnects forever after it once
// succeeded, and fetch loops and the relay carry on when it is back.
func (t *natsTransport) connect() error {
	log := t.bus.logger

	nc, err := nats.Connect(t.bus.cfg.NATSURL,
		nats.Name("modulith-events"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(natsReconnectWait),
		// No buffering while disconnected: a pull request or an ack replayed
		// after a reconnect would be stale; they fail now and are retried.
		nats.ReconnectBufSize(-1),
		nats.DrainTimeout(natsDrainTimeout),
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
		return fmt.Errorf("events: connect to NATS at NATS_URL %s: %w", redactURL(t.bus.cfg.NATSURL), err)
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
func (t *natsTransport) run(ctx context.Context, consumers map[string]jetstream.Consumer) {
	var wg sync.WaitGroup

	w := &wakers{}
	wake := w.add()

	wg.Go(func() { t.bus.listen(ctx, w) })
	wg.Go(func() { t.relayLoop(ctx, wake) })

	for _, s := range t.subs {
		for range t.bus.cfg.Workers {
			wg.Go(func() { t.fetchLoop(ctx, s, consumers[s.name]) })
		}
	}

	wg.Wait()
	t.drain()
}

// drain flushes pending acks and closes the connection.
func (t *natsTransport) drain() {
	if err := t.nc.Drain(); err != nil {
		t.nc.Close()

		return
	}

	timer := time.NewTimer(natsDrainTimeout + time.Second)
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
