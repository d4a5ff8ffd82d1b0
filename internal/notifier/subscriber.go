package notifier

import (
	"context"
	"fmt"
	"time"

	"github.com/modulith/modulith/internal/events"
)

// SubscriberName is the notifier's durable subscriber name.
const SubscriberName = "notifier"

// Subscribe makes n deliver the codes that auth events ask for. It is
// called by the composition root, so delivery stays outside every module.
// A failed send returns an error, and the bus retries it with backoff.
func (n *Notifier) Subscribe(bus *events.Bus) error {
	if err := bus.Subscribe(SubscriberName, events.MagicCodeRequestedEvent, n.codeHandler(KindLoginCode)); err != nil {
		return fmt.Errorf("notifier: %w", err)
	}

	if err := bus.Subscribe(SubscriberName, events.ContactChangeRequestedEvent, n.codeHandler(KindContactChange)); err != nil {
		return fmt.Errorf("notifier: %w", err)
	}

	return nil
}

func (n *Notifier) codeHandler(kind string) events.Handler {
	return func(ctx context.Context, e events.Event) error {
		channel, _ := e.Payload[events.KeyChannel].(string)
		destination, _ := e.Payload[events.KeyDestination].(string)
		code := e.Secret[events.KeyCode]
		expiresAt, _ := e.Payload[events.KeyExpiresAt].(string)

		if destination == "" || code == "" {
			// The code was erased (the event outlived its deliveries) or
			// never sent: retrying cannot help, and a stale code is useless.
			return fmt.Errorf("%s event %s: no destination or code", e.Name, e.ID)
		}

		data := CodeData{Code: code, ExpiresIn: expiresIn(expiresAt, e.OccurredAt)}
		if err := n.SendCode(ctx, Channel(channel), kind, destination, data); err != nil {
			return fmt.Errorf("deliver %s event %s: %w", e.Name, e.ID, err)
		}

		return nil
	}
}

// expiresIn renders the code's lifetime for humans ("10 minutes").
func expiresIn(expiresAt string, from time.Time) string {
	t, err := time.Parse(time.RFC3339, expiresAt)
	if err != nil {
		return "a few minutes"
	}

	minutes := int(t.Sub(from).Round(time.Minute) / time.Minute)
	if minutes <= 1 {
		return "1 minute"
	}

	return fmt.Sprintf("%d minutes", minutes)
}
