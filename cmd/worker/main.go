// Command worker runs the monolith's event subscribers and its scheduled
// admin tasks (WORKER_SCHEDULE), with health probes and metrics on
// HTTP_PORT and no API: scale it apart from the servers, which may leave
// event handling to it (EVENTS_CONSUME=false). It reads configs/worker.yaml
// and takes the server's commands (migrate, admin, …).
package main

import (
	"github.com/modulith/modulith/cmd/server/commands"
	"github.com/modulith/modulith/modules"
)

func main() { commands.Main(commands.Worker(modules.All())) }
