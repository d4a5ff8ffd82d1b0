// Package modules lists the business modules of the platform, once: the
// composition root of every binary hands the list to the registry, which
// builds the modules a process runs (internal/registry holds the contract
// a module implements). make new-module adds a module here and make
// destroy-module removes it.
package modules

import (
	"github.com/modulith/modulith/internal/registry"
	"github.com/modulith/modulith/modules/auth"
	"github.com/modulith/modulith/modules/orders"
)

// All returns every module, in start order: a module comes after those it
// calls.
func All() []registry.Module {
	return []registry.Module{
		auth.Module{},
		orders.Module{},
	}
}
