package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/modulith/modulith/internal/events"
)

var errEventsUsage = errors.New("events: want dead [subscriber], redrive [subscriber [event-id]], discard <subscriber> <event-id> or purge")

// eventsCmd inspects and repairs event deliveries:
//
//	events dead [subscriber]                list dead letters
//	events redrive [subscriber [event-id]]  retry dead deliveries from scratch
//	events discard <subscriber> <event-id>  give up one dead delivery for good
//	events purge                            purge old events, erase finished secrets
func eventsCmd(ctx context.Context, e env, args []string) error {
	if len(args) == 0 || len(args) > 3 {
		return errEventsUsage
	}

	return withBus(ctx, e, func(_ *process, bus *events.Bus) error { return runEvents(ctx, e, bus, args) })
}

func runEvents(ctx context.Context, e env, bus *events.Bus, args []string) error {
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}

		return ""
	}

	switch args[0] {
	case "dead":
		return bus.PrintDeadLetters(ctx, e.stdout, arg(1))
	case "redrive":
		n, err := bus.Redrive(ctx, arg(1), arg(2))
		if err != nil {
			return err
		}

		_, err = fmt.Fprintf(e.stdout, "redrove %d delivery(ies)\n", n)

		return wrapWrite(err)
	case "discard":
		n, err := bus.Discard(ctx, arg(1), arg(2))
		if err != nil {
			return err
		}

		_, err = fmt.Fprintf(e.stdout, "discarded %d dead delivery(ies)\n", n)

		return wrapWrite(err)
	case "purge":
		return runTask(ctx, e, bus.AdminTasks(e.stdout), "events-purge")
	default:
		return errEventsUsage
	}
}
