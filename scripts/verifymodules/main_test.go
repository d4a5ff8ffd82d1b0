package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRepository checks the boundaries of this repository and that
// docs/modules.md is what make verify-modules generates.
func TestRepository(t *testing.T) {
	t.Parallel()

	var stderr bytes.Buffer

	if err := run(t.Context(), []string{"-check"}, io.Discard, &stderr); err != nil {
		t.Errorf("verifymodules -check = %v, want nil\n%s", err, stderr.String())
	}
}

// writeRepo writes a repository of two modules, a and b, to a new directory;
// a imports importPath. A non-empty doc is the current docs/modules.md.
func writeRepo(t *testing.T, importPath, doc string) string {
	t.Helper()

	dir := t.TempDir()
	files := map[string]string{
		"go.mod":         "module example.com/x\n\ngo 1.26\n",
		"modules/a/a.go": "package a\n\nimport _ \"" + importPath + "\"\n",
		"modules/b/b.go": "package b\n",
	}

	if doc != "" {
		files[docPath] = doc
	}

	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			t.Fatal(err)
		}

		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	return dir
}

func TestRun(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name       string
		importPath string
		doc        string // the page before the run; "" for none
		args       []string
		wantErr    error
		wantStdout string
		wantStderr string
		wantDoc    bool // the page is up to date after the run
	}{
		{
			name:       "writes the page",
			importPath: "fmt",
			wantStdout: "verifymodules: wrote docs/modules.md\n",
			wantDoc:    true,
		},
		{
			name:       "replaces a stale page",
			importPath: "fmt",
			doc:        "old\n",
			wantStdout: "verifymodules: wrote docs/modules.md\n",
			wantDoc:    true,
		},
		{
			name:       "check fails on a stale page and leaves it",
			importPath: "fmt",
			doc:        "old\n",
			args:       []string{"-check"},
			wantErr:    errStale,
		},
		{
			name:       "check fails on a missing page",
			importPath: "fmt",
			args:       []string{"-check"},
			wantErr:    errStale,
		},
		{
			name:       "violations fail and are printed, the page is still written",
			importPath: "example.com/x/modules/b",
			wantErr:    errViolations,
			wantStdout: "verifymodules: wrote docs/modules.md\n",
			wantStderr: "modules/a/a.go:3:8: [module-import] module a imports example.com/x/modules/b:",
			wantDoc:    true,
		},
		{name: "unknown flag", args: []string{"-fix"}, wantErr: errUsage, wantStderr: "flag provided but not defined"},
		{name: "extra argument", args: []string{"now"}, wantErr: errUsage},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			dir := writeRepo(t, tt.importPath, tt.doc)

			var stdout, stderr bytes.Buffer

			err := run(t.Context(), append([]string{"-root", dir}, tt.args...), &stdout, &stderr)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("run(%q) error = %v, want %v", tt.args, err, tt.wantErr)
			}

			if got := stdout.String(); got != tt.wantStdout {
				t.Errorf("run(%q) printed %q, want %q", tt.args, got, tt.wantStdout)
			}

			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("run(%q) stderr = %q, want it to contain %q", tt.args, stderr.String(), tt.wantStderr)
			}

			if errors.Is(tt.wantErr, errUsage) {
				return
			}

			check := run(t.Context(), []string{"-root", dir, "-check"}, io.Discard, io.Discard)
			if fresh := !errors.Is(check, errStale); fresh != tt.wantDoc {
				t.Errorf("after run(%q), the page is up to date: %t, want %t", tt.args, fresh, tt.wantDoc)
			}
		})
	}
}

func TestRunFindsTheRoot(t *testing.T) {
	dir := writeRepo(t, "fmt", "")
	sub := filepath.Join(dir, "modules", "a")

	t.Chdir(sub)

	if err := run(t.Context(), nil, io.Discard, io.Discard); err != nil {
		t.Fatalf("run() from %s = %v, want nil", sub, err)
	}

	if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(docPath))); err != nil {
		t.Errorf("run() from %s wrote no %s at the root: %v", sub, docPath, err)
	}
}

func TestRunNoRepository(t *testing.T) {
	t.Parallel()

	if err := run(t.Context(), []string{"-root", filepath.Join(t.TempDir(), "missing")}, io.Discard, io.Discard); err == nil {
		t.Error("run(-root missing) = nil, want an error")
	}
}
