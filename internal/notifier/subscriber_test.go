package notifier_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/notifier"
)

// lockedBuffer is a log destination safe for the bus's handler goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()

	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()

	return b.buf.String()
}

// subscribed returns a bus with n subscribed, its log, and a function that
// publishes e and waits until every handler has finished.
func subscribed(t *testing.T, n *notifier.Notifier) (*lockedBuffer, func(e events.Event)) {
	t.Helper()

	logs := &lockedBuffer{}
	bus := events.NewBus(slog.New(slog.NewJSONHandler(logs, nil)))
	n.Subscribe(bus)

	return logs, func(e events.Event) {
		t.Helper()

		if err := bus.Publish(t.Context(), e); err != nil {
			t.Fatalf("Publish(%s) = %v", e.Name, err)
		}

		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()

		if err := bus.Close(ctx); err != nil {
			t.Fatalf("Close() = %v", err)
		}
	}
}

func TestSubscribeDeliversLoginCodeByEmail(t *testing.T) {
	email, sms := &fakeEmail{}, &fakeSMS{}
	_, publish := subscribed(t, newNotifier(t, email, sms))
	at := time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC)

	payload, err := events.NewMagicCodeRequestedPayload(events.ChannelEmail, "ada@example.com", "123456", at.Add(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}

	publish(events.Event{Name: events.MagicCodeRequestedEvent, Payload: payload, OccurredAt: at})

	sent := email.all()
	if len(sent) != 1 || len(sms.all()) != 0 {
		t.Fatalf("sent %d emails and %d SMS, want 1 email", len(sent), len(sms.all()))
	}

	if sent[0].To != "ada@example.com" {
		t.Errorf("To = %q, want ada@example.com", sent[0].To)
	}

	checkContains(t, "subject", sent[0].Subject, "123456")
	checkContains(t, "text", sent[0].Text, "123456", "10 minutes")
	checkContains(t, "HTML", sent[0].HTML, "123456", "10 minutes")
}

func TestSubscribeDeliversContactChangeBySMS(t *testing.T) {
	email, sms := &fakeEmail{}, &fakeSMS{}
	_, publish := subscribed(t, newNotifier(t, email, sms))
	at := time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC)

	payload, err := events.NewContactChangeRequestedPayload("usr_1", events.ChannelSMS, "+14155550100", "654321",
		at.Add(15*time.Minute))
	if err != nil {
		t.Fatal(err)
	}

	publish(events.Event{Name: events.ContactChangeRequestedEvent, Payload: payload, OccurredAt: at})

	sent := sms.all()
	if len(sent) != 1 || len(email.all()) != 0 {
		t.Fatalf("sent %d SMS and %d emails, want 1 SMS", len(sent), len(email.all()))
	}

	if sent[0].To != "+14155550100" {
		t.Errorf("To = %q, want +14155550100", sent[0].To)
	}

	checkContains(t, "body", sent[0].Body, "654321", "15 minutes", "new contact")
}

func TestSubscribeRendersExpiry(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC)

	tests := []struct {
		name      string
		expiresAt string
		want      string
	}{
		{name: "minutes", expiresAt: at.Add(10 * time.Minute).Format(time.RFC3339), want: "10 minutes"},
		{name: "rounded", expiresAt: at.Add(4*time.Minute + 40*time.Second).Format(time.RFC3339), want: "5 minutes"},
		{name: "under a minute", expiresAt: at.Add(20 * time.Second).Format(time.RFC3339), want: "1 minute."},
		{name: "already past", expiresAt: at.Add(-time.Hour).Format(time.RFC3339), want: "1 minute."},
		{name: "unparsable", expiresAt: "soon", want: "a few minutes"},
		{name: "missing", want: "a few minutes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sms := &fakeSMS{}
			_, publish := subscribed(t, newNotifier(t, nil, sms))

			payload := map[string]any{
				events.KeyChannel: events.ChannelSMS, events.KeyDestination: "+14155550100", events.KeyCode: "123456",
			}
			if tt.expiresAt != "" {
				payload[events.KeyExpiresAt] = tt.expiresAt
			}

			publish(events.Event{Name: events.MagicCodeRequestedEvent, Payload: payload, OccurredAt: at})

			sent := sms.all()
			if len(sent) != 1 {
				t.Fatalf("sent %d SMS, want 1", len(sent))
			}

			checkContains(t, "body", sent[0].Body, "expires in "+tt.want)
		})
	}
}

func TestSubscribeLogsUndeliverableEvents(t *testing.T) {
	tests := []struct {
		name    string
		event   string
		payload map[string]any
	}{
		{
			name:    "no code",
			event:   events.MagicCodeRequestedEvent,
			payload: map[string]any{events.KeyChannel: events.ChannelEmail, events.KeyDestination: "ada@example.com"},
		},
		{
			name:    "no destination",
			event:   events.ContactChangeRequestedEvent,
			payload: map[string]any{events.KeyChannel: events.ChannelEmail, events.KeyCode: "123456"},
		},
		{
			name:    "code of the wrong type",
			event:   events.MagicCodeRequestedEvent,
			payload: map[string]any{events.KeyChannel: events.ChannelEmail, events.KeyDestination: "a@b.c", events.KeyCode: 123456},
		},
		{
			name:    "unknown channel",
			event:   events.MagicCodeRequestedEvent,
			payload: map[string]any{events.KeyChannel: "fax", events.KeyDestination: "a@b.c", events.KeyCode: "123456"},
		},
		{
			name:    "channel without provider",
			event:   events.MagicCodeRequestedEvent,
			payload: map[string]any{events.KeyChannel: events.ChannelSMS, events.KeyDestination: "+14155550100", events.KeyCode: "1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			email := &fakeEmail{}
			logs, publish := subscribed(t, newNotifier(t, email, nil))

			publish(events.Event{Name: tt.event, Payload: tt.payload})

			if len(email.all()) != 0 {
				t.Errorf("sent %v, want nothing", email.all())
			}

			lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
			if len(lines) != 1 {
				t.Fatalf("logged %d lines, want 1:\n%s", len(lines), logs.String())
			}

			checkLogged(t, lines[0], map[string]any{"level": "ERROR", "msg": "event handler failed", "event": tt.event})

			if strings.Contains(logs.String(), "123456") {
				t.Errorf("the log carries the code: %s", logs.String())
			}
		})
	}
}
