package repository_test

import (
	"bytes"
	"context"
	stderrors "errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/modulith/modulith/internal/events"
	authevents "github.com/modulith/modulith/modules/auth/events"
	"github.com/modulith/modulith/modules/auth/internal/models"
	"github.com/modulith/modulith/modules/auth/internal/repository"
)

// testCode is the one-time code the test events carry as a secret.
const testCode = "731942"

// codeEvent is an event like the ones auth publishes for a code.
func codeEvent(userID string) authevents.ContactChangeRequested {
	return authevents.ContactChangeRequested{
		UserID: userID, Channel: authevents.ChannelEmail, Destination: "ada@example.com", ExpiresAt: now, Code: testCode,
	}
}

// stored is an event as the outbox holds it.
type stored struct {
	Name        string
	Version     int
	OrderingKey string
	Payload     map[string]any
	Secret      []byte
}

// outbox returns the events in the outbox, oldest first.
func outbox(t *testing.T, pool *pgxpool.Pool) []stored {
	t.Helper()

	rows, err := pool.Query(t.Context(),
		"SELECT name, version, coalesce(ordering_key, ''), payload, secret FROM events.outbox ORDER BY seq")
	if err == nil {
		var out []stored

		out, err = pgx.CollectRows(rows, pgx.RowToStructByPos[stored])
		if err == nil {
			return out
		}
	}

	t.Errorf("read events.outbox: %v", err)

	return nil
}

// wantOutbox fails unless the outbox holds exactly the events want, each
// with its code sealed: stored, but not in clear text.
func wantOutbox(t *testing.T, pool *pgxpool.Pool, want ...authevents.ContactChangeRequested) {
	t.Helper()

	got := outbox(t, pool)

	var wantStored []stored
	for _, e := range want {
		wantStored = append(wantStored, stored{
			Name: e.EventName(), Version: e.EventVersion(), OrderingKey: e.UserID, Payload: map[string]any{
				"user_id": e.UserID, "channel": e.Channel, "destination": e.Destination, "expires_at": e.ExpiresAt.Format(time.RFC3339Nano),
			},
		})
	}

	// Errorf, not Fatalf: this also runs inside WithTx functions.
	if diff := cmp.Diff(wantStored, got, cmpopts.IgnoreFields(stored{}, "Secret"), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("events.outbox (-want +got):\n%s", diff)

		return
	}

	for i, s := range got {
		if len(s.Secret) == 0 || bytes.Contains(s.Secret, []byte(testCode)) {
			t.Errorf("events.outbox[%d].secret = %q, want the code sealed", i, s.Secret)
		}
	}
}

// TestPublishInTx checks an event published inside WithTx is stored if
// and only if the transaction commits, with the change it reports, and is
// invisible outside until then.
func TestPublishInTx(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		nested bool  // publish from a nested WithTx, which joins the outer one
		ret    error // what the outer function returns
		commit bool
	}{
		{name: "commits", commit: true},
		{name: "rolls back", ret: errRollback},
		{name: "nested, commits", nested: true, commit: true},
		{name: "nested, outer rolls back", nested: true, ret: errRollback},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			repo, pool := newRepo(t)
			u := newUser(t, "ada@example.com", "")

			err := repo.WithTx(t.Context(), func(tx repository.Repository) error {
				if err := createAndPublish(t.Context(), tx, u, tt.nested); err != nil {
					return err
				}

				wantOutbox(t, pool) // not before the commit

				return tt.ret
			})
			if !stderrors.Is(err, tt.ret) {
				t.Fatalf("WithTx = %v, want %v", err, tt.ret)
			}

			if !tt.commit {
				wantOutbox(t, pool)
				wantNoUser(t, repo, u.ID)

				return
			}

			wantOutbox(t, pool, codeEvent(u.ID))

			if _, err := repo.User(t.Context(), u.ID); err != nil {
				t.Errorf("User(%q) after commit = %v, want the user the event reports", u.ID, err)
			}
		})
	}
}

// createAndPublish creates u and publishes codeEvent about it in tx, from
// a nested WithTx when nested.
func createAndPublish(ctx context.Context, tx repository.Repository, u models.User, nested bool) error {
	if nested {
		return tx.WithTx(ctx, func(tx repository.Repository) error {
			return createAndPublish(ctx, tx, u, false)
		})
	}

	if _, err := tx.CreateUser(ctx, u); err != nil {
		return err
	}

	return tx.Publish(ctx, codeEvent(u.ID))
}

// TestPublishOutsideTx checks an event published outside a transaction is
// stored at once, in a transaction of its own.
func TestPublishOutsideTx(t *testing.T) {
	t.Parallel()

	repo, pool := newRepo(t)
	e := codeEvent("user_01jpada")

	if err := repo.Publish(t.Context(), e); err != nil {
		t.Fatalf("Publish(%s) = %v", e.EventName(), err)
	}

	wantOutbox(t, pool, e)

	// A failed transaction started afterwards does not take it back.
	err := repo.WithTx(t.Context(), func(repository.Repository) error { return errRollback })
	if !stderrors.Is(err, errRollback) {
		t.Fatalf("WithTx = %v, want %v", err, errRollback)
	}

	wantOutbox(t, pool, e)
}

// TestPublishFails checks a publication the bus refuses comes back as an
// error, inside a transaction (rolling back what the caller returns it
// from) and outside.
func TestPublishFails(t *testing.T) {
	t.Parallel()

	repo, bus, pool := newRepoBus(t)
	u := newUser(t, "ada@example.com", "")

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()

	if err := bus.Close(ctx); err != nil {
		t.Fatalf("Close() = %v", err)
	}

	err := repo.WithTx(t.Context(), func(tx repository.Repository) error {
		return createAndPublish(t.Context(), tx, u, false)
	})
	if !stderrors.Is(err, events.ErrClosed) {
		t.Errorf("WithTx(CreateUser, Publish) on a closed bus = %v, want %v", err, events.ErrClosed)
	}

	if err := repo.Publish(t.Context(), codeEvent(u.ID)); !stderrors.Is(err, events.ErrClosed) {
		t.Errorf("Publish() on a closed bus = %v, want %v", err, events.ErrClosed)
	}

	wantNoUser(t, repo, u.ID)
	wantOutbox(t, pool)
}
