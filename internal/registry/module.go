// Package registry defines the contract every business module implements
// and the Registry that holds a process's modules: it hands them their
// dependencies, starts them in order, stops them in reverse, and collects
// what they declare (migrations, public endpoints, health checks, admin
// tasks).
//
// Modules are listed once, explicitly, by the composition root
// (cmd/server/setup); nothing registers itself from init().
package registry

import (
	"context"
	"io/fs"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"

	"github.com/modulith/modulith/internal/admin"
	"github.com/modulith/modulith/internal/websocket"
)

// Module is a business module.
type Module interface {
	// Name identifies the module; it is also its PostgreSQL schema and the
	// section of its configuration. It must match ^[a-z][a-z0-9_]{0,30}$.
	Name() string
	// Initialize builds the module's services from the registry's
	// dependencies. It must not start goroutines (Start does).
	Initialize(r *Registry) error
	// RegisterGRPC registers the module's services. It is called once per
	// server: the network gRPC server and the in-process channel.
	RegisterGRPC(s grpc.ServiceRegistrar)
	// RegisterGateway registers the module's REST handlers on mux, calling
	// the module through conn (the in-process channel).
	RegisterGateway(ctx context.Context, mux *runtime.ServeMux, conn grpc.ClientConnInterface) error
}

// Migrator is a module with database migrations (embedded, golang-migrate
// file names, applied in the module's own schema).
type Migrator interface {
	Migrations() fs.FS
}

// Seeder is a module with development seed data.
type Seeder interface {
	Seeds() fs.FS
}

// PublicEndpointer is a module with methods callable without a token,
// named by full gRPC method ("/auth.v1.AuthService/RequestLogin").
type PublicEndpointer interface {
	PublicEndpoints() []string
}

// HealthChecker is a module that can tell whether it is ready.
type HealthChecker interface {
	HealthCheck(ctx context.Context) error
}

// Starter is a module with background work, started after every module is
// initialized and before the servers accept requests.
type Starter interface {
	Start(ctx context.Context) error
}

// Closer is a module that releases resources at shutdown.
type Closer interface {
	Close(ctx context.Context) error
}

// AdminTasker is a module with maintenance tasks.
type AdminTasker interface {
	AdminTasks() []admin.Task
}

// RealtimeRouter is a module whose events go to WebSocket clients: each
// route names an event and the payload key holding the user it is for
// (empty: every client).
type RealtimeRouter interface {
	RealtimeRoutes() []websocket.Route
}
