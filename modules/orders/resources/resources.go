// Package resources embeds the orders module's migrations, so the binary
// carries its schema with it.
package resources

import (
	"embed"
	"io/fs"
)

//go:embed db/migration/*.sql
var migrations embed.FS

// Migrations returns the migration files (golang-migrate names).
func Migrations() fs.FS {
	sub, err := fs.Sub(migrations, "db/migration")
	if err != nil {
		panic("resources: " + err.Error()) // the directory is embedded above
	}

	return sub
}
