package orders

import (
	"bytes"
	"context"
	"fmt"
	htmltemplate "html/template"
	"io"
	"log/slog"
	texttemplate "text/template"

	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/notifier"
	orderevents "github.com/modulith/modulith/modules/orders/events"
	"github.com/modulith/modulith/modules/orders/internal/service"
)

// notifierSubscriber tells users by email or SMS that their order was
// placed; its deliveries are retried by the bus like any subscriber's.
const notifierSubscriber = "orders-notifier"

var (
	subjectTmpl = texttemplate.Must(texttemplate.New("subject").Parse(`Order {{.OrderID}} placed`))
	textTmpl    = texttemplate.Must(texttemplate.New("text").Parse(
		"Thank you: your order {{.OrderID}} of {{.Items}} item(s), {{.Total}}, is placed.\n"))
	htmlTmpl = htmltemplate.Must(htmltemplate.New("html").Parse(`<!doctype html>
<html>
<body style="font-family: sans-serif">
<p>Thank you: your order <b>{{.OrderID}}</b> of {{.Items}} item(s), {{.Total}}, is placed.</p>
</body>
</html>
`))
	smsTmpl = texttemplate.Must(texttemplate.New("sms").Parse(`Order {{.OrderID}} placed: {{.Items}} item(s), {{.Total}}.`))
)

// confirmation fills the templates.
type confirmation struct {
	OrderID string
	Items   int
	Total   string // "26.99 EUR"
}

// notifyPlaced sends the confirmation of an order.created to the address
// in its Secret. An order without one, or for a channel with no provider
// here, is skipped: retrying could not help.
func notifyPlaced(n *notifier.Notifier, logger *slog.Logger) events.Handler {
	return func(ctx context.Context, e events.Event) error {
		ch := notifier.Channel(e.Secret[service.SecretChannel])
		dest := e.Secret[service.SecretDestination]

		if dest == "" || !n.CanDeliver(ch) {
			logger.InfoContext(ctx, "order confirmation not sent: no address or provider", "event_id", e.ID, "channel", ch)

			return nil
		}

		m, err := render(e.Payload)
		if err != nil {
			return err
		}

		if err := n.Send(ctx, ch, dest, m); err != nil {
			return fmt.Errorf("send order confirmation: %w", err)
		}

		return nil
	}
}

func render(payload map[string]any) (notifier.Message, error) {
	id, _ := payload[orderevents.KeyOrderID].(string)
	items, _ := payload[orderevents.KeyItemCount].(float64) // JSON numbers
	total, _ := payload[orderevents.KeyTotalMinor].(float64)
	currency, _ := payload[orderevents.KeyCurrency].(string)

	data := confirmation{OrderID: id, Items: int(items), Total: fmt.Sprintf("%.2f %s", total/100, currency)}

	var (
		m   notifier.Message
		err error
	)

	exec := func(t interface{ Execute(io.Writer, any) error }) string {
		var b bytes.Buffer
		if err == nil {
			err = t.Execute(&b, data)
		}

		return b.String()
	}

	m.Subject, m.Text, m.HTML, m.SMS = exec(subjectTmpl), exec(textTmpl), exec(htmlTmpl), exec(smsTmpl)

	if err != nil {
		return notifier.Message{}, fmt.Errorf("render order confirmation: %w", err)
	}

	return m, nil
}
