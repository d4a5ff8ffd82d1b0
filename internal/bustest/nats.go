package bustest

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/modulith/modulith/internal/events/natsbus"
	"github.com/modulith/modulith/internal/natstest"
)

// NATSStream returns JetStream on the tests' NATS server
// (natstest.JetStream) and the name of the stream that the NATS transport
// uses for pool's database (natsbus.Stream: each test database is a
// cluster of its own), and deletes that stream when the test ends. Call
// it before starting buses on pool: cleanups run last registered first,
// so the buses close before their stream goes.
func NATSStream(t testing.TB, pool *pgxpool.Pool) (jetstream.JetStream, string) {
	t.Helper()

	js := natstest.JetStream(t)

	stream, err := natsbus.Stream(t.Context(), pool)
	if err != nil {
		t.Fatalf("bustest: stream of the test database: %v", err)
	}

	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
		defer cancel()

		if err := js.DeleteStream(ctx, stream); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Errorf("bustest: delete stream %s: %v", stream, err)
		}
	})

	return js, stream
}
