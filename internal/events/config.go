package events

import (
	"errors"
	"fmt"
	"time"
)

// Transports.
const (
	TransportPostgres = "postgres"
	TransportNATS     = "nats"
)

// Config configures the bus; it is the "events" section of the
// configuration, every key also settable by its environment variable.
type Config struct {
	// Transport carries deliveries from the outbox to handlers: "postgres"
	// (no other infrastructure) or "nats" (JetStream, for many replicas).
	Transport string `yaml:"transport" env:"EVENTS_TRANSPORT" default:"postgres"`
	// NATSURL is the NATS server for the nats transport.
	NATSURL string `yaml:"nats_url" env:"NATS_URL" default:"nats://127.0.0.1:4222"`
	// Consume runs this process's subscribers; a server may leave handling
	// to workers (EVENTS_CONSUME=false) and still publish.
	Consume bool `yaml:"consume" env:"EVENTS_CONSUME" default:"true"`
	// MaxAttempts before a delivery is dead.
	MaxAttempts int `yaml:"max_attempts" env:"EVENTS_MAX_ATTEMPTS" default:"10"`
	// BackoffBase and BackoffMax bound the delay between attempts.
	BackoffBase time.Duration `yaml:"backoff_base" env:"EVENTS_BACKOFF_BASE" default:"1s"`
	BackoffMax  time.Duration `yaml:"backoff_max" env:"EVENTS_BACKOFF_MAX" default:"10m"`
	// Retention of delivered events and idempotency records.
	Retention time.Duration `yaml:"retention" env:"EVENTS_RETENTION" default:"168h"`
	// Workers per subscriber in this process, and deliveries each claims at once.
	Workers   int `yaml:"workers" env:"EVENTS_WORKERS" default:"2"`
	BatchSize int `yaml:"batch_size" env:"EVENTS_BATCH_SIZE" default:"32"`
	// PollInterval bounds how late a retry or a missed notification is seen.
	PollInterval time.Duration `yaml:"poll_interval" env:"EVENTS_POLL_INTERVAL" default:"1s"`
	// HandlerTimeout bounds one handler run.
	HandlerTimeout time.Duration `yaml:"handler_timeout" env:"EVENTS_HANDLER_TIMEOUT" default:"30s"`
}

// Validate checks the configuration; errors name the key.
func (c Config) Validate() error {
	checks := []struct {
		bad bool
		msg string
	}{
		{c.Transport != TransportPostgres && c.Transport != TransportNATS,
			fmt.Sprintf("EVENTS_TRANSPORT: want %q or %q, got %q", TransportPostgres, TransportNATS, c.Transport)},
		{c.Transport == TransportNATS && c.NATSURL == "", "NATS_URL: required when EVENTS_TRANSPORT=nats"},
		{c.MaxAttempts < 1, "EVENTS_MAX_ATTEMPTS: must be at least 1"},
		{c.BackoffBase <= 0 || c.BackoffMax < c.BackoffBase,
			"EVENTS_BACKOFF_BASE must be positive and EVENTS_BACKOFF_MAX at least as long"},
		{c.Retention <= 0 || c.PollInterval <= 0 || c.HandlerTimeout <= 0,
			"EVENTS_RETENTION, EVENTS_POLL_INTERVAL and EVENTS_HANDLER_TIMEOUT must be positive"},
		{c.Workers < 1 || c.BatchSize < 1, "EVENTS_WORKERS and EVENTS_BATCH_SIZE must be at least 1"},
	}

	for _, check := range checks {
		if check.bad {
			return errors.New(check.msg)
		}
	}

	return nil
}

func (c Config) retryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: c.MaxAttempts, BaseDelay: c.BackoffBase, MaxDelay: c.BackoffMax}
}
