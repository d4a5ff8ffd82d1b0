package setup

import (
	"fmt"
	"log/slog"

	"github.com/modulith/modulith/internal/config"
	"github.com/modulith/modulith/internal/notifier"
)

// Notifier builds the notifier from the configured providers: EMAIL_PROVIDER
// log or smtp, SMS_PROVIDER log or http. The log provider (dev only;
// configuration refuses it elsewhere) writes codes to the log; the others
// log nothing of what they send. With no provider at all it warns: sign-in
// requests will answer Unavailable rather than pretend to send.
func Notifier(cfg *config.Config, logger *slog.Logger) (*notifier.Notifier, error) {
	email, err := emailProvider(cfg, logger)
	if err != nil {
		return nil, err
	}

	sms, err := smsProvider(cfg, logger)
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
func emailProvider(cfg *config.Config, logger *slog.Logger) (notifier.EmailProvider, error) {
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

		return s, nil
	default:
		return nil, nil
	}
}

// smsProvider returns the SMS_PROVIDER, or nil for none.
func smsProvider(cfg *config.Config, logger *slog.Logger) (notifier.SMSProvider, error) {
	switch cfg.SMSProvider {
	case config.ProviderLog:
		return notifier.NewLogNotifier(logger.With("provider", config.ProviderLog)), nil
	case config.ProviderHTTP:
		h, err := notifier.NewHTTPSMS(notifier.HTTPSMSConfig{URL: cfg.SMSHTTPURL, Token: cfg.SMSHTTPToken, From: cfg.SMSFrom})
		if err != nil {
			return nil, fmt.Errorf("SMS_PROVIDER=%s: %w", config.ProviderHTTP, err)
		}

		return h, nil
	default:
		return nil, nil
	}
}
