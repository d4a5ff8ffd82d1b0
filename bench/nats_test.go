package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/modulith/modulith/internal/bustest"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/natstest"
)

// natsTimeout bounds one JetStream administration call or pull.
const natsTimeout = 5 * time.Second

func randomHex(b *testing.B) string {
	b.Helper()

	buf := make([]byte, 6)
	if _, err := rand.Read(buf); err != nil {
		b.Fatal(err)
	}

	return hex.EncodeToString(buf)
}

// dropStreamAfter deletes, on NATS, the stream of the benchmark's
// database when the benchmark ends: each benchmark database is a cluster
// of its own (bustest.NATSStream). Call it before startBus, whose cleanup
// (closing the bus) must run first.
func dropStreamAfter(b *testing.B, pool *pgxpool.Pool, transport string) {
	b.Helper()

	if transport == events.TransportNATS {
		bustest.NATSStream(b, pool)
	}
}

// jsQueue is bare JetStream, what the baselines use: a work-queue stream
// on file storage, as the transport's, and one durable pull consumer,
// deleted when the benchmark ends.
type jsQueue struct {
	js       jetstream.JetStream
	subject  string
	consumer jetstream.Consumer
	data     []byte
}

func newJSQueue(b *testing.B) *jsQueue {
	b.Helper()

	js := natstest.JetStream(b)
	suffix := randomHex(b)
	name := "BENCH_" + strings.ToUpper(suffix)

	ctx, cancel := context.WithTimeout(context.Background(), natsTimeout)
	defer cancel()

	s, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: name, Subjects: []string{"bench" + suffix + ".>"},
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage,
	})
	if err != nil {
		b.Fatal(err)
	}

	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), natsTimeout)
		defer cancel()

		if err := js.DeleteStream(ctx, name); err != nil {
			b.Errorf("delete stream %s: %v", name, err)
		}
	})

	c, err := s.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable: "bench", AckPolicy: jetstream.AckExplicitPolicy, MaxDeliver: -1, MaxAckPending: -1,
	})
	if err != nil {
		b.Fatal(err)
	}

	// About the size of a relayed delivery: the event and its routing.
	data, err := json.Marshal(map[string]any{
		"subscriber": "bench", "event_id": "event_01m7y8sgkde0kr97y8kcjykkyv", "name": "bench.delivered",
		"version": 1, "payload": benchPayload, "occurred_at": time.Now().UTC(), "attempts": 0,
	})
	if err != nil {
		b.Fatal(err)
	}

	return &jsQueue{js: js, subject: "bench" + suffix + ".bench.delivered", consumer: c, data: data}
}

// jetStreamDelivery times n messages through bare JetStream: published
// asynchronously in batches of 32, each batch's acknowledgements awaited
// (as the relay does), while two workers pull batches of 32 and ack each
// message (the least a consumer can do). It returns messages per second.
func jetStreamDelivery(b *testing.B, q *jsQueue, n int) float64 {
	b.Helper()

	var (
		handled atomic.Int64
		wg      sync.WaitGroup
		end     atomic.Int64 // UnixNano when the last message arrived
	)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// The workers stop when the last message arrives, maybe before the
	// publisher has its last acknowledgements.
	consumeCtx, stop := context.WithCancel(ctx)
	defer stop()

	start := time.Now()

	wg.Go(func() {
		if err := q.publishBatches(ctx, n); err != nil {
			b.Error(err)
			stop()
		}
	})

	for range 2 {
		wg.Go(func() {
			for consumeCtx.Err() == nil {
				q.pull(consumeCtx, 32, func(msg jetstream.Msg) {
					_ = msg.Ack() // as the transport: acks are not awaited

					if handled.Add(1) == int64(n) {
						end.Store(time.Now().UnixNano())
						stop()
					}
				})
			}
		})
	}

	wg.Wait()

	if handled.Load() < int64(n) {
		b.Fatalf("bare JetStream: %d of %d messages consumed", handled.Load(), n)
	}

	return float64(n) / time.Unix(0, end.Load()).Sub(start).Seconds()
}

func (q *jsQueue) publishBatches(ctx context.Context, n int) error {
	for sent := 0; sent < n; {
		futures := make([]jetstream.PubAckFuture, 0, 32)

		for ; sent < n && len(futures) < 32; sent++ {
			f, err := q.js.PublishAsync(q.subject, q.data)
			if err != nil {
				return err
			}

			futures = append(futures, f)
		}

		for _, f := range futures {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				return err
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}

	return nil
}

// pull waits up to natsTimeout for up to batch messages and hands each to
// fn; an expired or cancelled pull returns nothing.
func (q *jsQueue) pull(ctx context.Context, batch int, fn func(jetstream.Msg)) {
	ctx, cancel := context.WithTimeout(ctx, natsTimeout)
	defer cancel()

	msgs, err := q.consumer.Fetch(batch, jetstream.FetchContext(ctx))
	if err != nil {
		return
	}

	for msg := range msgs.Messages() {
		fn(msg)
	}
}

// jetStreamRoundTrips measures from a JetStream publish (acknowledged, so
// stored) to the receipt of the message by a waiting pull, one at a time:
// the part of a NATS wake-up that is JetStream's.
func jetStreamRoundTrips(b *testing.B) []time.Duration {
	b.Helper()

	q := newJSQueue(b)
	arrived := make(chan time.Time, 1)

	ctx, cancel := context.WithCancel(context.Background())

	var wg sync.WaitGroup

	defer wg.Wait()
	defer cancel()

	wg.Go(func() {
		for ctx.Err() == nil {
			q.pull(ctx, 1, func(msg jetstream.Msg) {
				arrived <- time.Now()

				_ = msg.Ack()
			})
		}
	})

	time.Sleep(100 * time.Millisecond) // let the first pull request reach the server

	lat := make([]time.Duration, 0, b.N)

	b.ResetTimer()

	for range b.N {
		sent := time.Now()

		if _, err := q.js.Publish(ctx, q.subject, q.data); err != nil {
			b.Fatal(err)
		}

		select {
		case at := <-arrived:
			lat = append(lat, at.Sub(sent))
		case <-time.After(10 * time.Second):
			b.Fatal("message not received within 10s")
		}
	}

	b.StopTimer()

	return lat
}
