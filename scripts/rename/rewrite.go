package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/format"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"strings"

	"golang.org/x/mod/module"
)

// skippedDirs are never rewritten: git's data, and what builds, tests and
// make db-up leave behind (all of them ignored by git).
var skippedDirs = map[string]bool{".git": true, "bin": true, "tmp": true, ".data": true, ".cache": true, "node_modules": true}

var errNothingToDo = errors.New("nothing to rename")

// renaming rewrites module path from to module path to in the tree at root.
type renaming struct {
	root, from, to string
	stdout         io.Writer
}

// check refuses a new path that is not a valid module path.
func (r renaming) check() error {
	if r.to == "" {
		return fmt.Errorf("-module is required (make rename MODULE=github.com/acme/shop): %w", errUsage)
	}

	if err := module.CheckPath(r.to); err != nil {
		return fmt.Errorf("-module %q: %w", r.to, err)
	}

	if r.to == r.from {
		return fmt.Errorf("-module %q: the tree's module path already: %w", r.to, errNothingToDo)
	}

	return nil
}

// rewriteTree rewrites every text file under root that names r.from.
func (r renaming) rewriteTree() error {
	root, err := os.OpenRoot(r.root)
	if err != nil {
		return fmt.Errorf("open the repository: %w", err)
	}
	defer root.Close()

	files := 0

	err = fs.WalkDir(root.FS(), ".", func(name string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && skippedDirs[d.Name()]:
			return fs.SkipDir
		case !d.Type().IsRegular():
			return nil
		}

		changed, err := r.rewriteFile(root, name)
		if changed {
			files++
		}

		return err
	})
	if err != nil {
		return fmt.Errorf("rewrite %s: %w", r.root, err)
	}

	fmt.Fprintf(r.stdout, "rewrote %s to %s in %d files\n", r.from, r.to, files)

	return nil
}

// rewriteFile rewrites the file name in root, and formats it when it is
// Go; binary files (a NUL byte) are left alone.
func (r renaming) rewriteFile(root *os.Root, name string) (bool, error) {
	data, err := root.ReadFile(name)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", name, err)
	}

	if bytes.IndexByte(data, 0) >= 0 {
		return false, nil
	}

	out := replacePath(data, r.from, r.to)
	if bytes.Equal(out, data) {
		return false, nil
	}

	if strings.HasSuffix(name, ".go") {
		// The new path may sort elsewhere among a file's imports.
		if out, err = format.Source(out); err != nil {
			return false, fmt.Errorf("format %s: %w", name, err)
		}
	}

	info, err := root.Stat(name)
	if err != nil {
		return false, fmt.Errorf("stat %s: %w", name, err)
	}

	if err := root.WriteFile(name, out, info.Mode().Perm()); err != nil {
		return false, fmt.Errorf("write %s: %w", name, err)
	}

	return true, nil
}

// replacePath replaces the module path from by to in data wherever it
// stands as a whole path: github.com/a/b is replaced in github.com/a/b/x
// and "github.com/a/b", not in github.com/a/bc or example.org/github.com/a/b.
func replacePath(data []byte, from, to string) []byte {
	var out bytes.Buffer

	for {
		i := bytes.Index(data, []byte(from))
		if i < 0 {
			out.Write(data)

			return out.Bytes()
		}

		end := i + len(from)
		whole := (i == 0 || !pathByte(data[i-1]) && data[i-1] != '/') && (end == len(data) || !pathByte(data[end]))

		out.Write(data[:i])

		if whole {
			out.WriteString(to)
		} else {
			out.Write(data[i:end])
		}

		data = data[end:]
	}
}

// pathByte reports whether c can continue a path element.
func pathByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0
}

// regenerate runs make generate in the renamed tree.
func (r renaming) regenerate(ctx context.Context) error {
	fmt.Fprintln(r.stdout, "regenerating the code: make generate (the first time, building the pinned tools takes a few minutes)")

	cmd := exec.CommandContext(ctx, "make")
	cmd.Args = append(cmd.Args, "--no-print-directory", "-C", r.root, "generate")
	cmd.Stdout = r.stdout
	cmd.Stderr = r.stdout

	if err := cmd.Run(); err != nil {
		return fmt.Errorf("make generate: %w (the generated protos still embed %s: fix the error and run make generate)", err, r.from)
	}

	return nil
}
