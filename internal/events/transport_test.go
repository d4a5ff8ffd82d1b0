package events_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/modulith/modulith/internal/bustest"
	"github.com/modulith/modulith/internal/events"
)

// seamTransport carries deliveries through the seam alone, the simplest
// way: woken by Deliveries.Listen (it has no timer), it locks its
// subscribers' due deliveries and hands each to Deliveries.Handle.
type seamTransport struct {
	startErr error
	started  chan *events.Deliveries
	stopped  chan struct{} // closed when run returns
}

func newSeamTransport() *seamTransport {
	return &seamTransport{started: make(chan *events.Deliveries, 1), stopped: make(chan struct{})}
}

func (*seamTransport) Name() string { return events.TransportNATS }

func (f *seamTransport) Start(_ context.Context, d *events.Deliveries) (func(context.Context), error) {
	if f.startErr != nil {
		return nil, f.startErr
	}

	f.started <- d

	return func(ctx context.Context) {
		defer close(f.stopped)

		var wg sync.WaitGroup

		wake := make(chan struct{}, 1)

		wg.Go(func() {
			d.Listen(ctx, func() {
				select {
				case wake <- struct{}{}:
				default:
				}
			})
		})

		for {
			select {
			case <-ctx.Done():
				wg.Wait()

				return
			case <-wake:
			}

			if err := pgx.BeginFunc(ctx, d.Pool(), func(tx pgx.Tx) error { return carryDue(ctx, tx, d) }); err != nil && ctx.Err() == nil {
				d.Logger().Error("seam transport", "error", err)
			}
		}
	}, nil
}

// carryDue handles the due deliveries of d's subscribers in tx.
func carryDue(ctx context.Context, tx pgx.Tx, d *events.Deliveries) error {
	rows, err := tx.Query(ctx, `
		SELECT d.subscriber, d.event_id, o.name, o.version, o.payload, o.secret, coalesce(o.ordering_key, ''),
		       o.trace, o.occurred_at, d.attempts
		FROM events.deliveries d JOIN events.outbox o ON o.id = d.event_id
		WHERE d.subscriber = ANY($1) AND d.state IN ('pending', 'failed') AND d.next_attempt_at <= now()
		ORDER BY d.seq FOR UPDATE OF d SKIP LOCKED`, d.Subscribers())
	if err != nil {
		return fmt.Errorf("claim: %w", err)
	}

	type due struct {
		subscriber string
		delivery   events.Delivery
	}

	batch, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (due, error) {
		var x due

		c := &x.delivery
		err := r.Scan(&x.subscriber, &c.EventID, &c.Name, &c.Version, &c.Payload, &c.Sealed, &c.OrderingKey,
			&c.Trace, &c.OccurredAt, &c.Attempts)

		return x, err
	})
	if err != nil {
		return fmt.Errorf("claim: %w", err)
	}

	for _, x := range batch {
		ok, err := d.Handle(ctx, tx, x.subscriber, x.delivery)
		if err != nil {
			return err
		}

		if ok {
			if err := d.Done(ctx, tx, x.subscriber, []string{x.delivery.EventID}, nil); err != nil {
				return err
			}
		}
	}

	return nil
}

func TestNewNeedsTheConfiguredTransport(t *testing.T) {
	t.Parallel()

	nats := bustest.FastConfig()
	nats.Transport, nats.NATSURL = events.TransportNATS, "nats://127.0.0.1:4222"

	tests := []struct {
		name       string
		cfg        events.Config
		transports []events.Transport
		ok         bool
	}{
		{"postgres, built in", bustest.FastConfig(), nil, true},
		{"postgres among others", bustest.FastConfig(), []events.Transport{newSeamTransport()}, true},
		{"nats given", nats, []events.Transport{nil, newSeamTransport()}, true},
		{"nats not given", nats, nil, false},
	}
	for _, tt := range tests {
		_, err := events.New(nil, tt.cfg, sealKey, slog.New(slog.DiscardHandler), tt.transports...)
		if (err == nil) != tt.ok {
			t.Errorf("%s: New() = %v, want ok %t", tt.name, err, tt.ok)
		}

		if err != nil && (!strings.Contains(err.Error(), "EVENTS_TRANSPORT") || !strings.Contains(err.Error(), "natsbus")) {
			t.Errorf("%s: New() = %q, want an error naming EVENTS_TRANSPORT and the package to pass", tt.name, err)
		}
	}
}

func TestTransportStartFailureFailsStart(t *testing.T) {
	t.Parallel()

	db := bustest.NewDB(t)
	cfg := bustest.FastConfig()
	cfg.Transport, cfg.NATSURL = events.TransportNATS, "nats://127.0.0.1:4222"

	errDown := errors.New("transport down")
	f := newSeamTransport()
	f.startErr = errDown

	bus := bustest.NewBus(t, db.Pool, cfg, f)
	bustest.Subscribe(t, bus, "ledger", "order.placed", nopHandler)

	if err := bus.Start(t.Context()); !errors.Is(err, errDown) {
		t.Errorf("Start() = %v, want %v", err, errDown)
	}

	bustest.Close(t, bus)
}

// TestTransportCarriesDeliveriesThroughTheSeam runs a transport that knows
// the bus only by its exported seam: the bus wakes it, opens the secrets,
// runs the handler in the transport's transaction, records the outcomes,
// and waits for it at Close.
func TestTransportCarriesDeliveriesThroughTheSeam(t *testing.T) {
	t.Parallel()

	db := bustest.NewDB(t)
	db.CreateEffects()

	cfg := bustest.FastConfig()
	cfg.Transport, cfg.NATSURL = events.TransportNATS, "nats://127.0.0.1:4222"
	cfg.BackoffBase, cfg.BackoffMax = time.Hour, time.Hour // a retry stays deferred

	f := newSeamTransport()

	bus := bustest.NewBus(t, db.Pool, cfg, f)
	secrets := make(chan map[string]string, 1)

	bustest.Subscribe(t, bus, "ledger", "order.placed", func(ctx context.Context, e events.Raw) error {
		secrets <- e.Secret

		return bustest.RecordEffect(ctx, e)
	})
	bustest.Subscribe(t, bus, "audit", "order.cancelled", func(_ context.Context, e events.Raw) error {
		if label, _ := bustest.LabelOf(e); label == "permanent" {
			return events.Permanent(errBoom)
		}

		return errBoom
	})

	if err := bus.Start(t.Context()); err != nil {
		t.Fatalf("Start() = %v", err)
	}

	checkDeliveries(t, bustest.Receive(t, f.started))

	placed := events.Raw{ID: bustest.NewEventID(t), Name: "order.placed", Secret: map[string]string{"code": "482913"}}
	db.PublishRaw(bus, placed)

	if got := db.AwaitState("ledger", placed.ID, events.StateDelivered); got.Attempts != 1 {
		t.Errorf("delivered after %d attempts, want 1", got.Attempts)
	}

	if got := bustest.Receive(t, secrets); !cmp.Equal(got, placed.Secret) {
		t.Errorf("handler's Secret = %v, want %v", got, placed.Secret)
	}

	if got := db.Effects(placed.ID); !cmp.Equal(got, []int{1}) {
		t.Errorf("effects = attempts %v, want [1]", got)
	}

	if n := db.Count("SELECT count(*) FROM events.processed WHERE event_id = $1", placed.ID); n != 1 {
		t.Errorf("processed records of %s = %d, want 1", placed.ID, n)
	}

	checkFailuresRecorded(t, db, bus)

	bustest.Close(t, bus)

	select {
	case <-f.stopped:
	default:
		t.Error("Close() returned before the transport's run did")
	}
}

// checkDeliveries checks what a transport learns of the bus at Start.
func checkDeliveries(t *testing.T, d *events.Deliveries) {
	t.Helper()

	if diff := cmp.Diff([]string{"audit", "ledger"}, d.Subscribers()); diff != "" {
		t.Errorf("Subscribers() (-want +got):\n%s", diff)
	}

	handles := []struct {
		subscriber, event string
		want              bool
	}{
		{"ledger", "order.placed", true},
		{"ledger", "order.cancelled", false},
		{"nobody", "order.placed", false},
	}
	for _, tt := range handles {
		if got := d.Handles(tt.subscriber, tt.event); got != tt.want {
			t.Errorf("Handles(%q, %q) = %t, want %t", tt.subscriber, tt.event, got, tt.want)
		}
	}

	if got := d.Config().Transport; got != events.TransportNATS {
		t.Errorf("Config().Transport = %q, want %q", got, events.TransportNATS)
	}

	err := pgx.BeginFunc(t.Context(), d.Pool(), func(tx pgx.Tx) error {
		_, err := d.Handle(t.Context(), tx, "nobody", events.Delivery{EventID: "evt_x", Name: "order.placed"})

		return err
	})
	if err == nil {
		t.Error("Handle(nobody) = nil error, want the unknown subscriber refused")
	}
}

// checkFailuresRecorded publishes events audit's handler fails: a plain
// failure is scheduled for a retry, a Permanent one is dead at once.
func checkFailuresRecorded(t *testing.T, db *bustest.DB, bus *events.Bus) {
	t.Helper()

	flaky := events.Raw{ID: bustest.NewEventID(t), Name: "order.cancelled", Payload: bustest.Labelled("flaky")}
	permanent := events.Raw{ID: bustest.NewEventID(t), Name: "order.cancelled", Payload: bustest.Labelled("permanent")}

	db.PublishRaw(bus, flaky)
	db.PublishRaw(bus, permanent)

	if d := db.AwaitState("audit", flaky.ID, events.StateFailed); d.Attempts != 1 || !d.Deferred {
		t.Errorf("failed delivery %+v, want attempt 1 recorded and the next one deferred", d)
	}

	if d := db.AwaitState("audit", permanent.ID, events.StateDead); d.Attempts != 1 || !strings.Contains(d.LastError, errBoom.Error()) {
		t.Errorf("permanent failure: delivery %+v, want dead after 1 attempt with the handler's error", d)
	}
}
