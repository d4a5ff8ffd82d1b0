// Package binaryenv finds the environment variables the repository's
// binaries read, from their Go sources, so that the deployment checks (the
// Helm chart's, the compose stack's) fail on a variable the binary would
// silently ignore.
package binaryenv

import (
	"fmt"
	"io/fs"
	"regexp"
	"strings"
)

// pattern finds a variable the code reads: a configuration struct's env
// tag, or a getenv call.
var pattern = regexp.MustCompile(`(?:env:|[Gg]etenv\()"([A-Z][A-Z0-9_]*)"`)

// Read returns the variables named in the non-test Go sources of cmd/,
// internal/ and modules/ of the repository repo. It fails when a variable
// every binary reads is missing from them: the scan is broken.
func Read(repo fs.FS) (map[string]bool, error) {
	known := map[string]bool{}

	for _, dir := range []string{"cmd", "internal", "modules"} {
		if err := fs.WalkDir(repo, dir, collect(repo, known)); err != nil {
			return nil, fmt.Errorf("scan %s: %w", dir, err)
		}
	}

	for _, k := range []string{"ENV", "DB_DSN", "JWT_SECRET", "REMOTE_MODULES", "EVENTS_TRANSPORT", "EVENTS_CONSUME"} {
		if !known[k] {
			return nil, fmt.Errorf("%s is not among the %d variables found in the code: the scan is broken", k, len(known))
		}
	}

	return known, nil
}

// collect adds the variables a non-test Go file of repo names to known.
func collect(repo fs.FS, known map[string]bool) fs.WalkDirFunc {
	return func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}

		src, err := fs.ReadFile(repo, path)
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}

		for _, m := range pattern.FindAllSubmatch(src, -1) {
			known[string(m[1])] = true
		}

		return nil
	}
}

// Reads reports whether the binary reads key: one of known (Read), or an
// OpenTelemetry SDK variable, which the SDK reads from the environment.
func Reads(known map[string]bool, key string) bool {
	return known[key] || strings.HasPrefix(key, "OTEL_")
}
