package bustest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/modulith/modulith/internal/config"
	"github.com/modulith/modulith/internal/events"
)

// FastEnv must configure the bus as FastConfig does, key by key.
func TestFastEnvLoadsAsFastConfig(t *testing.T) {
	t.Parallel()

	env := FastEnv()
	env["ENV"] = "dev"

	layers, err := config.NewLayers(config.Files{}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}

	var got events.Config
	if _, err := layers.Load("events", &got); err != nil {
		t.Fatalf("Load(events) = %v", err)
	}

	// FastEnv leaves NATS_URL to its default: the PostgreSQL transport
	// does not read it.
	if diff := cmp.Diff(FastConfig(), got, cmpopts.IgnoreFields(events.Config{}, "NATSURL")); diff != "" {
		t.Errorf("events section loaded from FastEnv() (-FastConfig() +got):\n%s", diff)
	}
}
