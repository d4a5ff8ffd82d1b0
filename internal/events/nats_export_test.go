package events

import "context"

// WithNATSNames makes a bus started with ctx use its own JetStream stream
// and subject prefix, so that tests share one NATS server.
func WithNATSNames(ctx context.Context, stream, prefix string) context.Context {
	return context.WithValue(ctx, natsNamesKey{}, natsNames{stream: stream, prefix: prefix})
}
