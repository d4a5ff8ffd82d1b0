package websocket_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/modulith/modulith/internal/natstest"
	"github.com/modulith/modulith/internal/websocket"
)

func startNATSFanout(t *testing.T, subject string, hub *websocket.Hub) *websocket.NATSFanout {
	t.Helper()

	f := websocket.NewNATSFanout(natstest.URL(t), subject, hub, discardLogger())
	if err := f.Start(t.Context()); err != nil {
		t.Fatalf("Start() = %v (is NATS running? set TEST_NATS_URL)", err)
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

// Two replicas on one NATS server: what one publishes reaches both hubs.
func TestNATSFanoutReachesEveryReplica(t *testing.T) {
	t.Parallel()

	subject := "modulith.ws.test." + randomChannel(t)
	hubA, hubB := newHub(t, testConfig(t), discardLogger()), newHub(t, testConfig(t), discardLogger())
	fanoutA := startNATSFanout(t, subject, hubA)
	startNATSFanout(t, subject, hubB)

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

func TestNATSFanoutRefusesLargeMessages(t *testing.T) {
	t.Parallel()

	hub := newHub(t, testConfig(t), discardLogger())
	f := startNATSFanout(t, "modulith.ws.test."+randomChannel(t), hub)

	big := websocket.Message{
		Event: "big", Broadcast: true, Data: json.RawMessage(`{"pad":"` + strings.Repeat("x", 8<<20) + `"}`),
	}

	if err := f.Publish(t.Context(), websocket.Envelope{ID: "evt_1", Message: &big}); !errors.Is(err, websocket.ErrMessageTooLarge) {
		t.Errorf("Publish(8 MiB) = %v, want ErrMessageTooLarge", err)
	}
}
