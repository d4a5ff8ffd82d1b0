package main

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modulith/modulith/internal/pgtest"
)

// TestScaffoldedModuleEndToEnd does what a developer does, on a copy of the
// repository: make new-module NAME=products; go build ./...; go vet and
// go test -race of the new module (its repository and gRPC and REST tests
// on a real PostgreSQL), with no edit in between; then make destroy-module
// NAME=products, after which every file is as it was.
func TestScaffoldedModuleEndToEnd(t *testing.T) {
	t.Parallel()

	if testing.Short() {
		t.Skip("generates, builds and tests a module: skipped by -short; make test runs it")
	}

	dbURL := pgtest.ServerURL(t)

	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}

	dir := filepath.Join(t.TempDir(), "repo")
	copyRepo(t, root, dir)

	// The baseline is the copy as make generate leaves it, so that only
	// new-module and destroy-module count, not code another change left
	// stale.
	command(t, dir, nil, "make", "--no-print-directory", "generate", "verify-modules")
	before := tree(t, dir)

	out := command(t, dir, nil, "make", "--no-print-directory", "new-module", "NAME=products")
	for _, want := range []string{"modules/products/module.go", "products.v1.ProductService", "make test"} {
		if !strings.Contains(out, want) {
			t.Errorf("make new-module NAME=products does not mention %q:\n%s", want, out)
		}
	}

	command(t, dir, nil, "go", "build", "./...")
	command(t, dir, nil, "go", "vet", "./modules/products/...", "./cmd/products", "./cmd/server/...")
	command(t, dir, []string{"TEST_DATABASE_URL=" + dbURL}, "go", "test", "-race", "-count=1", "./modules/products/...")

	command(t, dir, nil, "make", "--no-print-directory", "destroy-module", "NAME=products")

	if diff := cmp.Diff(before, tree(t, dir)); diff != "" {
		t.Errorf("files after new-module and destroy-module (-before +after):\n%s", diff)
	}
}

// command runs name with args in dir, with the test's environment plus env
// (but none of an outer make's variables), and returns its output; it fails
// the test if the command fails.
func command(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()

	var cmd *exec.Cmd

	switch name {
	case "make":
		cmd = exec.CommandContext(t.Context(), "make")
	case "go":
		cmd = exec.CommandContext(t.Context(), "go")
	default:
		t.Fatalf("command %s: want make or go", name)
	}

	cmd.Args = append(cmd.Args, args...)
	cmd.Dir = dir
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "MAKEFLAGS=") || strings.HasPrefix(kv, "MFLAGS=") || strings.HasPrefix(kv, "MAKELEVEL=")
	})
	cmd.Env = append(cmd.Env, env...)

	start := time.Now()
	out, err := cmd.CombinedOutput()

	t.Logf("%s %s: %v", name, strings.Join(args, " "), time.Since(start).Round(100*time.Millisecond))

	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}

	return string(out)
}

// copyRepo copies the files git knows of (tracked, and untracked but not
// ignored), or without git every file but .git, .data and bin.
func copyRepo(t *testing.T, from, to string) {
	t.Helper()

	dst, err := os.OpenRoot(mkdir(t, to))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()

	src := os.DirFS(from)

	for _, name := range repoFiles(t, from) {
		fi, err := fs.Stat(src, name)
		if errors.Is(err, fs.ErrNotExist) || (err == nil && fi.IsDir()) {
			continue // deleted in the working tree, or a submodule
		}

		data, err := fs.ReadFile(src, name)
		if err != nil {
			t.Fatal(err)
		}

		if err := dst.MkdirAll(path.Dir(name), 0o750); err != nil {
			t.Fatal(err)
		}

		if err := dst.WriteFile(name, data, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
}

func mkdir(t *testing.T, dir string) string {
	t.Helper()

	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}

	return dir
}

// repoFiles lists the files git knows of in root, or without git every file
// but those under .git, .data and bin.
func repoFiles(t *testing.T, root string) []string {
	t.Helper()

	ls := exec.CommandContext(t.Context(), "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	ls.Dir = root

	if out, err := ls.Output(); err == nil {
		return strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	}

	var names []string

	err := fs.WalkDir(os.DirFS(root), ".", func(name string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && (name == ".git" || name == ".data" || name == "bin"):
			return fs.SkipDir
		case !d.IsDir():
			names = append(names, name)
		}

		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	return names
}
