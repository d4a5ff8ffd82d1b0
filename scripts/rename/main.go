// Command rename gives the project a new Go module path: it rewrites every
// occurrence of the current path in the tree (Go code, go.mod and
// tools/go.mod, the protos' go_package, the mockgen directives, the
// Makefile's -X flags, the lint configuration, docs, the scaffolder's
// templates, generated code), keeps the Go files gofmt-clean (imports stay
// sorted), then regenerates the code (make generate): the descriptors that
// protoc-gen-go embeds carry the go_package option in binary form, with its
// length, so the generated protos cannot be rewritten as text.
//
// It renames only the Go module path. The project's name "modulith" in
// other places (SERVICE_NAME, the database name of DB_DSN, the compose
// project, the WebSocket subprotocol, NATS subjects) is configuration or
// protocol, not the module path, and stays as it is.
//
// The current path is currentModule below, which this program rewrites
// too, so that it always names the tree's path. It is not read from go.mod
// because gonew has rewritten go.mod (and the Go imports, nothing else)
// before this program runs. gonew also leaves out tools/, a module of its
// own (nested modules are not part of a module's zip): when tools/go.mod is
// missing, rename downloads the template's tools module
// (<current path>/tools at -tools-version) and puts it back first.
//
// Usage, from the repository root (make rename MODULE=… runs this):
//
//	go run ./scripts/rename -module github.com/acme/shop
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// currentModule is the module path of this tree. rename rewrites it with
// everything else, so after a rename it is the new path.
const currentModule = "github.com/modulith/modulith"

const usage = `usage: go run ./scripts/rename -module <new module path> [flags]

Rewrites the Go module path ` + currentModule + ` everywhere in the tree and
regenerates the code. Prefer make rename MODULE=<new module path>.

flags:`

// errUsage means the command line is wrong; usage has been printed.
var errUsage = errors.New("see usage above")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)

	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)

	stop()

	if err != nil {
		fmt.Fprintln(os.Stderr, "rename:", err)
		os.Exit(1)
	}
}

// run carries out the rename that args ask for.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("rename", flag.ContinueOnError)
	flags.SetOutput(stderr)
	module := flags.String("module", "", "the new module path, e.g. github.com/acme/shop")
	from := flags.String("from", currentModule, "the module path to replace")
	root := flags.String("root", ".", "repository root")
	generate := flags.Bool("generate", true, "run make generate afterwards")
	toolsVersion := flags.String("tools-version", "latest",
		"version of the template's tools module to download when tools/go.mod is missing (after gonew)")
	flags.Usage = func() {
		fmt.Fprintln(stderr, usage)
		flags.PrintDefaults()
	}

	if err := flags.Parse(args); err != nil {
		return errUsage
	}

	if flags.NArg() != 0 {
		flags.Usage()

		return errUsage
	}

	r := renaming{root: *root, from: *from, to: *module, stdout: stdout}
	if err := r.check(); err != nil {
		return err
	}

	if err := r.restoreTools(ctx, *toolsVersion); err != nil {
		return err
	}

	if err := r.rewriteTree(); err != nil {
		return err
	}

	if *generate {
		return r.regenerate(ctx)
	}

	fmt.Fprintln(stdout, "not regenerated (-generate=false): run make generate before building")

	return nil
}
