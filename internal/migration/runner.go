package migration

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// unlockTimeout bounds the unlock that runs after the caller's context may be gone.
const unlockTimeout = 5 * time.Second

// Runner applies, reverts and reports the migrations of a fixed list of modules.
type Runner struct {
	pool    *pgxpool.Pool
	sources []Source
	out     io.Writer
}

// NewRunner returns a Runner for sources, in the order given. out receives one line per
// action (a nil out discards them).
func NewRunner(pool *pgxpool.Pool, sources []Source, out io.Writer) *Runner {
	if out == nil {
		out = io.Discard
	}

	return &Runner{pool: pool, sources: slices.Clone(sources), out: out}
}

// Applied is one migration that Up applied or Down reverted.
type Applied struct {
	Module   string
	Version  int64
	Name     string
	Duration time.Duration
}

// module is a validated Source with its parsed migrations.
type module struct {
	Source

	files   []file
	schema  string // quoted identifier
	history string // quoted <schema>.schema_migrations
}

func (m module) find(version int64) (file, bool) {
	i := slices.IndexFunc(m.files, func(f file) bool { return f.Version == version })
	if i < 0 {
		return file{}, false
	}

	return m.files[i], true
}

// unknown returns the applied versions that no file has.
func (m module) unknown(applied []int64) []int64 {
	var unknown []int64

	for _, v := range applied {
		if _, ok := m.find(v); !ok {
			unknown = append(unknown, v)
		}
	}

	return unknown
}

// pending returns the files not applied yet, in version order.
func (m module) pending(applied []int64) []file {
	var pending []file

	for _, f := range m.files {
		if !slices.Contains(applied, f.Version) {
			pending = append(pending, f)
		}
	}

	return pending
}

// load validates every source and parses its migrations, so that a bad file in the last
// module is reported before the first module changes.
func (r *Runner) load() ([]module, error) {
	modules := make([]module, 0, len(r.sources))
	seen := map[string]bool{}

	for _, s := range r.sources {
		if err := validModule(s.Module); err != nil {
			return nil, err
		}

		if seen[s.Module] {
			return nil, fmt.Errorf("module %s listed twice: %w", s.Module, ErrInvalidModule)
		}

		seen[s.Module] = true

		files, err := parse(s.Migrations)
		if err != nil {
			return nil, fmt.Errorf("module %s: %w", s.Module, err)
		}

		schema := pgx.Identifier{s.Module}.Sanitize()
		history := pgx.Identifier{s.Module, "schema_migrations"}.Sanitize()
		modules = append(modules, module{Source: s, files: files, schema: schema, history: history})
	}

	return modules, nil
}

// lookup returns the named modules, in the order given, or every module when names is
// empty.
func (r *Runner) lookup(names ...string) ([]module, error) {
	modules, err := r.load()
	if err != nil || len(names) == 0 {
		return modules, err
	}

	picked := make([]module, 0, len(names))

	for _, name := range names {
		i := slices.IndexFunc(modules, func(m module) bool { return m.Module == name })
		if i < 0 {
			return nil, fmt.Errorf("module %q: %w", name, ErrUnknownModule)
		}

		picked = append(picked, modules[i])
	}

	return picked, nil
}

// withLock runs fn on one connection that holds the module's advisory lock, after making
// sure the module's schema and history table exist. The lock is session-level, so it
// covers the separate transaction of every migration that fn runs.
func (r *Runner) withLock(ctx context.Context, m module, fn func(conn *pgx.Conn) error) error {
	pc, err := r.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("module %s: acquire connection: %w", m.Module, err)
	}
	defer pc.Release()

	conn := pc.Conn()
	key := lockKey(m.Module)

	defer unlock(ctx, conn, key)

	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		return fmt.Errorf("module %s: lock: %w", m.Module, err)
	}

	create := "CREATE SCHEMA IF NOT EXISTS " + m.schema + ";\n" +
		"CREATE TABLE IF NOT EXISTS " + m.history + ` (
			version bigint PRIMARY KEY,
			name text NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now())`
	if _, err := conn.Exec(ctx, create); err != nil {
		return fmt.Errorf("module %s: create history: %w", m.Module, err)
	}

	return fn(conn)
}

// unlock frees the advisory lock even when ctx is done. When that fails the connection
// is closed, which ends the session and its locks; Release then drops it from the pool.
func unlock(ctx context.Context, conn *pgx.Conn, key int64) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlockTimeout)
	defer cancel()

	if _, err := conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", key); err != nil {
		_ = conn.Close(ctx)
	}
}

// lockKey derives the module's advisory lock key, stable across processes and releases.
func lockKey(module string) int64 {
	sum := sha256.Sum256([]byte("modulith.migrate." + module))

	var key int64
	for _, b := range sum[:8] {
		key = key<<8 | int64(b)
	}

	return key
}

// appliedVersions returns the module's applied versions in ascending order.
func appliedVersions(ctx context.Context, conn *pgx.Conn, m module) ([]int64, error) {
	rows, err := conn.Query(ctx, "SELECT version FROM "+m.history+" ORDER BY version")
	if err != nil {
		return nil, fmt.Errorf("module %s: read history: %w", m.Module, err)
	}

	versions, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("module %s: read history: %w", m.Module, err)
	}

	return versions, nil
}

// formatDuration keeps sub-millisecond steps from printing as 0s.
func formatDuration(d time.Duration) string {
	if d < time.Millisecond {
		return d.Round(time.Microsecond).String()
	}

	return d.Round(time.Millisecond).String()
}
