package websocket_test

import (
	"strings"
	"testing"

	"go.opentelemetry.io/otel/metric/noop"

	"github.com/modulith/modulith/internal/websocket"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()

	if err := testConfig(t).Validate(); err != nil {
		t.Fatalf("defaults: Validate() = %v, want nil", err)
	}

	tests := []struct {
		env     []string
		wantKey string
	}{
		{[]string{"WS_SEND_BUFFER", "0"}, "WS_SEND_BUFFER"},
		{[]string{"WS_PING_INTERVAL", "-1s"}, "WS_PING_INTERVAL"},
		{[]string{"WS_WRITE_TIMEOUT", "0s"}, "WS_WRITE_TIMEOUT"},
		{[]string{"WS_MAX_USER_CONNECTIONS", "0"}, "WS_MAX_USER_CONNECTIONS"},
		{[]string{"WS_POSTGRES_CHANNEL", `ws"; DROP TABLE x; --`}, "WS_POSTGRES_CHANNEL"},
		{[]string{"WS_POSTGRES_CHANNEL", strings.Repeat("a", 64)}, "WS_POSTGRES_CHANNEL"},
		{[]string{"WS_NATS_SUBJECT", "modulith.>"}, "WS_NATS_SUBJECT"},
		{[]string{"WS_NATS_SUBJECT", "modulith..ws"}, "WS_NATS_SUBJECT"},
	}

	for _, tt := range tests {
		cfg := testConfig(t, tt.env...)

		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.wantKey) {
			t.Errorf("Validate() with %s=%q = %v, want an error naming %s", tt.env[0], tt.env[1], err, tt.wantKey)
		}

		if _, err := websocket.NewHub(cfg, discardLogger(), noop.Meter{}); err == nil {
			t.Errorf("NewHub() with %s=%q = nil error, want one", tt.env[0], tt.env[1])
		}
	}
}
