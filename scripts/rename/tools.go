package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
)

// restoreTools puts back tools/, the module that pins the tools, when it is
// missing: gonew copies a module's zip, and a module's zip leaves out the
// directories that are modules of their own. It downloads the template's
// tools module, r.from + "/tools" at version, through the module proxy.
func (r renaming) restoreTools(ctx context.Context, version string) error {
	dir := filepath.Join(r.root, "tools")
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
		return nil
	}

	mod := r.from + "/tools@" + version
	fmt.Fprintf(r.stdout, "tools/go.mod is missing (gonew leaves nested modules out): downloading %s\n", mod)

	var stdout, stderr bytes.Buffer

	cmd := exec.CommandContext(ctx, "go")
	cmd.Args = append(cmd.Args, "mod", "download", "-json", mod)
	cmd.Dir = r.root
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr

	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go mod download %s: %w\n%s%s", mod, err, stderr.Bytes(), stdout.Bytes())
	}

	var info struct{ Dir string }
	if err := json.Unmarshal(stdout.Bytes(), &info); err != nil || info.Dir == "" {
		return fmt.Errorf("go mod download %s: no directory in %q", mod, stdout.Bytes())
	}

	if err := copyDir(info.Dir, dir); err != nil {
		return fmt.Errorf("restore tools/ from %s: %w", mod, err)
	}

	return nil
}

// copyDir copies the files under from to to, writable (the module cache's
// copies are read-only).
func copyDir(from, to string) error {
	if err := os.MkdirAll(to, 0o750); err != nil {
		return fmt.Errorf("create %s: %w", to, err)
	}

	dst, err := os.OpenRoot(to)
	if err != nil {
		return fmt.Errorf("open %s: %w", to, err)
	}
	defer dst.Close()

	src := os.DirFS(from)

	err = fs.WalkDir(src, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}

		data, err := fs.ReadFile(src, name)
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}

		if err := dst.MkdirAll(path.Dir(name), 0o750); err != nil {
			return fmt.Errorf("create %s: %w", path.Dir(name), err)
		}

		return dst.WriteFile(name, data, 0o600)
	})
	if err != nil {
		return fmt.Errorf("copy %s to %s: %w", from, to, err)
	}

	return nil
}
