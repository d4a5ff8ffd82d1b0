package cache

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/metric"
)

// The timing of the subscription's health and of the acknowledgements (see
// the package doc): AckWait must exceed Lease.
const (
	HeartbeatEvery = 250 * time.Millisecond
	Lease          = 1500 * time.Millisecond
	AckWait        = 2 * time.Second
)

// sendTimeout bounds one heartbeat or acknowledgement.
const sendTimeout = time.Second

// transport carries the hub's messages between replicas.
type transport interface {
	// broadcast sends payload on channel and returns how many subscribers
	// were listening to it when it was sent.
	broadcast(ctx context.Context, channel string, payload []byte) (int, error)
	// send sends payload on channel.
	send(ctx context.Context, channel string, payload []byte) error
	// run subscribes to channels and returns once it does; a goroutine
	// then calls receive for each message until ctx ends, and connected
	// (first from run itself) each time the subscription is made again,
	// after which earlier messages may be missing. done is closed when the
	// goroutine returns.
	run(ctx context.Context, channels []string, connected func(), receive func(payload []byte)) (done <-chan struct{}, err error)
}

// The kinds of message.
const (
	kindInvalidate = "i"
	kindAck        = "a"
	kindHeartbeat  = "h"
)

// message is what replicas exchange, as JSON.
type message struct {
	Kind string `json:"k"`
	From string `json:"f"`
	// ID is an invalidation's, which its acknowledgements repeat.
	ID        string   `json:"id,omitempty"`
	Namespace string   `json:"n,omitempty"`
	Keys      []string `json:"keys,omitempty"`
	// Sent is when a heartbeat was sent, on its sender's monotonic clock.
	Sent int64 `json:"s,omitempty"`
}

// invalidatable is a cache the hub forgets keys of.
type invalidatable interface {
	forget(keys []string)
	clear()
}

// Hub links the caches of this replica to those of the others: it applies
// the invalidations they broadcast, acknowledges them, and tells whether
// the subscription is healthy. Build one per process (NewPostgresHub or
// NewRedisHub), Start it, and Close it on shutdown.
type Hub struct {
	t       transport
	channel string // the shared one; the private one is channel + "_" + id
	id      string
	logger  *slog.Logger
	// shared is where caches shared by the replicas live (CACHE_URL), or
	// nil: then every cache is in memory.
	shared *redis.Client
	prefix string
	in     *instruments

	origin time.Time // of the monotonic clock heartbeats carry
	// beat is the send time of the last heartbeat received (ns since
	// origin), 0 until the first after each (re)connection.
	beat atomic.Int64

	mu     sync.Mutex
	caches map[string]invalidatable
	waits  map[string]chan string // invalidation ID → acknowledging replicas

	cancel context.CancelFunc
	done   []<-chan struct{}
}

// newHub returns a hub on transport t; channel names its shared channel.
// Its caches' metrics go to meter.
func newHub(t transport, channel string, logger *slog.Logger, meter metric.Meter) (*Hub, error) {
	in, err := newInstruments(meter)
	if err != nil {
		return nil, fmt.Errorf("cache metrics: %w", err)
	}

	return &Hub{
		t: t, channel: channel, id: newID(), logger: logger, origin: time.Now(), in: in,
		caches: make(map[string]invalidatable), waits: make(map[string]chan string),
	}, nil
}

// newID returns a random identifier of 16 lower-case letters and digits,
// valid in a PostgreSQL channel name.
func newID() string { return strings.ToLower(rand.Text())[:16] }

// private is this replica's own channel.
func (h *Hub) private() string { return privateChannel(h.channel, h.id) }

func privateChannel(channel, id string) string { return channel + "_" + id }

// Start subscribes and returns once it did, so that nothing broadcast
// afterwards is missed; then heartbeats go out until Close.
func (h *Hub) Start(ctx context.Context) error {
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))

	done, err := h.t.run(runCtx, []string{h.channel, h.private()}, h.connected, h.receive)
	if err != nil {
		cancel()

		return fmt.Errorf("cache: subscribe to invalidations: %w", err)
	}

	beating := make(chan struct{})

	go func() {
		defer close(beating)

		h.heartbeat(runCtx)
	}()

	h.cancel, h.done = cancel, []<-chan struct{}{done, beating}

	return nil
}

// Close stops subscribing and waits, until ctx ends, for the goroutines to
// return. The Redis client, if any, is the caller's to close.
func (h *Hub) Close(ctx context.Context) error {
	if h.cancel == nil {
		return nil
	}

	h.cancel()

	for _, done := range h.done {
		select {
		case <-done:
		case <-ctx.Done():
			return fmt.Errorf("cache: hub still running: %w", ctx.Err())
		}
	}

	return nil
}

// Healthy reports whether this replica may answer from memory: its own
// heartbeat came back within Lease.
func (h *Hub) Healthy() bool {
	beat := h.beat.Load()

	return beat != 0 && h.now()-beat < int64(Lease)
}

// now is the monotonic clock heartbeats carry: never 0.
func (h *Hub) now() int64 { return int64(time.Since(h.origin)) + 1 }

func (h *Hub) heartbeat(ctx context.Context) {
	t := time.NewTicker(HeartbeatEvery)
	defer t.Stop()

	for {
		h.sendTo(ctx, h.private(), message{Kind: kindHeartbeat, From: h.id, Sent: h.now()})

		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sendTo sends m on channel; a failure is logged, not returned: a lost
// heartbeat ends the lease, a lost acknowledgement makes Invalidate wait
// its longest.
func (h *Hub) sendTo(ctx context.Context, channel string, m message) {
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()

	payload, err := json.Marshal(m)
	if err == nil {
		err = h.t.send(ctx, channel, payload)
	}

	if err != nil && ctx.Err() == nil {
		h.logger.WarnContext(ctx, "cache: send on the invalidation channel", "kind", m.Kind, "error", err)
	}
}

// connected runs on each (re)subscription: messages may have been missed,
// so memory is cleared, and not trusted until the next heartbeat returns.
func (h *Hub) connected() {
	h.beat.Store(0)

	h.mu.Lock()
	defer h.mu.Unlock()

	for _, c := range h.caches {
		c.clear()
	}
}

// receive handles one message, in the order the transport delivers them.
func (h *Hub) receive(payload []byte) {
	var m message
	if err := json.Unmarshal(payload, &m); err != nil {
		h.logger.Warn("cache: malformed message on the invalidation channel", "error", err)

		return
	}

	switch m.Kind {
	case kindHeartbeat:
		if m.From == h.id {
			h.beat.Store(m.Sent)
		}
	case kindInvalidate:
		h.apply(m.Namespace, m.Keys)

		if m.From == h.id {
			h.acked(m.ID, h.id)

			return
		}

		h.sendTo(context.Background(), privateChannel(h.channel, m.From), message{Kind: kindAck, From: h.id, ID: m.ID})
	case kindAck:
		h.acked(m.ID, m.From)
	}
}

// apply forgets keys in the cache of namespace ns, if this replica has it.
func (h *Hub) apply(ns string, keys []string) {
	h.mu.Lock()
	c := h.caches[ns]
	h.mu.Unlock()

	if c != nil {
		c.forget(keys)
	}
}

func (h *Hub) acked(id, from string) {
	h.mu.Lock()
	defer h.mu.Unlock()

	if ch, ok := h.waits[id]; ok {
		select {
		case ch <- from:
		default: // more acknowledgements than counted: nobody waits for them
		}
	}
}

// register makes c receive the invalidations of namespace ns.
func (h *Hub) register(ns string, c invalidatable) error {
	h.mu.Lock()
	defer h.mu.Unlock()

	if _, dup := h.caches[ns]; dup {
		return fmt.Errorf("cache %q exists already", ns)
	}

	h.caches[ns] = c

	return nil
}

// maxKeysPayload bounds the keys of one message: PostgreSQL refuses a
// NOTIFY payload of 8000 bytes or more.
const maxKeysPayload = 7000

// invalidate forgets keys of namespace ns here, broadcasts them, and waits
// until every replica listening acknowledged, or AckWait passed.
func (h *Hub) invalidate(ctx context.Context, ns string, keys []string) error {
	h.apply(ns, keys)

	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), AckWait)
	defer cancel()

	var errs []error

	for batch := range batches(keys, maxKeysPayload) {
		errs = append(errs, h.broadcast(ctx, ns, batch))
	}

	return errors.Join(errs...)
}

// broadcast sends one invalidation and waits for its acknowledgements
// until ctx ends.
func (h *Hub) broadcast(ctx context.Context, ns string, keys []string) error {
	m := message{Kind: kindInvalidate, From: h.id, ID: newID(), Namespace: ns, Keys: keys}

	payload, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode invalidation: %w", err)
	}

	acks := make(chan string, 1024)

	h.mu.Lock()
	h.waits[m.ID] = acks
	h.mu.Unlock()

	defer func() {
		h.mu.Lock()
		delete(h.waits, m.ID)
		h.mu.Unlock()
	}()

	listening, err := h.t.broadcast(ctx, h.channel, payload)
	if err != nil {
		return fmt.Errorf("cache: broadcast invalidation of %s: %w", ns, err)
	}

	seen := make(map[string]bool, listening)
	for len(seen) < listening {
		select {
		case from := <-acks:
			seen[from] = true
		case <-ctx.Done():
			// Those missing have stopped answering from memory by now.
			h.logger.WarnContext(ctx, "cache: invalidation not acknowledged by every replica in time",
				"cache", ns, "acknowledged", len(seen), "listening", listening)

			return nil
		}
	}

	return nil
}

// batches splits keys into runs whose total length stays under limit.
func batches(keys []string, limit int) func(yield func([]string) bool) {
	return func(yield func([]string) bool) {
		start, size := 0, 0

		for i, k := range keys {
			if size+len(k)+3 > limit && i > start {
				if !yield(keys[start:i]) {
					return
				}

				start, size = i, 0
			}

			size += len(k) + 3 // quotes and comma
		}

		if start < len(keys) {
			yield(keys[start:])
		}
	}
}
