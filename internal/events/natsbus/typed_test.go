package natsbus_test

import (
	"testing"

	"github.com/modulith/modulith/internal/bustest"
)

// TestNATSTypedHandlerPermanentFailureIsDeadAtOnce checks that a typed
// handler's Permanent error (wrapped or not) makes the delivery dead at
// once, a plain error is retried, and an undecodable payload is dead at
// once, as on the PostgreSQL transport (the same check); the dead messages
// are terminated.
func TestNATSTypedHandlerPermanentFailureIsDeadAtOnce(t *testing.T) {
	t.Parallel()

	env := newNATSEnv(t)
	bustest.CheckPermanentFailures(t, env.DB, env.replica(env.config()))

	env.awaitStreamEmpty() // the dead messages terminated, not left for redelivery
}
