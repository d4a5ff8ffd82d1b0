// Package resources embeds the auth module's migrations and seed data, so
// the binary carries its schema with it.
package resources

import (
	"embed"
	"io/fs"
)

//go:embed db/migration/*.sql
var migrations embed.FS

//go:embed db/seed/*.sql
var seeds embed.FS

// Migrations returns the migration files (golang-migrate names).
func Migrations() fs.FS { return sub(migrations, "db/migration") }

// Seeds returns the development seed files.
func Seeds() fs.FS { return sub(seeds, "db/seed") }

func sub(fsys fs.FS, dir string) fs.FS {
	s, err := fs.Sub(fsys, dir)
	if err != nil {
		panic("resources: " + err.Error()) // dir is a constant embedded above
	}

	return s
}
