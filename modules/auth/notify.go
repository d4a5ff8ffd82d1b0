package auth

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"time"

	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/notifier"
	"github.com/modulith/modulith/internal/registry"
	authevents "github.com/modulith/modulith/modules/auth/events"
)

// codesSubscriber sends the one-time codes of the module's events by email
// or SMS; a failed send is retried by the bus.
const codesSubscriber = "auth-notifier"

//go:embed templates
var templateFS embed.FS

// codeData fills templates/login_code.* and templates/contact_change.*.
type codeData struct {
	Code      string
	ExpiresIn string // "10 minutes"
}

// codeSender delivers sign-in and contact-confirmation codes. An event whose
// code was erased (it outlived its deliveries) does not decode, and one for
// a channel no provider serves here cannot be sent: both are permanent
// failures, dead letters rather than retries.
type codeSender struct {
	notifier  *notifier.Notifier
	templates *notifier.Templates
}

// subscribeCodes subscribes the code deliveries to the module's events.
func subscribeCodes(h registry.Host) error {
	sub, err := fs.Sub(templateFS, "templates")
	if err != nil {
		return fmt.Errorf("auth templates: %w", err)
	}

	t, err := notifier.ParseTemplates(sub)
	if err != nil {
		return fmt.Errorf("auth templates: %w", err)
	}

	c := codeSender{notifier: h.Notifier(), templates: t}

	if err := events.Subscribe(h.Bus(), codesSubscriber, c.loginCode); err != nil {
		return err
	}

	return events.Subscribe(h.Bus(), codesSubscriber, c.contactChange)
}

func (c codeSender) loginCode(ctx context.Context, e events.Event[authevents.MagicCodeRequested]) error {
	p := e.Payload

	return c.send(ctx, "login_code", p.Channel, p.Destination, codeData{Code: p.Code, ExpiresIn: expiresIn(p.ExpiresAt, e.OccurredAt)})
}

func (c codeSender) contactChange(ctx context.Context, e events.Event[authevents.ContactChangeRequested]) error {
	p := e.Payload

	return c.send(ctx, "contact_change", p.Channel, p.Destination, codeData{Code: p.Code, ExpiresIn: expiresIn(p.ExpiresAt, e.OccurredAt)})
}

func (c codeSender) send(ctx context.Context, kind, channel, destination string, data codeData) error {
	ch := notifier.Channel(channel)
	if !c.notifier.CanDeliver(ch) {
		return events.Permanent(fmt.Errorf("send %s: no provider for channel %q", kind, ch))
	}

	m, err := c.templates.Render(kind, data)
	if err != nil {
		return events.Permanent(err)
	}

	if err := c.notifier.Send(ctx, ch, destination, m); err != nil {
		return fmt.Errorf("send %s: %w", kind, err)
	}

	return nil
}

// expiresIn renders the code's lifetime for humans ("10 minutes").
func expiresIn(expiresAt, from time.Time) string {
	if expiresAt.IsZero() {
		return "a few minutes"
	}

	minutes := int(expiresAt.Sub(from).Round(time.Minute) / time.Minute)
	if minutes <= 1 {
		return "1 minute"
	}

	return fmt.Sprintf("%d minutes", minutes)
}
