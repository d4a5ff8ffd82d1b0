package websocket_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	ws "github.com/coder/websocket"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/modulith/modulith/internal/websocket"
)

// TestHubMetrics follows the hub's instruments through a client that
// receives and sends messages and a slow client that is dropped.
func TestHubMetrics(t *testing.T) {
	t.Parallel()

	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))

	hub, err := websocket.NewHub(testConfig(t, "WS_SEND_BUFFER", "4", "WS_WRITE_TIMEOUT", "1s"), discardLogger(), mp.Meter("test"))
	if err != nil {
		t.Fatalf("NewHub() = %v", err)
	}

	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()

		_ = hub.Close(ctx)
	})

	srv := attachServer(t, hub)
	fast := dialAs(t, srv, hub, "fast", "s1", 1)
	fast.SetReadLimit(-1)

	for range 3 {
		hub.Send(websocket.Message{Event: "hello", UserID: "fast", Data: json.RawMessage(`{}`)})
		wantMessage(t, fast, "hello")
	}

	if err := fast.Write(t.Context(), ws.MessageText, []byte(`{"hello":"server"}`)); err != nil {
		t.Fatal(err)
	}

	waitMetrics(t, reader, map[string]int64{
		"websocket.connections": 1, "websocket.connections.opened": 1,
		"websocket.messages.sent": 3, "websocket.messages.received": 1, "websocket.messages.dropped": 0,
	})

	dialAs(t, srv, hub, "slow", "s2", 2) // never reads

	waitMetrics(t, reader, map[string]int64{"websocket.connections": 2, "websocket.connections.opened": 2})

	big := websocket.Message{
		Event: "big", Broadcast: true, Data: json.RawMessage(`{"pad":"` + strings.Repeat("x", 64<<10) + `"}`),
	}

	deadline := time.Now().Add(30 * time.Second)
	for hub.Stats().Connections == 2 {
		if time.Now().After(deadline) {
			t.Fatal("the slow client was never disconnected")
		}

		hub.Send(big)
		wantMessage(t, fast, "big")
	}

	waitMetrics(t, reader, map[string]int64{"websocket.connections": 1, "websocket.connections.opened": 2})

	// Every broadcast sent while the slow socket was closing missed it too.
	if got := collect(t, reader)["websocket.messages.dropped"]; got < 1 {
		t.Errorf("websocket.messages.dropped = %d, want at least 1", got)
	}
}

// waitMetrics waits until every instrument of want has its value.
func waitMetrics(t *testing.T, reader *sdkmetric.ManualReader, want map[string]int64) {
	t.Helper()

	var got map[string]int64

	for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		got = collect(t, reader)
		if matches(got, want) {
			return
		}
	}

	t.Errorf("metrics = %v, want %v", got, want)
}

func matches(got, want map[string]int64) bool {
	for name, v := range want {
		if got[name] != v {
			return false
		}
	}

	return true
}

// collect returns the value of every integer sum the reader sees.
func collect(t *testing.T, reader *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}

	out := make(map[string]int64)

	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok {
				for _, dp := range sum.DataPoints {
					out[m.Name] += dp.Value
				}
			}
		}
	}

	return out
}
