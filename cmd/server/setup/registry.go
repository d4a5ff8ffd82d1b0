// Package setup builds the pieces of a server process, each by one function
// that returns the thing: the module list, the database pool, the notifier
// and the HTTP handler (the gRPC server comes from internal/grpcserver).
package setup

import (
	"github.com/modulith/modulith/internal/registry"
	"github.com/modulith/modulith/modules/auth"
	"github.com/modulith/modulith/modules/orders"
)

// Modules lists the modules of the monolith, in start order. This is the
// only place a module is registered.
func Modules() []registry.Module {
	return []registry.Module{
		auth.New(),
		orders.New(),
	}
}
