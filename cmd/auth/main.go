// Command auth serves the auth module alone: the same module, configuration
// schema and command line as the monolith (cmd/server), for deployments
// that run auth as its own service. It reads configs/auth.yaml.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/modulith/modulith/cmd/server/commands"
	"github.com/modulith/modulith/internal/registry"
	"github.com/modulith/modulith/modules/auth"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)

	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)

	stop()

	if err != nil {
		fmt.Fprintln(os.Stderr, "auth:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	prog := commands.Program{
		Name:       "auth",
		ConfigFile: "configs/auth.yaml",
		Modules:    func() []registry.Module { return []registry.Module{auth.New()} },
	}

	return commands.Run(ctx, prog, args, getenv, stdout)
}
