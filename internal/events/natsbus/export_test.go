package natsbus

import (
	"context"
	"testing"

	"github.com/modulith/modulith/internal/events"
)

// RelayLock is the key of the advisory lock that relay batches hold
// shared and the creation of the stream exclusively.
const RelayLock = relayLock

// Relay is one replica's relay without its loops, driven by a test a step
// at a time.
type Relay struct{ c *carrier }

// NewRelay connects a carrier of d's deliveries to NATS until the test
// ends.
func NewRelay(t testing.TB, d *events.Deliveries) *Relay {
	t.Helper()

	c, err := newCarrier(t.Context(), d)
	if err != nil {
		t.Fatalf("new carrier: %v", err)
	}

	t.Cleanup(c.nc.Close)

	return &Relay{c: c}
}

// EnsureStream creates the stream or brings it to the configuration.
func (r *Relay) EnsureStream(ctx context.Context) error { return r.c.ensureStream(ctx) }

// CreateStream is what EnsureStream does once it found no stream, which
// another replica may have created since.
func (r *Relay) CreateStream(ctx context.Context) (bool, error) {
	return r.c.createStream(ctx, r.c.streamConfig())
}

// RelayBatch publishes a batch of due deliveries, as the relay loop does.
func (r *Relay) RelayBatch(ctx context.Context) (int, error) { return r.c.relayBatch(ctx) }
