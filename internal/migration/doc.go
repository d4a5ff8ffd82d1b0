// Package migration applies each module's embedded SQL migrations to the module's own
// PostgreSQL schema and keeps the module's history in <schema>.schema_migrations.
//
// Files use golang-migrate names (000001_init.up.sql, 000001_init.down.sql), so sqlc and
// the migrate CLI read the same files. Every migration runs in one transaction together
// with its history row: a failing file leaves neither partial schema nor a "dirty" flag,
// so a file must not contain BEGIN/COMMIT or statements that refuse to run in a
// transaction (CREATE INDEX CONCURRENTLY). Migrations name their objects with the
// schema (auth.users); the runner does not change search_path.
//
// A Runner holds a session-level advisory lock per module on one dedicated connection
// while it reads and writes that module's history, so any number of replicas may start at
// once and each migration still runs exactly once. Session locks need a direct connection
// or session pooling, not a transaction-pooling proxy. Versions the database has applied
// but the files do not contain stop Up: the binary is older than the database. A pending
// version below the latest applied one (merged from a parallel branch) is applied.
//
// Why not golang-migrate, which the seed names: docs/adr/0006-migrations.md
// (a port kept these guarantees at 1,430 lines instead of 875, and would
// have needed an operator after every failed file).
//
// Seeds are plain SQL files run in name order, each in its own transaction, and are not
// recorded: they must be idempotent (INSERT ... ON CONFLICT DO NOTHING).
package migration
