package setup

import (
	"fmt"
	"log/slog"

	"github.com/modulith/modulith/internal/config"
	"github.com/modulith/modulith/internal/notifier"
)

// Notifier builds the notifier from the configured providers. The log
// provider (dev only; configuration refuses it elsewhere) writes codes to
// the log. With no provider at all it warns: sign-in requests will answer
// Unavailable rather than pretend to send.
func Notifier(cfg *config.Config, logger *slog.Logger) (*notifier.Notifier, error) {
	var (
		email notifier.EmailProvider
		sms   notifier.SMSProvider
	)

	if cfg.EmailProvider == "log" {
		email = notifier.NewLogNotifier(logger.With("provider", "log"))
	}

	if cfg.SMSProvider == "log" {
		sms = notifier.NewLogNotifier(logger.With("provider", "log"))
	}

	if email == nil && sms == nil {
		logger.Warn("no email or SMS provider configured: login requests will answer Unavailable",
			"fix", "set EMAIL_PROVIDER or SMS_PROVIDER")
	}

	n, err := notifier.New(email, sms)
	if err != nil {
		return nil, fmt.Errorf("notifier: %w", err)
	}

	return n, nil
}
