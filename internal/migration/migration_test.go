package migration_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/modulith/modulith/internal/migration"
)

// files builds an FS from name/content pairs.
func files(pairs ...string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for len(pairs) >= 2 {
		fsys[pairs[0]] = &fstest.MapFile{Data: []byte(pairs[1])}
		pairs = pairs[2:]
	}

	return fsys
}

func TestParse(t *testing.T) {
	t.Parallel()

	fsys := files(
		"10_c.up.sql", "up 10", "10_c.down.sql", "down 10",
		"2_b.up.sql", "up 2", "2_b.down.sql", "down 2",
		"000001_a.up.sql", "up 1", "000001_a.down.sql", "",
		"README.md", "not a migration",
		"old/000099_x.up.sql", "directories are ignored",
	)

	got, err := migration.Parse(fsys)
	if err != nil {
		t.Fatalf("Parse() = %v", err)
	}

	want := []migration.Migration{
		{Version: 1, Name: "a", Up: "up 1", Down: ""},
		{Version: 2, Name: "b", Up: "up 2", Down: "down 2"},
		{Version: 10, Name: "c", Up: "up 10", Down: "down 10"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Parse() mismatch (-want +got):\n%s", diff)
	}

	if got, err := migration.Parse(nil); err != nil || got != nil {
		t.Errorf("Parse(nil) = %v, %v; want nil, nil", got, err)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		fsys fstest.MapFS
		want error
	}{
		{"upper case", files("000001_Init.up.sql", "", "000001_Init.down.sql", ""), migration.ErrBadName},
		{"no version", files("init.up.sql", "", "init.down.sql", ""), migration.ErrBadName},
		{"no direction", files("000001_init.sql", ""), migration.ErrBadName},
		{"stray sql", files("schema.sql", ""), migration.ErrBadName},
		{"version zero", files("000000_init.up.sql", "", "000000_init.down.sql", ""), migration.ErrBadName},
		{"version overflow", files("99999999999999999999_x.up.sql", "", "99999999999999999999_x.down.sql", ""), migration.ErrBadName},
		{"two names", files(
			"000001_a.up.sql", "", "000001_a.down.sql", "",
			"000001_b.up.sql", "", "000001_b.down.sql", "",
		), migration.ErrDuplicateVersion},
		{"two spellings", files("1_a.up.sql", "", "1_a.down.sql", "", "01_a.up.sql", "", "01_a.down.sql", ""), migration.ErrDuplicateVersion},
		{"up and down disagree", files("000001_a.up.sql", "", "000001_b.down.sql", ""), migration.ErrDuplicateVersion},
		{"missing down", files("000001_a.up.sql", "", "000002_b.up.sql", "", "000002_b.down.sql", ""), migration.ErrMissingDown},
		{"down only", files("000001_a.down.sql", ""), migration.ErrStrayFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			if _, err := migration.Parse(tt.fsys); !errors.Is(err, tt.want) {
				t.Errorf("Parse(%v) = %v, want %v", keys(tt.fsys), err, tt.want)
			}
		})
	}
}

func TestCreate(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name     string
		subdir   string
		existing []string
		want     string
	}{
		{"empty dir", "", nil, "000001_add_users"},
		{"after 7", "", []string{"000007_x.up.sql", "000007_x.down.sql", "000003_y.up.sql", "000003_y.down.sql", "README.md"}, "000008_add_users"},
		{"missing dir", "resources/db/migration", nil, "000001_add_users"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			dir := filepath.Join(t.TempDir(), tt.subdir)
			writeEmpty(t, dir, tt.existing...)

			up, down, err := migration.Create(dir, "add_users")
			if err != nil {
				t.Fatalf("Create(%q) = %v", "add_users", err)
			}

			wantUp, wantDown := filepath.Join(dir, tt.want+".up.sql"), filepath.Join(dir, tt.want+".down.sql")
			if up != wantUp || down != wantDown {
				t.Errorf("Create(%q) = %q, %q; want %q, %q", "add_users", up, down, wantUp, wantDown)
			}

			// The new pair must be a valid migration set together with what was there.
			migrations, err := migration.Parse(os.DirFS(dir))
			if err != nil {
				t.Fatalf("Parse after Create = %v", err)
			}

			if last := migrations[len(migrations)-1]; last.Name != "add_users" {
				t.Errorf("last migration after Create = %+v, want add_users", last)
			}
		})
	}
}

func writeEmpty(t *testing.T, dir string, names ...string) {
	t.Helper()

	for _, name := range names {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCreateRejectsBadNames(t *testing.T) {
	t.Parallel()

	for _, name := range []string{"", "AddUsers", "add-users", "add users", "../escape"} {
		dir := t.TempDir()
		if _, _, err := migration.Create(dir, name); !errors.Is(err, migration.ErrBadName) {
			t.Errorf("Create(%q) = %v, want %v", name, err, migration.ErrBadName)
		}

		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("Create(%q) left %d files", name, len(entries))
		}
	}
}

func keys(fsys fstest.MapFS) []string {
	names := make([]string, 0, len(fsys))
	for name := range fsys {
		names = append(names, name)
	}

	return names
}
