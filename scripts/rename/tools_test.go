package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"
)

// TestRestoreToolsAfterGonew takes a tree as gonew leaves it (go.mod
// renamed, no tools/) and checks that rename puts tools/ back from the
// module proxy, here a file:// proxy that serves the template's tools
// module, and renames it.
func TestRestoreToolsAfterGonew(t *testing.T) {
	const version = "v1.0.0"

	toolsMod := module.Version{Path: currentModule + "/tools", Version: version}
	proxy := t.TempDir()
	serveModule(t, proxy, toolsMod, "../../tools")

	t.Setenv("GOPROXY", "file://"+filepath.ToSlash(proxy))
	t.Setenv("GOSUMDB", "off")
	t.Setenv("GOMODCACHE", t.TempDir())
	t.Setenv("GOFLAGS", "-modcacherw")

	dir := t.TempDir()
	writeFile(t, dir, "go.mod", "module example.org/shop\n\ngo 1.26.0\n")
	writeFile(t, dir, "Makefile", "LDFLAGS := -X "+currentModule+"/cmd/server/commands.Version=1\n")

	var out bytes.Buffer
	if err := run(t.Context(), []string{"-root", dir, "-module", "example.org/shop", "-generate=false", "-tools-version", version}, &out, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, &out)
	}

	if got, want := modulePath(t, filepath.Join(dir, "tools")), "example.org/shop/tools"; got != want {
		t.Errorf("tools/go.mod's module = %q, want %q\n%s", got, want, &out)
	}

	want, err := fs.ReadFile(os.DirFS("../../tools"), "go.sum")
	if err != nil {
		t.Fatal(err)
	}

	if got, _ := fs.ReadFile(os.DirFS(dir), "tools/go.sum"); !bytes.Equal(got, want) {
		t.Errorf("tools/go.sum is not the template's")
	}

	if got, _ := fs.ReadFile(os.DirFS(dir), "Makefile"); !bytes.Contains(got, []byte("-X example.org/shop/cmd/server")) {
		t.Errorf("Makefile = %q, want the new path", got)
	}
}

// serveModule writes module m, from the directory dir, to the file:// module
// proxy in proxy.
func serveModule(t *testing.T, proxy string, m module.Version, dir string) {
	t.Helper()

	escaped, err := module.EscapePath(m.Path)
	if err != nil {
		t.Fatal(err)
	}

	at := filepath.Join(proxy, filepath.FromSlash(escaped), "@v")
	if err := os.MkdirAll(at, 0o750); err != nil {
		t.Fatal(err)
	}

	gomod, err := fs.ReadFile(os.DirFS(dir), "go.mod")
	if err != nil {
		t.Fatal(err)
	}

	writeFile(t, at, "list", m.Version+"\n")
	writeFile(t, at, m.Version+".info", `{"Version":"`+m.Version+`"}`)
	writeFile(t, at, m.Version+".mod", string(gomod))

	var z bytes.Buffer
	if err := zip.CreateFromDir(&z, m, dir); err != nil {
		t.Fatal(err)
	}

	writeFile(t, at, m.Version+".zip", z.String())
}

func writeFile(t *testing.T, dir, name, data string) {
	t.Helper()

	if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}
