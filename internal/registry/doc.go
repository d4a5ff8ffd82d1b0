// Package registry is the contract between the platform and its business
// modules, and the Registry that holds a process's modules.
//
// # The module contract
//
// A module is a value with a Name and an Init (Module). The process hands
// Init a Host, a narrow interface that is all a module gets:
//
//   - its own configuration section, typed (Config; its environment
//     variables carry its name: ORDERS_…), never another module's and never
//     the platform's secrets (Key derives a key bound to the module);
//   - the database pool (its own schema only), the event bus (typed
//     events: it publishes in its transactions and subscribes handlers),
//     a logger, the notifier, the token issuer and its feature flags
//     (Flags: an OpenFeature client of its own namespace);
//   - a gRPC connection to each module it depends on (Client), in process
//     or over the network, for that module's generated client: modules
//     talk only through generated clients and events;
//   - registration of what it offers: its APIs (Serve) and their public
//     methods (Public), the permissions it grants roles (Grant), its
//     WebSocket routes (Realtime), its maintenance tasks (Tasks), and, for
//     the module that owns sessions, the session check every request runs
//     (ProvideSessions).
//
// Init builds the module in one step, from the host, and registers; it
// starts nothing (the bus delivers to the handlers it subscribed, the
// servers serve its APIs). Migrations and seeds are static and read
// without Init (Migrator, Seeder): `migrate` runs before any module is
// built. A module that another process runs (REMOTE_MODULES) is not
// initialized here, but may still provide what it owns through its own API
// (Remote: auth checks this process's sessions with the auth service).
//
// The platform names no module: modules are listed once, in
// modules/modules.go, and a binary's composition root hands the list to
// Init. Each module owns its event types (modules/<m>/events), the only
// package of it that another module may import besides its generated
// gRPC code; `make verify-modules` checks both rules.
//
// # The registry
//
// Registry builds the modules (Init) and answers what the platform asks of
// them: their services for the gRPC server, the in-process channel and the
// REST gateway, whether a method is public, the session check and the
// roles' permissions for authentication, the WebSocket routes, the
// maintenance tasks, and (MigrationSources) the migrations.
package registry
