package natsbus_test

import (
	"context"
	"testing"
	"time"

	"github.com/modulith/modulith/internal/bustest"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/events/natsbus"
)

// Databases cloned from one template (as test databases and staging
// copies are) are clusters of their own, with streams of their own.
func TestStreamDiffersPerDatabase(t *testing.T) {
	t.Parallel()

	a, b := bustest.NewDB(t), bustest.NewDB(t)

	streamA, errA := natsbus.Stream(t.Context(), a.Pool)
	streamB, errB := natsbus.Stream(t.Context(), b.Pool)

	if errA != nil || errB != nil {
		t.Fatalf("Stream() = %v, %v", errA, errB)
	}

	if streamA == streamB || streamA == "" {
		t.Errorf("Stream() = %q and %q, want two different names", streamA, streamB)
	}
}

// TestNATSStreamCreationHandsBackOnlyWhatWentBefore: a new stream holds
// none of the deliveries relayed before, so its creator hands them back to
// the relay; but none relayed to the new stream, which would be published
// twice. Replicas that start together all find no stream, and one of them
// creates it while another relays already.
func TestNATSStreamCreationHandsBackOnlyWhatWentBefore(t *testing.T) {
	t.Parallel()

	const n = 2 * batch

	env := newNATSEnv(t)
	cfg := env.config()
	cfg.BatchSize = batch
	bus, d := env.idleBus(cfg, "audit", "job.queued")

	for range n {
		env.PublishRaw(bus, events.Raw{Name: "job.queued"})
	}

	a, b := natsbus.NewRelay(t, d), natsbus.NewRelay(t, d)

	if created, err := a.CreateStream(t.Context()); err != nil || !created {
		t.Fatalf("CreateStream() = %v, %v; want true, nil", created, err)
	}

	relayBatch(t, a)

	// b found no stream before a created it.
	if created, err := b.CreateStream(t.Context()); err != nil || created {
		t.Errorf("CreateStream() of a stream another replica created = %v, %v; want false, nil", created, err)
	}

	if got := env.published(); got != batch {
		t.Errorf("%d deliveries marked published after a second CreateStream, want the %d relayed", got, batch)
	}

	checkRelayWaitsForCreation(t, env, b)
	relayBatch(t, b)
	env.checkPublishedOnce(n)

	// A stream that is gone: its creator hands every unfinished delivery
	// back, and the relay publishes each once to the new stream.
	if err := env.js.DeleteStream(t.Context(), env.stream); err != nil {
		t.Fatal(err)
	}

	if err := b.EnsureStream(t.Context()); err != nil {
		t.Fatalf("EnsureStream() = %v", err)
	}

	if got := env.published(); got != 0 {
		t.Errorf("%d deliveries marked published after the stream was created again, want 0", got)
	}

	relayBatch(t, a)
	relayBatch(t, b)
	env.checkPublishedOnce(n)
}

// checkRelayWaitsForCreation checks that a batch of r waits while a stream
// is being created (the relay lock is held exclusively), so that what it
// publishes to the new stream is not handed back.
func checkRelayWaitsForCreation(t *testing.T, env *natsEnv, r *natsbus.Relay) {
	t.Helper()

	creating, err := env.Pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}

	defer func() { _ = creating.Rollback(context.WithoutCancel(t.Context())) }()

	if _, err := creating.Exec(t.Context(), "SELECT pg_advisory_xact_lock($1)", natsbus.RelayLock); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()

	if k, err := r.RelayBatch(ctx); err == nil {
		t.Errorf("RelayBatch() during a stream's creation = %d, nil; want it to wait for the creation", k)
	}
}

// batch is the BatchSize of the relays that tests drive (relayBatch).
const batch = 4

// relayBatch relays one batch through r and checks it was a full one.
func relayBatch(t *testing.T, r *natsbus.Relay) {
	t.Helper()

	if got, err := r.RelayBatch(t.Context()); got != batch || err != nil {
		t.Fatalf("RelayBatch() = %d, %v; want %d, nil", got, err, batch)
	}
}
