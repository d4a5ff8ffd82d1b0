package events_test

import (
	"testing"
	"time"

	"github.com/modulith/modulith/internal/bustest"
	"github.com/modulith/modulith/internal/events"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		change func(*events.Config)
		valid  bool
	}{
		{"postgres", func(*events.Config) {}, true},
		{"nats with a URL", func(c *events.Config) { c.Transport, c.NATSURL = events.TransportNATS, "nats://n:4222" }, true},
		{"base equal to max", func(c *events.Config) { c.BackoffMax = c.BackoffBase }, true},
		{"one attempt", func(c *events.Config) { c.MaxAttempts = 1 }, true},
		{"no transport", func(c *events.Config) { c.Transport = "" }, false},
		{"unknown transport", func(c *events.Config) { c.Transport = "kafka" }, false},
		{"nats without URL", func(c *events.Config) { c.Transport, c.NATSURL = events.TransportNATS, "" }, false},
		{"no attempts", func(c *events.Config) { c.MaxAttempts = 0 }, false},
		{"zero base", func(c *events.Config) { c.BackoffBase = 0 }, false},
		{"negative base", func(c *events.Config) { c.BackoffBase = -time.Second }, false},
		{"max below base", func(c *events.Config) { c.BackoffMax = c.BackoffBase - 1 }, false},
		{"zero retention", func(c *events.Config) { c.Retention = 0 }, false},
		{"zero poll interval", func(c *events.Config) { c.PollInterval = 0 }, false},
		{"zero handler timeout", func(c *events.Config) { c.HandlerTimeout = 0 }, false},
		{"no workers", func(c *events.Config) { c.Workers = 0 }, false},
		{"empty batches", func(c *events.Config) { c.BatchSize = 0 }, false},
	}
	for _, tt := range tests {
		cfg := bustest.FastConfig()
		tt.change(&cfg)

		if err := cfg.Validate(); (err == nil) != tt.valid {
			t.Errorf("%s: Validate(%+v) = %v, want valid %t", tt.name, cfg, err, tt.valid)
		}
	}
}
