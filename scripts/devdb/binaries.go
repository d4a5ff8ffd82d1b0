package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// errNoBinaries means neither PATH nor the usual install locations hold
// initdb and pg_ctl.
var errNoBinaries = errors.New("no PostgreSQL server binaries (initdb and pg_ctl) on PATH or in the usual places")

// binGlobs are the usual install locations of the PostgreSQL server
// binaries, searched in order after PATH: Debian and Ubuntu, RHEL and
// Fedora (PGDG), Homebrew on Apple silicon and Intel, Postgres.app.
var binGlobs = []string{
	"/usr/lib/postgresql/*/bin",
	"/usr/pgsql-*/bin",
	"/opt/homebrew/opt/postgresql@*/bin",
	"/usr/local/opt/postgresql@*/bin",
	"/opt/homebrew/bin",
	"/usr/local/bin",
	"/Applications/Postgres.app/Contents/Versions/latest/bin",
}

// binaries is a directory holding initdb, pg_ctl and postgres.
type binaries struct {
	dir string
}

func (b binaries) path(name string) string {
	return filepath.Join(b.dir, name)
}

// version returns the PostgreSQL version of the binaries, such as "16.4".
func (b binaries) version(ctx context.Context) (string, error) {
	// --version is answered before pg_ctl's root check, so it needs no runuser.
	out, err := execute(ctx, []string{b.path("pg_ctl"), "--version"})
	if err != nil {
		return "", err
	}

	// pg_ctl (PostgreSQL) 16.4 (Debian 16.4-1.pgdg120+1)
	_, after, _ := strings.Cut(out, "(PostgreSQL) ")
	if fields := strings.Fields(after); len(fields) > 0 {
		return fields[0], nil
	}

	return strings.TrimSpace(out), nil
}

// findBinaries returns the first directory holding both initdb and pg_ctl:
// the one initdb is found in through lookPath (symlinks resolved, so a
// Homebrew or alternatives link leads to the real installation), then the
// matches of each glob in order, the highest version first.
func findBinaries(lookPath func(string) (string, error), globs []string) (binaries, error) {
	for _, dir := range candidateDirs(lookPath, globs) {
		if isExecutable(filepath.Join(dir, "initdb")) && isExecutable(filepath.Join(dir, "pg_ctl")) {
			return binaries{dir: dir}, nil
		}
	}

	return binaries{}, errNoBinaries
}

// candidateDirs lists the directories findBinaries tries, in order.
func candidateDirs(lookPath func(string) (string, error), globs []string) []string {
	var dirs []string

	if p, err := lookPath("initdb"); err == nil {
		if resolved, err := filepath.EvalSymlinks(p); err == nil {
			p = resolved
		}

		dirs = append(dirs, filepath.Dir(p))
	}

	for _, g := range globs {
		matches, err := filepath.Glob(g)
		if err != nil {
			continue // a malformed pattern matches nothing
		}

		slices.SortStableFunc(matches, func(a, b string) int {
			return slices.Compare(versionKey(b), versionKey(a))
		})

		dirs = append(dirs, matches...)
	}

	return dirs
}

var digits = regexp.MustCompile(`[0-9]+`)

// versionKey returns the numbers in path, so that ".../postgresql/16/bin"
// sorts above ".../postgresql/9.6/bin".
func versionKey(path string) []int {
	var key []int

	for _, d := range digits.FindAllString(path, -1) {
		n, err := strconv.Atoi(d)
		if err != nil {
			n = 0 // more digits than an int holds: not a version
		}

		key = append(key, n)
	}

	return key
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)

	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}
