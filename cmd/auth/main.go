// Command auth serves the auth module alone: the same module, configuration
// schema and command line as the monolith (cmd/server), for deployments
// that run auth as its own service. It reads configs/auth.yaml.
package main

import (
	"github.com/modulith/modulith/cmd/server/commands"
	"github.com/modulith/modulith/modules"
)

func main() { commands.Main(commands.Service("auth", modules.All())) }
