package migration

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// FileError is a migration or seed file that failed; the transaction it ran in was rolled
// back. Err is the database error (a *pgconn.PgError for SQL errors).
type FileError struct {
	Module  string
	Version int64 // 0 for seeds
	File    string
	Err     error
}

func (e *FileError) Error() string {
	if e.Version == 0 {
		return fmt.Sprintf("module %s, file %s: %v", e.Module, e.File, e.Err)
	}

	return fmt.Sprintf("module %s, version %d, file %s: %v", e.Module, e.Version, e.File, e.Err)
}

func (e *FileError) Unwrap() error { return e.Err }

// txStarter is what a step needs: *pgx.Conn and *pgxpool.Pool both qualify.
type txStarter interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// step is one file run in its own transaction, with an optional bookkeeping statement
// committed together with it.
type step struct {
	module  string
	version int64
	file    string
	script  string
	record  string
	args    []any
}

func (s step) run(ctx context.Context, db txStarter) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return s.fail(err)
	}

	defer func() { _ = tx.Rollback(ctx) }() // no-op after Commit

	// Without arguments pgx uses the simple protocol, which accepts many statements.
	if _, err := tx.Exec(ctx, s.script); err != nil {
		return s.fail(err)
	}

	if s.record != "" {
		if _, err := tx.Exec(ctx, s.record, s.args...); err != nil {
			return s.fail(err)
		}
	}

	if err := tx.Commit(ctx); err != nil {
		return s.fail(err)
	}

	return nil
}

func (s step) fail(err error) error {
	return &FileError{Module: s.module, Version: s.version, File: s.file, Err: err}
}

// Up applies every pending migration of every module, module by module in the order the
// sources were given and version by version within a module. It returns what it applied
// (also on error, up to the failure); nothing pending is not an error.
func (r *Runner) Up(ctx context.Context) ([]Applied, error) {
	modules, err := r.load()
	if err != nil {
		return nil, err
	}

	var applied []Applied

	for _, m := range modules {
		done, err := r.upModule(ctx, m)
		applied = append(applied, done...)

		if err != nil {
			return applied, err
		}
	}

	return applied, nil
}

func (r *Runner) upModule(ctx context.Context, m module) ([]Applied, error) {
	var applied []Applied

	err := r.withLock(ctx, m, func(conn *pgx.Conn) error {
		versions, err := appliedVersions(ctx, conn, m)
		if err != nil {
			return err
		}

		if unknown := m.unknown(versions); len(unknown) > 0 {
			return fmt.Errorf("module %s: applied versions %v have no files: %w", m.Module, unknown, ErrUnknownVersion)
		}

		pending := m.pending(versions)
		if len(pending) == 0 {
			fmt.Fprintf(r.out, "migrate: %s is up to date (version %d)\n", m.Module, latest(versions))

			return nil
		}

		for _, f := range pending {
			done, err := r.apply(ctx, conn, m, f)
			if err != nil {
				return err
			}

			applied = append(applied, done)
		}

		return nil
	})

	return applied, err
}

func (r *Runner) apply(ctx context.Context, conn *pgx.Conn, m module, f file) (Applied, error) {
	start := time.Now()
	s := step{
		module: m.Module, version: f.Version, file: f.base + ".up.sql", script: f.Up,
		record: "INSERT INTO " + m.history + " (version, name) VALUES ($1, $2)",
		args:   []any{f.Version, f.Name},
	}

	if err := s.run(ctx, conn); err != nil {
		return Applied{}, err
	}

	d := time.Since(start)
	fmt.Fprintf(r.out, "migrate: %s %s applied (%s)\n", m.Module, f.base, formatDuration(d))

	return Applied{Module: m.Module, Version: f.Version, Name: f.Name, Duration: d}, nil
}

// Down reverts the latest applied migration of one module.
func (r *Runner) Down(ctx context.Context, moduleName string) (Applied, error) {
	modules, err := r.lookup(moduleName)
	if err != nil {
		return Applied{}, err
	}

	m := modules[0]

	var reverted Applied

	err = r.withLock(ctx, m, func(conn *pgx.Conn) error {
		versions, err := appliedVersions(ctx, conn, m)
		if err != nil {
			return err
		}

		if len(versions) == 0 {
			return fmt.Errorf("module %s: %w", m.Module, ErrNoneApplied)
		}

		f, ok := m.find(latest(versions))
		if !ok {
			return fmt.Errorf("module %s: applied version %d has no files: %w", m.Module, latest(versions), ErrUnknownVersion)
		}

		reverted, err = r.revert(ctx, conn, m, f)

		return err
	})

	return reverted, err
}

func (r *Runner) revert(ctx context.Context, conn *pgx.Conn, m module, f file) (Applied, error) {
	start := time.Now()
	s := step{
		module: m.Module, version: f.Version, file: f.base + ".down.sql", script: f.Down,
		record: "DELETE FROM " + m.history + " WHERE version = $1",
		args:   []any{f.Version},
	}

	if err := s.run(ctx, conn); err != nil {
		return Applied{}, err
	}

	fmt.Fprintf(r.out, "migrate: %s %s reverted\n", m.Module, f.base)

	return Applied{Module: m.Module, Version: f.Version, Name: f.Name, Duration: time.Since(start)}, nil
}

// latest returns the highest of ascending versions, 0 for none.
func latest(versions []int64) int64 {
	if len(versions) == 0 {
		return 0
	}

	return versions[len(versions)-1]
}
