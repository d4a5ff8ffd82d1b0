package events

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/modulith/modulith/internal/admin"
)

// PrintDeadLetters writes the dead letters of subscriber ("" = all).
func (b *Bus) PrintDeadLetters(ctx context.Context, w io.Writer, subscriber string) error {
	letters, err := b.DeadLetters(ctx, subscriber)
	if err != nil {
		return err
	}

	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "SUBSCRIBER\tEVENT ID\tEVENT\tATTEMPTS\tFAILED AT\tLAST ERROR")

	for _, l := range letters {
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", l.Subscriber, l.EventID, l.Event, l.Attempts,
			l.FailedAt.UTC().Format("2006-01-02 15:04:05"), truncate(l.LastError, 120))
	}

	_, _ = fmt.Fprintf(tw, "%d dead letter(s)\n", len(letters))

	if err := tw.Flush(); err != nil {
		return fmt.Errorf("print dead letters: %w", err)
	}

	return nil
}

// AdminTasks are the bus's maintenance tasks; they write to w.
func (b *Bus) AdminTasks(w io.Writer) []admin.Task {
	return []admin.Task{
		admin.Func{
			TaskName:        "events-dead-letters",
			TaskDescription: "List event deliveries that failed every attempt",
			Run:             func(ctx context.Context) error { return b.PrintDeadLetters(ctx, w, "") },
		},
		admin.Func{
			TaskName:        "events-redrive",
			TaskDescription: "Retry every dead event delivery from scratch",
			Run: func(ctx context.Context) error {
				n, err := b.Redrive(ctx, "", "")
				if err != nil {
					return err
				}

				return printf(w, "redrove %d delivery(ies)\n", n)
			},
		},
		admin.Func{
			TaskName:        "events-purge",
			TaskDescription: "Delete delivered events past the retention and erase finished events' secrets",
			Run: func(ctx context.Context) error {
				erased, err := b.EraseSecrets(ctx)
				if err != nil {
					return err
				}

				purged, err := b.Purge(ctx)
				if err != nil {
					return err
				}

				return printf(w, "purged %d event(s), erased %d secret(s)\n", purged, erased)
			},
		},
	}
}

func printf(w io.Writer, format string, args ...any) error {
	if _, err := fmt.Fprintf(w, format, args...); err != nil {
		return fmt.Errorf("write: %w", err)
	}

	return nil
}
