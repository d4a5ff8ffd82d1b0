package setup

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/modulith/modulith/internal/config"
	"github.com/modulith/modulith/internal/notifier"
	"github.com/modulith/modulith/internal/resilience"
)

// Notifier builds the notifier from the configured providers: EMAIL_PROVIDER
// log or smtp, SMS_PROVIDER log or http. The log provider (dev only;
// configuration refuses it elsewhere) writes codes to the log; the others
// log nothing of what they send. With no provider at all it warns: sign-in
// requests will answer Unavailable rather than pretend to send. The real
// providers send through guards: a breaker each ("smtp", "sms"), and
// retries of what notifier.Transient says may be sent again at once.
func Notifier(cfg *config.Config, logger *slog.Logger, guards *resilience.Guards) (*notifier.Notifier, error) {
	email, err := emailProvider(cfg, logger, guards)
	if err != nil {
		return nil, err
	}

	sms, err := smsProvider(cfg, logger, guards)
	if err != nil {
		return nil, err
	}

	if email == nil && sms == nil {
		logger.Warn("no email or SMS provider configured: login requests will answer Unavailable",
			"fix", "set EMAIL_PROVIDER or SMS_PROVIDER")
	}

	return notifier.New(email, sms), nil
}

// emailProvider returns the EMAIL_PROVIDER, or nil for none. The interface
// stays nil (not a typed nil) so that CanDeliver sees no provider.
func emailProvider(cfg *config.Config, logger *slog.Logger, guards *resilience.Guards) (notifier.EmailProvider, error) {
	switch cfg.EmailProvider {
	case config.ProviderLog:
		return notifier.NewLogNotifier(logger.With("provider", config.ProviderLog)), nil
	case config.ProviderSMTP:
		s, err := notifier.NewSMTP(notifier.SMTPConfig{
			Host:     cfg.SMTPHost,
			Port:     cfg.SMTPPort,
			Username: cfg.SMTPUsername,
			Password: cfg.SMTPPassword,
			From:     cfg.SMTPFrom,
			TLS:      notifier.TLSMode(cfg.SMTPTLS),
		})
		if err != nil {
			return nil, fmt.Errorf("EMAIL_PROVIDER=%s: %w", config.ProviderSMTP, err)
		}

		return notifier.GuardEmail(s, guard(guards, "smtp")), nil
	default:
		return nil, nil
	}
}

// smsProvider returns the SMS_PROVIDER, or nil for none.
func smsProvider(cfg *config.Config, logger *slog.Logger, guards *resilience.Guards) (notifier.SMSProvider, error) {
	switch cfg.SMSProvider {
	case config.ProviderLog:
		return notifier.NewLogNotifier(logger.With("provider", config.ProviderLog)), nil
	case config.ProviderHTTP:
		h, err := notifier.NewHTTPSMS(notifier.HTTPSMSConfig{URL: cfg.SMSHTTPURL, Token: cfg.SMSHTTPToken, From: cfg.SMSFrom})
		if err != nil {
			return nil, fmt.Errorf("SMS_PROVIDER=%s: %w", config.ProviderHTTP, err)
		}

		return notifier.GuardSMS(h, guard(guards, "sms")), nil
	default:
		return nil, nil
	}
}

// guard runs a provider's sends through the breaker of destination and
// retries the transient failures.
func guard(guards *resilience.Guards, destination string) notifier.Guard {
	b := guards.Breaker(destination, notifier.ProviderFailure)

	return func(ctx context.Context, send func(context.Context) error) error {
		return guards.Retry(ctx, b, notifier.Transient, send)
	}
}
