// Command newmodule scaffolds a business module that compiles, migrates and
// passes its tests as soon as its code is generated, and removes one again.
//
// `new` writes a CRUD module for one entity, on the module contract of
// internal/registry and the platform's plumbing (internal/repo, page, ids,
// authz, typed events): modules/<name> (module.go, doc.go, events/,
// internal/{service,repository,models,db/query}, resources/db/migration,
// graphql/ (its GraphQL schema and resolvers), and their tests),
// proto/<name>/v1/<name>.proto, configs/<name>.yaml and cmd/<name>/main.go;
// it adds the module's entry to sqlc.yaml, its section to
// configs/server.yaml and the module to the list of modules.All
// (modules/modules.go). It refuses invalid and reserved names, and a module
// whose GraphQL types or fields another module has already; it never
// overwrites anything: it writes nothing unless it can do everything.
// `make generate` then writes the generated code (gen/go/<name>, the
// store, the mocks, the OpenAPI spec, gen/graphql and the GraphQL root
// resolver modules/graphql.go).
//
// `destroy` removes all of that again, and refuses to while other code
// (but modules/modules.go and modules/graphql.go) still imports the
// module. After `make generate` the tree is as before `new`.
//
// The templates are text/template files embedded from templates/; the
// names they use (Payment from payments, Category from categories) come
// from Names.
//
// make new-module runs `new`, then scripts/protoversion apis (which writes
// modules/<name>/apis.go, the list of the API's versions), make generate
// and make verify-modules; make destroy-module runs `destroy`, make
// generate and make verify-modules.
//
// Usage, from the repository root:
//
//	go run ./scripts/newmodule new <name>      # scaffold and register
//	go run ./scripts/newmodule destroy <name>  # remove what new added
//	go run ./scripts/newmodule next <name>     # print what to do next
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

const usage = `usage: go run ./scripts/newmodule [-root DIR] <command> <name>

commands:
  new <name>      scaffold the module <name> and register it
  destroy <name>  remove the module <name> and everything new added
  next <name>     print the module's endpoints and what to do next

<name> is lower case, e.g. payments, categories, line_items: the entity is
its singular (Payment, Category, LineItem). Prefer make new-module NAME=<name>
and make destroy-module NAME=<name>, which also generate the code.`

// errUsage means the command line is wrong; usage has been printed.
var errUsage = errors.New("see usage above")

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "newmodule:", err)
		os.Exit(1)
	}
}

// run carries out the command in args.
func run(args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("newmodule", flag.ContinueOnError)
	flags.SetOutput(stderr)
	root := flags.String("root", ".", "repository root")
	flags.Usage = func() { fmt.Fprintln(stderr, usage) }

	if err := flags.Parse(args); err != nil {
		return errUsage
	}

	if flags.NArg() != 2 {
		fmt.Fprintln(stderr, usage)

		return errUsage
	}

	r, err := openRepo(*root)
	if err != nil {
		return err
	}
	defer r.Close()

	n, err := NewNames(r.modulePath, flags.Arg(1))
	if err != nil {
		return err
	}

	switch flags.Arg(0) {
	case "new":
		return scaffold(r, n, stdout)
	case "destroy":
		return destroy(r, n, stdout)
	case "next":
		return printNext(n, stdout)
	default:
		fmt.Fprintln(stderr, usage)

		return errUsage
	}
}
