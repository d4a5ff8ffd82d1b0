// Command replica is the monolith with one more module, ledger: the server
// binary the examples' durability tests start, SIGKILL and restart. It is
// built by the tests only (testdata is outside ./...). No configuration
// file: the environment is the whole configuration.
package main

import (
	"github.com/modulith/modulith/cmd/server/commands"
	"github.com/modulith/modulith/examples/testdata/replica/ledger"
	"github.com/modulith/modulith/modules"
)

func main() {
	commands.Main(commands.Program{Name: "replica", Modules: append(modules.All(), ledger.Module{})})
}
