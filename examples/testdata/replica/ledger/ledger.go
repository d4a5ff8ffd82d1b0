// Package ledger is a test module: two durable subscribers, ledger-a and
// ledger-b, each apply every ledger.entry_recorded event by inserting a row into their
// own table of the ledger schema, through the handler's transaction. The
// examples' durability tests count those rows after killing replicas at
// random: exactly one per event and subscriber means no event was lost and
// none took effect twice.
//
// It publishes nothing; the tests publish the events themselves
// (EntryRecorded).
package ledger

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/migration"
	"github.com/modulith/modulith/internal/registry"
)

// Name is the module's name, schema and configuration section.
const Name = "ledger"

// EntryRecorded is the event both subscribers apply: the N-th entry.
type EntryRecorded struct {
	N int `json:"n"`
}

// EventName implements events.Payload.
func (EntryRecorded) EventName() string { return "ledger.entry_recorded" }

// EventVersion implements events.Payload.
func (EntryRecorded) EventVersion() int { return 1 }

// Subscriber is a durable subscriber of EntryRecorded and the table it
// applies events to.
type Subscriber struct {
	Name  string
	Table string
}

// Subscribers are the module's subscribers.
func Subscribers() []Subscriber {
	return []Subscriber{
		{Name: "ledger-a", Table: "ledger.applied_a"},
		{Name: "ledger-b", Table: "ledger.applied_b"},
	}
}

// Config is the module's configuration section.
type Config struct {
	// ApplyDelay is how long a handler holds its transaction open after
	// its insert, so that a replica killed at random is likely to die
	// in the middle of a batch.
	ApplyDelay time.Duration `yaml:"apply_delay" env:"LEDGER_APPLY_DELAY" default:"0s"`
}

var errNoTx = errors.New("ledger: handler called without a transaction")

//go:embed migration/*.sql
var migrations embed.FS

// Module is the ledger module.
type Module struct{}

var (
	_ registry.Module   = Module{}
	_ registry.Migrator = Module{}
)

// Name returns "ledger".
func (Module) Name() string { return Name }

// Init subscribes the two subscribers to EntryRecorded.
func (Module) Init(h registry.Host) error {
	var cfg Config
	if err := h.Config(&cfg); err != nil {
		return err
	}

	for _, s := range Subscribers() {
		if err := events.Subscribe(h.Bus(), s.Name, apply(s, cfg.ApplyDelay)); err != nil {
			return err
		}
	}

	return nil
}

// apply records that s applied the event, in the delivery's transaction:
// the row commits if and only if the delivery is recorded as done.
func apply(s Subscriber, delay time.Duration) func(context.Context, events.Event[EntryRecorded]) error {
	insert := "INSERT INTO " + s.Table + " (event_id, subscriber) VALUES ($1, $2)"

	return func(ctx context.Context, e events.Event[EntryRecorded]) error {
		tx, ok := events.Tx(ctx)
		if !ok {
			return errNoTx
		}

		if _, err := tx.Exec(ctx, insert, e.ID, s.Name); err != nil {
			return fmt.Errorf("apply %s: %w", e.ID, err)
		}

		time.Sleep(delay)

		return nil
	}
}

// Migrations returns the ledger schema's migrations.
func (Module) Migrations() fs.FS {
	sub, err := fs.Sub(migrations, "migration")
	if err != nil {
		panic("ledger: " + err.Error()) // the directory is embedded above
	}

	return sub
}

// Source is the module's migration source, for tests that create the
// database before any replica starts.
func Source() migration.Source {
	return migration.Source{Module: Name, Migrations: Module{}.Migrations()}
}
