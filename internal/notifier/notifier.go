// Package notifier delivers messages to users by email and SMS through
// provider adapters, reacting to bus events so that modules only publish
// facts (auth.magic_code_requested) and never know how a code travels. A
// failed send fails the event handler, and the durable bus retries it.
//
// Which providers exist is configuration: SMTP for email, an HTTP gateway
// for SMS (a JSON POST), or the LogNotifier. With none for a channel,
// CanDeliver reports false and the auth module answers Unavailable instead
// of pretending to send. The LogNotifier, which writes messages to the log
// so the login flow works on a laptop, exists in dev only: configuration
// refuses it elsewhere, so outside dev no log line carries a code.
package notifier

import (
	"context"
	"fmt"
	"log/slog"
)

// Channel is a way to reach a user.
type Channel string

// The channels.
const (
	ChannelEmail Channel = "email"
	ChannelSMS   Channel = "sms"
)

// Email is one email message.
type Email struct {
	To      string
	Subject string
	Text    string
	HTML    string
}

// SMS is one text message.
type SMS struct {
	To   string
	Body string
}

// EmailProvider sends email.
type EmailProvider interface {
	SendEmail(ctx context.Context, m Email) error
}

// SMSProvider sends text messages.
type SMSProvider interface {
	SendSMS(ctx context.Context, m SMS) error
}

// Notifier renders and sends messages through the configured providers.
type Notifier struct {
	email     EmailProvider
	sms       SMSProvider
	templates *templates
}

// New returns a notifier; either provider may be nil (channel unavailable).
func New(email EmailProvider, sms SMSProvider) (*Notifier, error) {
	t, err := parseTemplates()
	if err != nil {
		return nil, err
	}

	return &Notifier{email: email, sms: sms, templates: t}, nil
}

// CanDeliver reports whether a provider is configured for ch.
func (n *Notifier) CanDeliver(ch Channel) bool {
	switch ch {
	case ChannelEmail:
		return n.email != nil
	case ChannelSMS:
		return n.sms != nil
	default:
		return false
	}
}

// SendCode renders the message of kind (a template name) with a one-time
// code and sends it to destination over ch.
func (n *Notifier) SendCode(ctx context.Context, ch Channel, kind, destination string, data CodeData) error {
	switch ch {
	case ChannelEmail:
		if n.email == nil {
			return fmt.Errorf("no email provider configured")
		}

		m, err := n.templates.email(kind, data)
		if err != nil {
			return err
		}

		m.To = destination

		return n.email.SendEmail(ctx, m)
	case ChannelSMS:
		if n.sms == nil {
			return fmt.Errorf("no SMS provider configured")
		}

		body, err := n.templates.sms(kind, data)
		if err != nil {
			return err
		}

		return n.sms.SendSMS(ctx, SMS{To: destination, Body: body})
	default:
		return fmt.Errorf("unknown channel %q", ch)
	}
}

// Message is a message a module wrote itself: Subject, Text and HTML make
// the email, SMS the text message; a module renders it from its own
// templates.
type Message struct {
	Subject string
	Text    string
	HTML    string
	SMS     string
}

// Send sends m to destination over ch. It fails when no provider serves
// ch (check CanDeliver first to skip instead).
func (n *Notifier) Send(ctx context.Context, ch Channel, destination string, m Message) error {
	switch ch {
	case ChannelEmail:
		if n.email == nil {
			return fmt.Errorf("no email provider configured")
		}

		return n.email.SendEmail(ctx, Email{To: destination, Subject: m.Subject, Text: m.Text, HTML: m.HTML})
	case ChannelSMS:
		if n.sms == nil {
			return fmt.Errorf("no SMS provider configured")
		}

		return n.sms.SendSMS(ctx, SMS{To: destination, Body: m.SMS})
	default:
		return fmt.Errorf("unknown channel %q", ch)
	}
}

// LogNotifier "sends" messages by logging them, code included. Dev only.
type LogNotifier struct {
	logger *slog.Logger
}

// NewLogNotifier returns a LogNotifier writing to logger.
func NewLogNotifier(logger *slog.Logger) *LogNotifier {
	return &LogNotifier{logger: logger}
}

// SendEmail logs the text part of m.
func (l *LogNotifier) SendEmail(ctx context.Context, m Email) error {
	l.logger.InfoContext(ctx, "dev email (not sent)", "to", m.To, "subject", m.Subject, "text", m.Text)

	return nil
}

// SendSMS logs m.
func (l *LogNotifier) SendSMS(ctx context.Context, m SMS) error {
	l.logger.InfoContext(ctx, "dev sms (not sent)", "to", m.To, "body", m.Body)

	return nil
}
