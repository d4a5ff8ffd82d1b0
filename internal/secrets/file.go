package secrets

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// Static is a Provider of a value that never changes: the environment's
// JWT_SECRET and JWT_SECRET_PREVIOUS.
type Static Value

// Read returns the value.
func (s Static) Read(context.Context) (Value, error) { return Value(s), nil }

// Files reads the secret from files, opened afresh at every Read. A
// Kubernetes Secret mounted as a volume changes by an atomic swap of the
// directory's ..data symlink, so a fresh open sees either the old files or
// the new ones, never half of each; a Docker or Compose secret is a plain
// file. A trailing line break (echo, editors) is not part of the secret.
type Files struct {
	// Current is the file of the current secret (JWT_SECRET_FILE).
	Current string
	// Previous is the file of the previous secret
	// (JWT_SECRET_PREVIOUS_FILE): optional, and a missing or empty file
	// means no rotation is under way, as when the key is removed from the
	// Kubernetes Secret.
	Previous string
}

// Read reads the files.
func (f Files) Read(context.Context) (Value, error) {
	current, err := readSecretFile(f.Current)
	if err != nil {
		return Value{}, err
	}

	if len(current) == 0 {
		return Value{}, fmt.Errorf("secrets: %s: %w", f.Current, errNoValue)
	}

	v := Value{Current: current}
	if f.Previous == "" {
		return v, nil
	}

	previous, err := readSecretFile(f.Previous)

	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return Value{}, err
	case len(previous) > 0:
		v.Previous = previous
	}

	return v, nil
}

// readSecretFile reads a secret from path without its trailing line break.
// Errors name the path, never the content.
func readSecretFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path) //nolint:gosec // the path is configuration (JWT_SECRET_FILE, VAULT_TOKEN_FILE), not input
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}

	return []byte(strings.TrimRight(string(b), "\r\n")), nil
}
