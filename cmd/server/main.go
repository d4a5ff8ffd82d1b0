// Command server is the modular monolith: every module in one process,
// served over gRPC (GRPC_PORT) and REST (HTTP_PORT). Run `server help` for
// its commands.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/modulith/modulith/cmd/server/commands"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)

	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)

	stop()

	if err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

// run runs the server's command line; tests call it as main does.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	return commands.Run(ctx, commands.Server(), args, getenv, stdout)
}
