// Package setup builds the pieces of a server process, each by one function
// that returns the thing and, where needed, how to close it: configuration,
// the database pool, the notifier, the module registry, the gRPC server with
// its in-process channel, and the HTTP handler.
package setup

import (
	"github.com/modulith/modulith/internal/registry"
	"github.com/modulith/modulith/modules/auth"
)

// Modules lists the modules of the monolith, in start order. This is the
// only place a module is registered.
func Modules() []registry.Module {
	return []registry.Module{
		auth.New(),
	}
}
