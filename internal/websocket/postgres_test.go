package websocket_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/modulith/modulith/internal/pgtest"
	"github.com/modulith/modulith/internal/websocket"
)

// replicaPool opens a pool of its own on the test server's database, as a
// replica would.
func replicaPool(t *testing.T) *pgxpool.Pool {
	t.Helper()

	pool, err := pgxpool.New(t.Context(), pgtest.ServerURL(t))
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(pool.Close)

	return pool
}

func startPostgresFanout(t *testing.T, pool *pgxpool.Pool, channel string, hub *websocket.Hub) *websocket.PostgresFanout {
	t.Helper()

	f := websocket.NewPostgresFanout(pool, channel, hub, discardLogger())
	if err := f.Start(t.Context()); err != nil {
		t.Fatalf("Start() = %v", err)
	}

	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()

		if err := f.Close(ctx); err != nil {
			t.Errorf("Close() = %v", err)
		}
	})

	return f
}

// Two replicas on one database: what one publishes reaches both hubs.
func TestPostgresFanoutReachesEveryReplica(t *testing.T) {
	t.Parallel()

	channel := randomChannel(t)
	hubA, hubB := newHub(t, testConfig(t), discardLogger()), newHub(t, testConfig(t), discardLogger())
	fanoutA := startPostgresFanout(t, replicaPool(t), channel, hubA)
	startPostgresFanout(t, replicaPool(t), channel, hubB)

	adaOnA := dialAs(t, attachServer(t, hubA), hubA, "ada", "s1", 1)
	adaOnB := dialAs(t, attachServer(t, hubB), hubB, "ada", "s2", 1)

	m := message("user.profile_updated", "ada")
	if err := fanoutA.Publish(t.Context(), websocket.Envelope{ID: "evt_1", Message: &m}); err != nil {
		t.Fatalf("Publish() = %v", err)
	}

	wantMessage(t, adaOnA, "user.profile_updated")
	wantMessage(t, adaOnB, "user.profile_updated")

	if err := fanoutA.Publish(t.Context(), websocket.Envelope{ID: "evt_2", EndSession: "s2"}); err != nil {
		t.Fatalf("Publish() = %v", err)
	}

	wantClosed(t, adaOnB, websocket.CloseSessionEnded)
}

// The size is checked before anything is sent: no database needed.
func TestPostgresFanoutRefusesLargeMessages(t *testing.T) {
	t.Parallel()

	hub := newHub(t, testConfig(t), discardLogger())
	f := websocket.NewPostgresFanout(nil, randomChannel(t), hub, discardLogger())

	big := websocket.Message{
		Event: "big", Broadcast: true, Data: json.RawMessage(`{"pad":"` + strings.Repeat("x", websocket.MaxPostgresPayload) + `"}`),
	}

	err := f.Publish(t.Context(), websocket.Envelope{ID: "evt_1", Message: &big})
	if !errors.Is(err, websocket.ErrMessageTooLarge) {
		t.Errorf("Publish(%d bytes) = %v, want ErrMessageTooLarge", len(big.Data), err)
	}
}

// When its connection dies, the listener listens again by itself.
func TestPostgresFanoutListensAgainAfterConnectionLoss(t *testing.T) {
	t.Parallel()

	channel := randomChannel(t)
	pool := replicaPool(t)
	hub := newHub(t, testConfig(t), discardLogger())
	f := startPostgresFanout(t, pool, channel, hub)
	conn := dialAs(t, attachServer(t, hub), hub, "ada", "s1", 1)

	var killed int
	if err := pool.QueryRow(t.Context(),
		"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query = $1",
		`LISTEN "`+channel+`"`).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminate the listener: killed %d, %v", killed, err)
	}

	// Notifications sent before it listens again are lost: publish until
	// one arrives.
	arrived := make(chan struct{})

	go func() {
		defer close(arrived)

		_, _, _ = conn.Read(context.Background())
	}()

	deadline := time.After(2 * wait)

	for {
		m := message("user.profile_updated", "ada")
		if err := f.Publish(t.Context(), websocket.Envelope{ID: "evt", Message: &m}); err != nil {
			t.Fatalf("Publish() = %v", err)
		}

		select {
		case <-arrived:
			return
		case <-deadline:
			t.Fatal("no message after the listener's connection was terminated")
		case <-time.After(100 * time.Millisecond):
		}
	}
}
