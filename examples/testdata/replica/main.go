// Command replica is the monolith with one more module, ledger: the server
// binary the examples' durability tests start, SIGKILL and restart. It is
// built by the tests only (testdata is outside ./...).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/modulith/modulith/cmd/server/commands"
	"github.com/modulith/modulith/cmd/server/setup"
	"github.com/modulith/modulith/examples/testdata/replica/ledger"
	"github.com/modulith/modulith/internal/registry"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)

	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)

	stop()

	if err != nil {
		fmt.Fprintln(os.Stderr, "replica:", err)
		os.Exit(1)
	}
}

// run runs the command line of the monolith with the ledger module added.
// No configuration file: the environment is the whole configuration.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	return commands.Run(ctx, program(), args, getenv, stdout)
}

func program() commands.Program {
	return commands.Program{
		Name: "replica",
		Modules: func() []registry.Module {
			return append(setup.Modules(), ledger.New())
		},
	}
}
