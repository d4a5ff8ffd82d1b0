// Package notifiertest helps tests of what sends messages: Provider is an
// email and SMS provider that records what it is asked to send and can
// fail its first calls. Production code does not import it.
package notifiertest

import (
	"context"
	"errors"
	"sync"

	"github.com/modulith/modulith/internal/notifier"
)

// ErrDown is what a Provider's failing calls return.
var ErrDown = errors.New("notifiertest: provider down")

// Provider is a notifier.EmailProvider and notifier.SMSProvider whose
// first Failures calls, of either kind, fail with ErrDown; the others
// succeed and record their message. Set Failures before the first call;
// the methods are safe for concurrent use.
type Provider struct {
	Failures int

	mu     sync.Mutex
	calls  int
	emails []notifier.Email
	sms    []notifier.SMS
}

// SendEmail records m, or fails while failures last.
func (p *Provider) SendEmail(_ context.Context, m notifier.Email) error {
	return record(p, &p.emails, m)
}

// SendSMS records m, or fails while failures last.
func (p *Provider) SendSMS(_ context.Context, m notifier.SMS) error { return record(p, &p.sms, m) }

// record counts a call of p and, once its failures are over, appends m to
// sent.
func record[M any](p *Provider, sent *[]M, m M) error {
	p.mu.Lock()
	defer p.mu.Unlock()

	if p.calls++; p.calls <= p.Failures {
		return ErrDown
	}

	*sent = append(*sent, m)

	return nil
}

// Calls returns how many times the provider was called, failed calls
// included.
func (p *Provider) Calls() int {
	p.mu.Lock()
	defer p.mu.Unlock()

	return p.calls
}

// Emails returns the emails sent so far, in order.
func (p *Provider) Emails() []notifier.Email {
	p.mu.Lock()
	defer p.mu.Unlock()

	return append([]notifier.Email(nil), p.emails...)
}

// SMS returns the text messages sent so far, in order.
func (p *Provider) SMS() []notifier.SMS {
	p.mu.Lock()
	defer p.mu.Unlock()

	return append([]notifier.SMS(nil), p.sms...)
}
