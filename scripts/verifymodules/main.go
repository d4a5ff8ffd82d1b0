// Command verifymodules checks the boundaries between the business modules,
// and between them and the platform, and writes docs/modules.md, the
// generated map of the modules: their gRPC services and dependencies, the
// typed events they declare (name, version, fields), publish and consume.
//
// It fails, naming the file, line and rule, when a module imports another
// module's packages (other than its generated code and events package) or
// cmd/, when modules depend on one another in a cycle, when a module's SQL
// names another module's schema or a platform schema, or when the platform
// (internal/, cmd/server/ but its main.go) imports a module or names one in
// a string. docs/modules.md states the rules in full.
//
// Usage, from anywhere in the repository:
//
//	go run ./scripts/verifymodules          # check, then write docs/modules.md (make verify-modules)
//	go run ./scripts/verifymodules -check   # check, and fail when docs/modules.md is out of date (CI)
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/modulith/modulith/scripts/verifymodules/internal/boundary"
)

// docPath is the generated page, relative to the repository root.
const docPath = "docs/modules.md"

var (
	// errViolations means a module crosses a boundary; the violations have
	// been printed.
	errViolations = errors.New("module boundaries violated")
	// errStale means docs/modules.md is not what the code generates.
	errStale = errors.New(docPath + " is out of date: run make verify-modules and commit it")
	// errUsage means the command line is wrong.
	errUsage = errors.New("usage: go run ./scripts/verifymodules [-check] [-root dir]")
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)

	stop()

	if err != nil {
		fmt.Fprintln(os.Stderr, "verifymodules:", err)
		os.Exit(1)
	}
}

// run checks the repository and writes (or, with -check, compares) its
// docs/modules.md; violations are printed to stderr, one a line.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("verifymodules", flag.ContinueOnError)
	flags.SetOutput(stderr)
	check := flags.Bool("check", false, "fail when "+docPath+" is out of date instead of writing it")
	dir := flags.String("root", "", "the repository root (default: the nearest directory holding go.mod, from the working directory up)")

	if err := flags.Parse(args); err != nil || flags.NArg() > 0 {
		return errUsage
	}

	root, err := openRoot(*dir)
	if err != nil {
		return err
	}
	defer root.Close()

	report, err := boundary.Analyze(ctx, root.FS())
	if err != nil {
		return fmt.Errorf("analyze %s: %w", root.Name(), err)
	}

	for _, v := range report.Violations {
		fmt.Fprintln(stderr, v)
	}

	var errs []error
	if n := len(report.Violations); n > 0 {
		errs = append(errs, fmt.Errorf("%d violations: %w", n, errViolations))
	}

	errs = append(errs, updateDoc(root, boundary.Markdown(report), *check, stdout))

	return errors.Join(errs...)
}

// openRoot opens dir, or the nearest directory holding go.mod from the
// working directory up.
func openRoot(dir string) (*os.Root, error) {
	if dir == "" {
		var err error
		if dir, err = findModuleRoot(); err != nil {
			return nil, err
		}
	}

	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open the repository: %w", err)
	}

	return root, nil
}

func findModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find the repository: %w", err)
	}

	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}

		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find the repository: no go.mod in the working directory or above")
		}

		dir = parent
	}
}

// updateDoc writes doc to docs/modules.md when it differs, or with check
// returns errStale.
func updateDoc(root *os.Root, doc []byte, check bool, stdout io.Writer) error {
	current, err := root.ReadFile(docPath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read %s: %w", docPath, err)
	}

	switch {
	case bytes.Equal(current, doc):
		return nil
	case check:
		return errStale
	}

	if err := root.MkdirAll(filepath.Dir(docPath), 0o750); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(docPath), err)
	}

	if err := root.WriteFile(docPath, doc, 0o644); err != nil { // a page of the repository, world-readable
		return fmt.Errorf("write %s: %w", docPath, err)
	}

	if _, err := fmt.Fprintln(stdout, "verifymodules: wrote", docPath); err != nil {
		return fmt.Errorf("report: %w", err)
	}

	return nil
}
