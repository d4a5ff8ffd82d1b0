package migration

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Errors returned by Parse, Create and the Runner; match them with errors.Is.
var (
	// ErrBadName reports a .sql file or migration name that does not follow
	// NNNNNN_name.up.sql / NNNNNN_name.down.sql with a positive version.
	ErrBadName = errors.New("bad migration name")
	// ErrDuplicateVersion reports two migrations sharing one version.
	ErrDuplicateVersion = errors.New("duplicate migration version")
	// ErrMissingDown reports an .up.sql file without its .down.sql.
	ErrMissingDown = errors.New("missing down migration")
	// ErrStrayFile reports a .down.sql file without its .up.sql.
	ErrStrayFile = errors.New("down migration without up migration")
	// ErrInvalidModule reports a module name that cannot be a schema name, or a module
	// listed twice.
	ErrInvalidModule = errors.New("invalid module")
	// ErrUnknownModule reports a module that is not among the Runner's sources.
	ErrUnknownModule = errors.New("unknown module")
	// ErrUnknownVersion reports versions applied to the database that no file contains:
	// the binary is older than the database.
	ErrUnknownVersion = errors.New("database has migrations this binary does not know")
	// ErrNoneApplied reports a Down on a module without applied migrations.
	ErrNoneApplied = errors.New("no migration applied")
)

var (
	moduleRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
	fileRE   = regexp.MustCompile(`^([0-9]+)_([a-z0-9_]+)\.(up|down)\.sql$`)
)

// Source is one module's migrations and seeds.
type Source struct {
	// Module is also the schema name; it must match ^[a-z][a-z0-9_]{0,62}$ and must not
	// start with pg_ (reserved by PostgreSQL).
	Module string
	// Migrations holds the migration files at its root; nil means none.
	Migrations fs.FS
	// Seeds holds *.sql files at its root, run in name order; nil means none.
	Seeds fs.FS
}

// Migration is one version of a module's schema.
type Migration struct {
	Version int64
	Name    string
	Up      string
	Down    string
}

// file is a Migration with the base of its file names (000001_init), kept so that
// messages name the files exactly as they are spelled.
type file struct {
	Migration

	base string
	up   bool
	down bool
}

// Parse reads the migrations at the root of fsys, sorted by version. Files that do not
// end in .sql (README.md) and directories are ignored; a nil fsys has no migrations.
func Parse(fsys fs.FS) ([]Migration, error) {
	files, err := parse(fsys)
	if err != nil || len(files) == 0 {
		return nil, err
	}

	migrations := make([]Migration, len(files))
	for i, f := range files {
		migrations[i] = f.Migration
	}

	return migrations, nil
}

func parse(fsys fs.FS) ([]file, error) {
	if fsys == nil {
		return nil, nil
	}

	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}

	byVersion := map[int64]*file{}

	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".sql" {
			continue
		}

		if err := add(fsys, byVersion, e.Name()); err != nil {
			return nil, err
		}
	}

	return complete(byVersion)
}

// add reads one migration file into its version's entry.
func add(fsys fs.FS, byVersion map[int64]*file, name string) error {
	m := fileRE.FindStringSubmatch(name)
	if m == nil {
		return fmt.Errorf("migration file %s: %w", name, ErrBadName)
	}

	version, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || version <= 0 {
		return fmt.Errorf("migration file %s: version must be a positive int64: %w", name, ErrBadName)
	}

	base := strings.TrimSuffix(name, "."+m[3]+".sql")

	f := byVersion[version]
	if f == nil {
		f = &file{Migration: Migration{Version: version, Name: m[2]}, base: base}
		byVersion[version] = f
	}

	if f.base != base {
		return fmt.Errorf("migration files %s and %s: %w", f.base, base, ErrDuplicateVersion)
	}

	body, err := fs.ReadFile(fsys, name)
	if err != nil {
		return fmt.Errorf("read migration %s: %w", name, err)
	}

	if m[3] == "up" {
		f.Up, f.up = string(body), true
	} else {
		f.Down, f.down = string(body), true
	}

	return nil
}

// complete checks that every version has both directions and sorts the versions.
func complete(byVersion map[int64]*file) ([]file, error) {
	files := make([]file, 0, len(byVersion))
	for _, f := range byVersion {
		files = append(files, *f)
	}

	slices.SortFunc(files, func(a, b file) int { return cmp.Compare(a.Version, b.Version) })

	for _, f := range files {
		switch {
		case !f.up:
			return nil, fmt.Errorf("migration file %s.down.sql: %w", f.base, ErrStrayFile)
		case !f.down:
			return nil, fmt.Errorf("migration file %s.up.sql: %w", f.base, ErrMissingDown)
		}
	}

	return files, nil
}

func validModule(name string) error {
	if !moduleRE.MatchString(name) || strings.HasPrefix(name, "pg_") {
		return fmt.Errorf("module %q: name must match %s and not start with pg_: %w",
			name, moduleRE, ErrInvalidModule)
	}

	return nil
}
