package natstest

import (
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// JetStream connects to the server of URL until the test ends and returns
// its JetStream; it skips or fails the test as URL does.
func JetStream(t testing.TB) jetstream.JetStream {
	t.Helper()

	url := URL(t)

	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("natstest: connect to NATS at %s (%s names a nats-server -js): %v", url, envNATSURL, err)
	}

	t.Cleanup(nc.Close)

	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("natstest: JetStream at %s: %v", url, err)
	}

	return js
}
