package events

import (
	"embed"
	"io/fs"
)

//go:embed migration/*.sql
var migrationFiles embed.FS

// SchemaName is the schema the bus keeps its tables in; the migration
// runner applies Migrations to it before any module's.
const SchemaName = "events"

// Migrations returns the bus's migrations.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migration")
	if err != nil {
		panic("events: " + err.Error()) // the directory is embedded above
	}

	return sub
}
