// Package repotree copies the repository for the scripts' end-to-end tests,
// which scaffold, version or rename a copy of the tree rather than the tree
// itself.
package repotree

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"slices"
	"strings"
	"testing"
	"time"
)

// skipped are the directories a walk leaves out when git is not there:
// git's data, and what builds, tests and tools write.
var skipped = map[string]bool{".git": true, "bin": true, "tmp": true, ".data": true, ".cache": true, "node_modules": true}

// Files lists the files git knows of in root (tracked, and untracked but not
// ignored), or without git every file but those under the directories
// builds and tools write.
func Files(t testing.TB, root string) []string {
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
		case d.IsDir() && skipped[d.Name()]:
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

// Copy copies the files of the repository at from (Files) to the directory
// to, which it creates, keeping their permissions.
func Copy(t testing.TB, from, to string) {
	t.Helper()

	if err := os.MkdirAll(to, 0o750); err != nil {
		t.Fatal(err)
	}

	dst, err := os.OpenRoot(to)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()

	src := os.DirFS(from)

	for _, name := range Files(t, from) {
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

// Command runs make or go (name) with args in dir, with the test's
// environment plus env but none of an outer make's variables (so a make run
// inside `make test` starts afresh), logs how long it took, and returns its
// output; it fails the test if the command fails.
func Command(t testing.TB, dir string, env []string, name string, args ...string) string {
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
