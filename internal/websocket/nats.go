package websocket

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
)

// natsTimeout bounds a flush (publish or subscribe reaching the server)
// when the caller's context has no earlier deadline.
const natsTimeout = 5 * time.Second

// NATSFanout exchanges envelopes between replicas with NATS core
// publish/subscribe on one subject: every replica subscribes, and a
// message reaches them all. The client reconnects by itself; messages
// published while a replica is disconnected do not reach it.
type NATSFanout struct {
	url     string
	subject string
	hub     *Hub
	logger  *slog.Logger

	nc     *nats.Conn
	closed chan struct{}
}

// NewNATSFanout returns a fan-out on subject of the NATS server at url
// that hands what it receives to hub.
func NewNATSFanout(url, subject string, hub *Hub, logger *slog.Logger) *NATSFanout {
	return &NATSFanout{url: url, subject: subject, hub: hub, logger: logger}
}

// Start connects and subscribes, and returns once the server has the
// subscription, so nothing published afterwards is missed.
func (f *NATSFanout) Start(ctx context.Context) error {
	closed := make(chan struct{})

	nc, err := nats.Connect(f.url,
		nats.Name("modulith-websocket"),
		nats.MaxReconnects(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				f.logger.Warn("websocket: fan-out disconnected from NATS; reconnecting", "error", err)
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) { f.logger.Info("websocket: fan-out reconnected to NATS") }),
		nats.ClosedHandler(func(*nats.Conn) { close(closed) }),
	)
	if err != nil {
		return fmt.Errorf("websocket fan-out: connect to NATS: %w", err)
	}

	if _, err := nc.Subscribe(f.subject, func(m *nats.Msg) { f.hub.receive(m.Data) }); err != nil {
		nc.Close()

		return fmt.Errorf("websocket fan-out: subscribe %s: %w", f.subject, err)
	}

	if err := flush(ctx, nc); err != nil {
		nc.Close()

		return fmt.Errorf("websocket fan-out: subscribe %s: %w", f.subject, err)
	}

	f.nc, f.closed = nc, closed

	return nil
}

// Publish sends env to every subscribed replica and waits until the server
// has it. An envelope over the server's maximum payload fails with
// ErrMessageTooLarge.
func (f *NATSFanout) Publish(ctx context.Context, env Envelope) error {
	if f.nc == nil {
		return errors.New("websocket fan-out: not started")
	}

	payload, err := encodeEnvelope(env, f.nc.MaxPayload())
	if err != nil {
		return err
	}

	if err := f.nc.Publish(f.subject, payload); err != nil {
		return fmt.Errorf("publish %s: %w", f.subject, err)
	}

	if err := flush(ctx, f.nc); err != nil {
		return fmt.Errorf("publish %s: %w", f.subject, err)
	}

	return nil
}

func flush(ctx context.Context, nc *nats.Conn) error {
	ctx, cancel := context.WithTimeout(ctx, natsTimeout)
	defer cancel()

	if err := nc.FlushWithContext(ctx); err != nil {
		return fmt.Errorf("flush: %w", err)
	}

	return nil
}

// Close drains the subscription (messages already received still reach the
// hub) and closes the connection, waiting until ctx ends.
func (f *NATSFanout) Close(ctx context.Context) error {
	if f.nc == nil {
		return nil
	}

	if err := f.nc.Drain(); err != nil {
		f.nc.Close() // already closed, or reconnecting: nothing to drain
	}

	select {
	case <-f.closed:
		return nil
	case <-ctx.Done():
		f.nc.Close()

		return fmt.Errorf("websocket: fan-out still draining: %w", ctx.Err())
	}
}
