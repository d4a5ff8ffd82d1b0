package main

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"

	"github.com/modulith/modulith/scripts/internal/repotree"
)

func TestReplacePath(t *testing.T) {
	t.Parallel()

	const from, to = "github.com/a/b", "example.org/shop"

	tests := []struct{ in, want string }{
		{"module github.com/a/b\n", "module example.org/shop\n"},
		{`import "github.com/a/b/internal/x"`, `import "example.org/shop/internal/x"`},
		{`"github.com/a/b"`, `"example.org/shop"`},
		{"go_package = \"github.com/a/b/gen/go/x/v1;xv1\"", "go_package = \"example.org/shop/gen/go/x/v1;xv1\""},
		{"-X github.com/a/b/cmd.Version=1 -X github.com/a/b/cmd.Commit=2", "-X example.org/shop/cmd.Version=1 -X example.org/shop/cmd.Commit=2"},
		{"- github.com/a/b/*", "- example.org/shop/*"},
		{"github.com/a/b", "example.org/shop"},
		// Another module whose path merely starts or ends the same.
		{"github.com/a/bc", "github.com/a/bc"},
		{"github.com/a/b-c/x", "github.com/a/b-c/x"},
		{"example.com/github.com/a/b", "example.com/github.com/a/b"},
		// The repository's address, e.g. in git clone, stays.
		{"git clone https://github.com/a/b shop", "git clone https://github.com/a/b shop"},
	}
	for _, tt := range tests {
		if got := string(replacePath([]byte(tt.in), from, to)); got != tt.want {
			t.Errorf("replacePath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestCurrentModule checks that currentModule names this tree's module, as
// the renaming assumes.
func TestCurrentModule(t *testing.T) {
	t.Parallel()

	if got := modulePath(t, "../.."); got != currentModule {
		t.Errorf("go.mod's module is %s, currentModule %s", got, currentModule)
	}
}

func TestRunRefusesBadInput(t *testing.T) {
	t.Parallel()

	tests := []struct {
		args []string
		want string
	}{
		{nil, "-module is required"},
		{[]string{"-module", "Not A/Path"}, `-module "Not A/Path"`},
		{[]string{"-module", currentModule}, "already"},
		{[]string{"-module", "example.org/shop", "extra"}, "see usage"},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		file := filepath.Join(dir, "a.go")
		src := []byte("package a\n\nimport _ \"" + currentModule + "/x\"\n")

		if err := os.WriteFile(file, src, 0o600); err != nil {
			t.Fatal(err)
		}

		var out bytes.Buffer

		err := run(t.Context(), append([]string{"-root", dir}, tt.args...), &out, &out)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("run(%q) = %v, want an error with %q", tt.args, err, tt.want)
		}

		if got, _ := fs.ReadFile(os.DirFS(dir), "a.go"); !bytes.Equal(got, src) {
			t.Errorf("run(%q) changed a.go to %q", tt.args, got)
		}
	}
}

// TestRunSortsImports checks that a Go file stays gofmt-clean when the new
// path sorts elsewhere among its imports.
func TestRunSortsImports(t *testing.T) {
	t.Parallel()

	dir := t.TempDir()
	file := filepath.Join(dir, "a.go")
	src := "package a\n\nimport (\n\t_ \"example.net/m\"\n\t_ \"" + currentModule + "/x\"\n)\n"

	if err := os.MkdirAll(filepath.Join(dir, "tools"), 0o750); err != nil {
		t.Fatal(err)
	}

	for name, data := range map[string]string{file: src, filepath.Join(dir, "tools", "go.mod"): "module " + currentModule + "/tools\n"} {
		if err := os.WriteFile(name, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	var out bytes.Buffer
	if err := run(t.Context(), []string{"-root", dir, "-module", "aaa.example/shop", "-generate=false"}, &out, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, &out)
	}

	want := "package a\n\nimport (\n\t_ \"aaa.example/shop/x\"\n\t_ \"example.net/m\"\n)\n"
	if got, _ := fs.ReadFile(os.DirFS(dir), "a.go"); string(got) != want {
		t.Errorf("a.go = %q, want %q", got, want)
	}
}

// TestMakeHelp checks that make help lists the targets that run rename and
// writes no colour codes when its output is not a terminal (here a pipe).
func TestMakeHelp(t *testing.T) {
	t.Parallel()

	cmd := exec.CommandContext(t.Context(), "make", "--no-print-directory", "-C", "../..", "help")

	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("make help: %v\n%s", err, out)
	}

	if bytes.Contains(out, []byte("\x1b[")) {
		t.Errorf("make help into a pipe writes colour codes:\n%q", out)
	}

	for _, target := range []string{"\n  rename ", "\n  rename-check ", "\n  test-pkg "} {
		if !bytes.Contains(out, []byte(target)) {
			t.Errorf("make help does not list%s:\n%s", strings.TrimRight(target, " "), out)
		}
	}
}

// TestRenameEndToEnd renames a copy of the repository (the files git knows
// of) as a user would, with make rename, and checks that the copy builds,
// passes go vet and names the old module path nowhere but in the
// repository's address (https://github.com/…).
func TestRenameEndToEnd(t *testing.T) {
	t.Parallel()

	if testing.Short() {
		t.Skip("regenerates and builds the whole tree: skipped by -short; make test runs it")
	}

	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}

	to := "github.com/acme/shop"
	if currentModule == to { // make rename-check runs this test in a tree renamed so
		to = "example.org/shop"
	}

	dir := filepath.Join(t.TempDir(), "repo")
	repotree.Copy(t, root, dir)

	// vet type-checks every package and its tests; the modules' and the
	// registry's tests then run, on the database and NATS of this test
	// (TEST_DATABASE_URL, TEST_NATS_URL), as in the original tree.
	repotree.Command(t, dir, nil, "make", "--no-print-directory", "rename", "MODULE="+to)
	repotree.Command(t, dir, nil, "go", "vet", "./...")
	repotree.Command(t, dir, nil, "go", "test", "-race", "-count=1", "-timeout=8m", "./modules/...", "./internal/registry/...")

	if got, want := modulePath(t, dir), to; got != want {
		t.Errorf("go.mod's module = %s, want %s", got, want)
	}

	if got, want := modulePath(t, filepath.Join(dir, "tools")), to+"/tools"; got != want {
		t.Errorf("tools/go.mod's module = %s, want %s", got, want)
	}

	for _, name := range repotree.Files(t, dir) {
		data, err := fs.ReadFile(os.DirFS(dir), name)
		if err != nil {
			t.Fatal(err)
		}

		if n := bytes.Count(data, []byte(currentModule)) - bytes.Count(data, []byte("/"+currentModule)); n > 0 {
			t.Errorf("%s names %s %d times after the rename", name, currentModule, n)
		}
	}
}

// modulePath returns the module path in dir/go.mod.
func modulePath(t *testing.T, dir string) string {
	t.Helper()

	data, err := fs.ReadFile(os.DirFS(dir), "go.mod")
	if err != nil {
		t.Fatal(err)
	}

	return modfile.ModulePath(data)
}
