package events

import (
	"context"
	"fmt"
)

// startNATS is implemented with the NATS transport.
func (b *Bus) startNATS(context.Context, []*subscriber) error {
	return fmt.Errorf("events: the nats transport is not available yet")
}
