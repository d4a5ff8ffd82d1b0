// Command protoversion manages the versions of the modules' APIs
// (proto/<module>/v<N>), so that a module serves several at once; see
// docs/API_VERSIONING.md.
//
// create copies the latest version of a module's API to a new one: the
// .proto files with the proto package, go_package, imports, REST paths,
// OpenAPI info version and comments renamed; modules/<module>/api_v<N>.go,
// which serves the new version with the previous version's implementation
// until its messages change (edit it freely); and modules/<module>/apis.go,
// the module's generated list of every version it serves. It refuses a
// malformed version, one that exists or is not newer than the latest, and a
// module without protos.
//
// apis rewrites modules/<module>/apis.go from the versions on disk (after
// removing a version, or to make a new module versioned).
//
// against prints the buf input of a branch's protos, for
// `buf breaking --against` (make proto-breaking-check).
//
// Usage, from the repository root:
//
//	go run ./scripts/protoversion create -module auth -version v2
//	go run ./scripts/protoversion apis -module auth
//	go run ./scripts/protoversion against -branch main
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

const usage = `usage: go run ./scripts/protoversion <command> [flags]

commands:
  create -module <name> -version v<N>  copy the latest API version of a module to v<N>, served beside it
  apis -module <name>                  rewrite modules/<name>/apis.go from the versions in proto/<name>
  against [-branch main]               print the buf input of a branch's protos (buf breaking --against)

Every command takes -root <dir>, the repository root (default: the working directory).`

// errUsage means the command line is wrong; usage has been printed.
var errUsage = errors.New("see usage above")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)

	stop()

	if err != nil {
		fmt.Fprintln(os.Stderr, "protoversion:", err)
		os.Exit(1)
	}
}

// run carries out the command in args.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)

		return errUsage
	}

	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", ".", "repository root")
	module := fs.String("module", "", "module name, e.g. auth (create, apis)")
	version := fs.String("version", "", "new version, e.g. v2 (create)")
	branch := fs.String("branch", "main", "branch to compare with (against)")

	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}

	if fs.NArg() > 0 {
		fmt.Fprintln(stderr, usage)

		return errUsage
	}

	switch args[0] {
	case "create":
		return writeChange(*root, stdout, func(r repo) (change, error) { return planCreate(r, *module, *version) })
	case "apis":
		return writeChange(*root, stdout, func(r repo) (change, error) { return planAPIs(r, *module) })
	case "against":
		input, err := againstInput(ctx, runGit, *root, *branch)
		if err != nil {
			return err
		}

		if _, err := fmt.Fprintln(stdout, input); err != nil {
			return fmt.Errorf("print the input: %w", err)
		}

		return nil
	default:
		fmt.Fprintln(stderr, usage)

		return errUsage
	}
}

// writeChange plans a change in the repository at root and writes it.
func writeChange(root string, stdout io.Writer, plan func(repo) (change, error)) error {
	r, err := openRepo(root)
	if err != nil {
		return err
	}

	c, err := plan(r)
	if err != nil {
		return err
	}

	return c.apply(root, stdout)
}
