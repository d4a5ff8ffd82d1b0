package orders

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/notifier"
	orderevents "github.com/modulith/modulith/modules/orders/events"
)

// notifierSubscriber tells users by email or SMS that their order was
// placed; its deliveries are retried by the bus like any subscriber's.
const notifierSubscriber = "orders-notifier"

//go:embed templates
var templateFS embed.FS

// confirmation fills templates/order_placed.*.
type confirmation struct {
	OrderID string
	Items   int
	Total   string // "26.99 EUR"
}

// confirmations sends the confirmation of each order.created to the
// address it carries, sealed. A send that fails is retried; an order with
// no address, or for a channel no provider serves here, is a permanent
// failure (a dead letter, redriven once a provider is configured).
type confirmations struct {
	notifier  *notifier.Notifier
	templates *notifier.Templates
}

func newConfirmations(n *notifier.Notifier) (*confirmations, error) {
	sub, err := fs.Sub(templateFS, "templates")
	if err != nil {
		return nil, fmt.Errorf("order templates: %w", err)
	}

	t, err := notifier.ParseTemplates(sub)
	if err != nil {
		return nil, fmt.Errorf("order templates: %w", err)
	}

	return &confirmations{notifier: n, templates: t}, nil
}

func (c *confirmations) orderPlaced(ctx context.Context, e events.Event[orderevents.OrderCreated]) error {
	o, ch := e.Payload, notifier.Channel(e.Payload.Channel)

	switch {
	case o.Destination == "":
		return events.Permanent(fmt.Errorf("order %s has no address to confirm it to", o.OrderID))
	case !c.notifier.CanDeliver(ch):
		return events.Permanent(fmt.Errorf("order %s: no provider for channel %q", o.OrderID, ch))
	}

	m, err := c.templates.Render("order_placed", confirmation{
		OrderID: o.OrderID, Items: o.ItemCount, Total: fmt.Sprintf("%.2f %s", float64(o.TotalMinor)/100, o.Currency),
	})
	if err != nil {
		return events.Permanent(err)
	}

	if err := c.notifier.Send(ctx, ch, o.Destination, m); err != nil {
		return fmt.Errorf("send confirmation of order %s: %w", o.OrderID, err)
	}

	return nil
}
