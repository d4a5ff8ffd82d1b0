// Command server is the modular monolith: every module in one process,
// served over gRPC (GRPC_PORT) and REST (HTTP_PORT). Run `server help` for
// its commands.
package main

import (
	"github.com/modulith/modulith/cmd/server/commands"
	"github.com/modulith/modulith/modules"
)

func main() { commands.Main(commands.Server(modules.All(), modules.GraphQL)) }
