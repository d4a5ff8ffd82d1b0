package main

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

func TestFindBinaries(t *testing.T) {
	root := t.TempDir()
	both := []string{"initdb", "pg_ctl"}

	fakeInstall(t, root, "lib/postgresql/9.6/bin", both...)
	fakeInstall(t, root, "lib/postgresql/14/bin", both...)
	fakeInstall(t, root, "lib/postgresql/16/bin", "initdb") // incomplete: no pg_ctl
	fakeInstall(t, root, "opt/postgresql@9/bin", both...)
	fakeInstall(t, root, "opt/postgresql@15/bin", both...)
	fakeInstall(t, root, "path/bin", both...)
	fakeInstall(t, root, "broken/bin", "pg_ctl")
	writeFiles(t, root, map[string]string{"broken/bin/initdb": "not executable"})

	links := filepath.Join(root, "links")
	if err := os.MkdirAll(links, 0o750); err != nil {
		t.Fatal(err)
	}

	if err := os.Symlink(filepath.Join(root, "lib/postgresql/9.6/bin/initdb"), filepath.Join(links, "initdb")); err != nil {
		t.Fatal(err)
	}

	debian := filepath.Join(root, "lib/postgresql/*/bin")
	homebrew := filepath.Join(root, "opt/postgresql@*/bin")
	broken := filepath.Join(root, "broken/bin")
	missing := filepath.Join(root, "missing/*/bin")

	tests := []struct {
		name    string
		path    string // where lookPath finds initdb; "" finds nothing
		globs   []string
		want    string
		wantErr error
	}{
		{name: "PATH first", path: filepath.Join(root, "path/bin/initdb"), globs: []string{debian}, want: "path/bin"},
		{name: "PATH symlink resolved", path: filepath.Join(links, "initdb"), globs: []string{debian}, want: "lib/postgresql/9.6/bin"},
		{name: "highest complete version", globs: []string{debian}, want: "lib/postgresql/14/bin"},
		{name: "globs in order", globs: []string{missing, homebrew, debian}, want: "opt/postgresql@15/bin"},
		{name: "non-executable skipped", globs: []string{broken, debian}, want: "lib/postgresql/14/bin"},
		{name: "nothing anywhere", globs: []string{missing, broken}, wantErr: errNoBinaries},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lookPath := func(name string) (string, error) {
				if name != "initdb" || tt.path == "" {
					return "", exec.ErrNotFound
				}

				return tt.path, nil
			}

			got, err := findBinaries(lookPath, tt.globs)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("findBinaries() error = %v, want %v", err, tt.wantErr)
			}

			if tt.wantErr != nil {
				return
			}

			if want := filepath.Join(root, tt.want); got.dir != want {
				t.Errorf("findBinaries() = %q, want %q", got.dir, want)
			}
		})
	}
}

func TestCandidateDirsHighestVersionFirst(t *testing.T) {
	root := t.TempDir()
	for _, v := range []string{"9.6", "10", "16", "14"} {
		fakeInstall(t, root, "lib/postgresql/"+v+"/bin")
	}

	noPath := func(string) (string, error) { return "", exec.ErrNotFound }
	got := candidateDirs(noPath, []string{filepath.Join(root, "lib/postgresql/*/bin")})

	var want []string
	for _, v := range []string{"16", "14", "10", "9.6"} {
		want = append(want, filepath.Join(root, "lib/postgresql", v, "bin"))
	}

	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("candidateDirs() mismatch (-want +got):\n%s", diff)
	}
}

// fakeInstall creates dir below root with an executable script per name.
// os.CopyFS keeps the execute bits of the MapFS modes.
func fakeInstall(t *testing.T, root, dir string, names ...string) {
	t.Helper()

	tree := fstest.MapFS{dir: &fstest.MapFile{Mode: fs.ModeDir | 0o755}}
	for _, name := range names {
		tree[dir+"/"+name] = &fstest.MapFile{Data: []byte("#!/bin/sh\n"), Mode: 0o755}
	}

	if err := os.CopyFS(root, tree); err != nil {
		t.Fatal(err)
	}
}
