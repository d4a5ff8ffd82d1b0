package notifier

import (
	"context"
	"errors"
	"net"
	"net/http"

	gomail "github.com/wneessen/go-mail"
)

// Guard runs one send of a provider: the process wires the platform's
// circuit breaker and retries (internal/resilience) in it, with
// ProviderFailure and Transient as its classification.
type Guard func(ctx context.Context, send func(context.Context) error) error

// GuardEmail returns p with every send run by guard.
func GuardEmail(p EmailProvider, guard Guard) EmailProvider {
	return guardedEmail{p: p, guard: guard}
}

// GuardSMS returns p with every send run by guard.
func GuardSMS(p SMSProvider, guard Guard) SMSProvider {
	return guardedSMS{p: p, guard: guard}
}

type guardedEmail struct {
	p     EmailProvider
	guard Guard
}

func (g guardedEmail) SendEmail(ctx context.Context, m Email) error {
	return g.guard(ctx, func(ctx context.Context) error { return g.p.SendEmail(ctx, m) })
}

type guardedSMS struct {
	p     SMSProvider
	guard Guard
}

func (g guardedSMS) SendSMS(ctx context.Context, m SMS) error {
	return g.guard(ctx, func(ctx context.Context) error { return g.p.SendSMS(ctx, m) })
}

// ProviderFailure reports whether a failed send is the provider's fault:
// it was unreachable or slow, answered 5xx, or refused for now (an SMTP
// 4xx reply). A permanent refusal of the message or its recipient (an
// SMTP 5xx reply, an SMS gateway's 4xx) says the provider works.
func ProviderFailure(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		return se.StatusCode >= http.StatusInternalServerError
	}

	var me *gomail.SendError
	if errors.As(err, &me) {
		return me.IsTemp()
	}

	return !errors.Is(err, context.Canceled)
}

// Transient reports whether a failed send may be tried again at once
// without sending the message twice: the connection could not be made, the
// SMTP server deferred it (4xx), or the SMS gateway refused it for now
// (429, 502, 503, 504). A timeout after the request went out is not
// transient: the message may have been sent; the bus's own later retry
// decides.
func Transient(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		switch se.StatusCode {
		case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		default:
			return false
		}
	}

	var me *gomail.SendError
	if errors.As(err, &me) {
		return me.IsTemp()
	}

	var oe *net.OpError

	return errors.As(err, &oe) && oe.Op == "dial"
}
