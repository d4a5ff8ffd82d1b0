package migration

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// Status is where one module's schema stands against its files.
type Status struct {
	Module  string
	Applied []AppliedMigration
	Pending []Migration
	// Unknown lists versions applied to the database that no file contains.
	Unknown []int64
}

// AppliedMigration is a migration with the time it was applied.
type AppliedMigration struct {
	Migration

	AppliedAt time.Time
}

// record is one row of a module's history.
type record struct {
	Version   int64
	AppliedAt time.Time
}

// Status reports every module, in the order of the sources. It only reads: a module
// that was never migrated has everything pending and gets no schema.
func (r *Runner) Status(ctx context.Context) ([]Status, error) {
	modules, err := r.load()
	if err != nil {
		return nil, err
	}

	statuses := make([]Status, 0, len(modules))

	for _, m := range modules {
		records, err := r.history(ctx, m)
		if err != nil {
			return nil, err
		}

		statuses = append(statuses, m.status(records))
	}

	return statuses, nil
}

// history reads a module's history rows, none when the table does not exist.
func (r *Runner) history(ctx context.Context, m module) ([]record, error) {
	var exists bool
	if err := r.pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", m.history).Scan(&exists); err != nil {
		return nil, fmt.Errorf("module %s: find history: %w", m.Module, err)
	}

	if !exists {
		return nil, nil
	}

	rows, err := r.pool.Query(ctx, "SELECT version, applied_at FROM "+m.history+" ORDER BY version")
	if err != nil {
		return nil, fmt.Errorf("module %s: read history: %w", m.Module, err)
	}

	records, err := pgx.CollectRows(rows, pgx.RowToStructByPos[record])
	if err != nil {
		return nil, fmt.Errorf("module %s: read history: %w", m.Module, err)
	}

	return records, nil
}

func (m module) status(records []record) Status {
	s := Status{Module: m.Module}
	versions := make([]int64, len(records))

	for i, rec := range records {
		versions[i] = rec.Version

		if f, ok := m.find(rec.Version); ok {
			s.Applied = append(s.Applied, AppliedMigration{Migration: f.Migration, AppliedAt: rec.AppliedAt})
		} else {
			s.Unknown = append(s.Unknown, rec.Version)
		}
	}

	for _, f := range m.files {
		if !slices.Contains(versions, f.Version) {
			s.Pending = append(s.Pending, f.Migration)
		}
	}

	return s
}
