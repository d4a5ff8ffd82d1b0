// Command worker runs the monolith's event subscribers and its scheduled
// admin tasks (WORKER_SCHEDULE), with health probes and metrics on
// HTTP_PORT and no API: scale it apart from the servers, which may leave
// event handling to it (EVENTS_CONSUME=false). It reads configs/worker.yaml
// and takes the server's commands (migrate, admin, …).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/modulith/modulith/cmd/server/commands"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)

	err := commands.Run(ctx, commands.Worker(), os.Args[1:], os.Getenv, os.Stdout)

	stop()

	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}
