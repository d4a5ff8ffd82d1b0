// Package notifier sends messages to users by email and SMS through
// provider adapters. Modules decide what to say and when: they render a
// Message from their own templates (Templates) in a handler of their own
// events, so that a failed send fails the handler and the durable bus
// retries it; the platform knows no message of any module.
//
// Which providers exist is configuration: SMTP for email, an HTTP gateway
// for SMS (a JSON POST), or the LogNotifier. With none for a channel,
// CanDeliver reports false, so that a module can refuse a request rather
// than pretend to send. The LogNotifier, which writes messages to the log
// so that sign-in works on a laptop, exists in dev only: configuration
// refuses it elsewhere, so outside dev no log line carries a message.
package notifier

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// ErrNoProvider is returned by Send for a channel no provider serves.
var ErrNoProvider = errors.New("no provider for the channel")

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

// Notifier sends messages through the configured providers.
type Notifier struct {
	email EmailProvider
	sms   SMSProvider
}

// New returns a notifier; either provider may be nil (channel unavailable).
func New(email EmailProvider, sms SMSProvider) *Notifier {
	return &Notifier{email: email, sms: sms}
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

// Message is what a module tells a user: Subject, Text and HTML make the
// email, SMS the text message. Templates renders one.
type Message struct {
	Subject string
	Text    string
	HTML    string
	SMS     string
}

// Send sends m to destination over ch. It fails when no provider serves
// ch (check CanDeliver first).
func (n *Notifier) Send(ctx context.Context, ch Channel, destination string, m Message) error {
	switch ch {
	case ChannelEmail:
		if n.email == nil {
			return ErrNoProvider
		}

		return n.email.SendEmail(ctx, Email{To: destination, Subject: m.Subject, Text: m.Text, HTML: m.HTML})
	case ChannelSMS:
		if n.sms == nil {
			return ErrNoProvider
		}

		return n.sms.SendSMS(ctx, SMS{To: destination, Body: m.SMS})
	default:
		return fmt.Errorf("%w: unknown channel %q", ErrNoProvider, ch)
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
