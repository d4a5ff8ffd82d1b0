// Package feature is the platform's feature flags: modules evaluate them
// through the OpenFeature Go SDK (the ecosystem's standard interface), with
// this package's provider, backed by PostgreSQL (schema feature).
//
// A flag's key is "<module>.<name>". A module gets its OpenFeature client
// from its host (registry.Host.Flags), bound to its own namespace: a key
// of another module resolves to the code's default with an error, so a
// module cannot read, or come to depend on, another module's flags.
//
// Flags are boolean, string, int or float. A flag's value for a caller is
// the value of the first of its rules that matches, else the flag's own
// value; a disabled flag gives the code's default. A rule matches on user
// IDs, roles and a percentage rollout (Bucket: a stable hash of the flag
// key and the user ID, the same on every replica). The caller is the
// request's identity (authn.FromContext), filled in by a hook: modules
// pass no context unless they evaluate for someone else.
//
// Evaluations read an in-memory snapshot (Flags), never the database. A
// change (Store) notifies every replica in its transaction
// (LISTEN/NOTIFY), and each reloads; a replica also reloads when its
// listener reconnects and every FEATURE_RELOAD_INTERVAL. Every change
// publishes FlagChanged, with its actor, in the same transaction. The
// admin API (Service: feature.v1.FlagService, REST under /v1/feature/flags)
// and `server flags` change flags through Store.
package feature
