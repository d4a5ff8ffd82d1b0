package feature

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/modulith/modulith/internal/database"
	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/repo"
)

// Publisher stores events in a transaction: the event bus.
type Publisher interface {
	Publish(ctx context.Context, tx pgx.Tx, p events.Payload) error
}

// Store reads and changes the flags in PostgreSQL. Every change validates
// the definition, notifies the replicas and publishes FlagChanged with its
// actor, all in its transaction: the change, the event and the
// invalidation happen together or not at all.
type Store struct {
	pool  *pgxpool.Pool
	bus   Publisher
	local *Flags // reloaded after each change, so this replica reads its own writes; may be nil
}

// NewStore returns the store of pool, publishing on bus; local, when not
// nil, is this process's Flags.
func NewStore(pool *pgxpool.Pool, bus Publisher, local *Flags) *Store {
	return &Store{pool: pool, bus: bus, local: local}
}

// entity names a flag in errors (NotFound, AlreadyExists).
const entity = "flag"

const columns = `key, type, description, enabled, value, rules, version, created_at, updated_at, updated_by`

// List returns every flag, by key.
func (s *Store) List(ctx context.Context) ([]Flag, error) {
	flags, err := list(ctx, s.pool)

	return flags, repo.Translate(entity, err)
}

// Get returns the flag key.
func (s *Store) Get(ctx context.Context, key string) (Flag, error) {
	f, err := scanFlag(s.pool.QueryRow(ctx, `SELECT `+columns+` FROM feature.flags WHERE key = $1`, key))

	return f, repo.Translate(entity, err)
}

// Create stores a new flag, made by actor.
func (s *Store) Create(ctx context.Context, actor string, f Flag) (Flag, error) {
	value, rules, err := prepare(&f)
	if err != nil {
		return Flag{}, err
	}

	return s.change(ctx, actor, ChangeCreated, f.Key, func(tx pgx.Tx) (*Flag, *Flag, error) {
		created, err := scanFlag(tx.QueryRow(ctx, `INSERT INTO feature.flags
			(key, type, description, enabled, value, rules, updated_by) VALUES ($1, $2, $3, $4, $5, $6, $7)
			RETURNING `+columns, f.Key, f.Type, f.Description, f.Enabled, value, rules, actor))

		return nil, &created, err
	})
}

// Update replaces the definition of the flag f.Key, made by actor.
func (s *Store) Update(ctx context.Context, actor string, f Flag) (Flag, error) {
	value, rules, err := prepare(&f)
	if err != nil {
		return Flag{}, err
	}

	return s.change(ctx, actor, ChangeUpdated, f.Key, func(tx pgx.Tx) (*Flag, *Flag, error) {
		old, err := scanFlag(tx.QueryRow(ctx, `SELECT `+columns+` FROM feature.flags WHERE key = $1 FOR UPDATE`, f.Key))
		if err != nil {
			return nil, nil, err
		}

		updated, err := scanFlag(tx.QueryRow(ctx, `UPDATE feature.flags
			SET type = $2, description = $3, enabled = $4, value = $5, rules = $6, updated_by = $7,
			    version = version + 1, updated_at = now()
			WHERE key = $1 RETURNING `+columns, f.Key, f.Type, f.Description, f.Enabled, value, rules, actor))

		return &old, &updated, err
	})
}

// Delete deletes the flag key, by actor, and returns what it was.
func (s *Store) Delete(ctx context.Context, actor, key string) (Flag, error) {
	return s.change(ctx, actor, ChangeDeleted, key, func(tx pgx.Tx) (*Flag, *Flag, error) {
		old, err := scanFlag(tx.QueryRow(ctx, `DELETE FROM feature.flags WHERE key = $1 RETURNING `+columns, key))

		return &old, nil, err
	})
}

// change runs write in a transaction with the notification and the event
// of its result, then reloads this replica's flags. It returns the flag
// after the change (before it, for a deletion).
func (s *Store) change(ctx context.Context, actor, change, key string, write func(pgx.Tx) (before, after *Flag, err error)) (Flag, error) {
	if actor == "" {
		return Flag{}, errors.Internal("change a flag", fmt.Errorf("flag %s: no actor", key))
	}

	var result Flag

	err := database.WithTx(ctx, s.pool, func(tx pgx.Tx) error {
		old, updated, err := write(tx)
		if err != nil {
			return repo.Translate(entity, err)
		}

		if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, notifyChannel, key); err != nil {
			return fmt.Errorf("notify change of flag %s: %w", key, err)
		}

		result = *cmp.Or(updated, old)

		return s.bus.Publish(ctx, tx, FlagChanged{Key: key, Change: change, Actor: actor, Old: state(old), New: state(updated)})
	})
	if err != nil {
		return Flag{}, err
	}

	if s.local != nil {
		// The notification reloads it too; this makes the change visible
		// here before the call returns. A failure leaves that to the
		// notification and the periodic reload.
		_ = s.local.Reload(ctx)
	}

	return result, nil
}

// querier runs queries: the pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func list(ctx context.Context, q querier) ([]Flag, error) {
	rows, err := q.Query(ctx, `SELECT `+columns+` FROM feature.flags ORDER BY key`)
	if err != nil {
		return nil, err
	}

	flags, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Flag, error) { return scanFlag(r) })
	if err != nil {
		return nil, fmt.Errorf("list flags: %w", err)
	}

	return flags, nil
}

func scanFlag(row pgx.Row) (Flag, error) {
	var (
		f           Flag
		value, rule []byte
	)

	err := row.Scan(&f.Key, &f.Type, &f.Description, &f.Enabled, &value, &rule, &f.Version, &f.CreatedAt, &f.UpdatedAt, &f.UpdatedBy)
	if err != nil {
		return Flag{}, fmt.Errorf("scan flag: %w", err)
	}

	if f.Value, err = decodeValue(f.Type, value); err != nil {
		return Flag{}, fmt.Errorf("flag %s: %w", f.Key, err)
	}

	if f.Rules, err = decodeRules(f.Type, rule); err != nil {
		return Flag{}, fmt.Errorf("flag %s: %w", f.Key, err)
	}

	f.CreatedAt, f.UpdatedAt = f.CreatedAt.UTC(), f.UpdatedAt.UTC()

	return f, nil
}

// prepare validates f (normalizing its values) and returns its value and
// rules as JSON.
func prepare(f *Flag) (value, rules []byte, err error) {
	if err := f.Validate(); err != nil {
		return nil, nil, err
	}

	return encode(*f)
}

// encode returns a validated flag's value and rules as JSON.
func encode(f Flag) (value, rules []byte, err error) {
	if value, err = json.Marshal(f.Value); err != nil {
		return nil, nil, fmt.Errorf("encode value of flag %s: %w", f.Key, err)
	}

	if f.Rules == nil {
		f.Rules = []Rule{}
	}

	if rules, err = json.Marshal(f.Rules); err != nil {
		return nil, nil, fmt.Errorf("encode rules of flag %s: %w", f.Key, err)
	}

	return value, rules, nil
}
