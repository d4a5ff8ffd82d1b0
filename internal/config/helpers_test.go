package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/modulith/modulith/internal/config"
)

// writeFile writes content to name in a fresh temporary directory and
// returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()

	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}

	return path
}

// envOf is a process environment backed by m.
func envOf(m map[string]string) func(string) string {
	return func(key string) string { return m[key] }
}

// layers builds Layers from optional YAML and .env contents ("" = no file).
func layers(t *testing.T, yamlText, dotenvText string, env map[string]string) *config.Layers {
	t.Helper()

	var files config.Files
	if yamlText != "" {
		files.YAML = writeFile(t, "server.yaml", yamlText)
	}

	if dotenvText != "" {
		files.Dotenv = writeFile(t, ".env", dotenvText)
	}

	l, err := config.NewLayers(files, envOf(env))
	if err != nil {
		t.Fatalf("NewLayers(%+v) = %v", files, err)
	}

	return l
}

// keyErrors flattens err, possibly joined, into its *config.KeyError parts.
func keyErrors(err error) []*config.KeyError {
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		var out []*config.KeyError
		for _, e := range joined.Unwrap() {
			out = append(out, keyErrors(e)...)
		}

		return out
	}

	var ke *config.KeyError
	if errors.As(err, &ke) {
		return []*config.KeyError{ke}
	}

	return nil
}

// errorKeys returns the sorted, deduplicated keys err names.
func errorKeys(err error) []string {
	var keys []string
	for _, ke := range keyErrors(err) {
		keys = append(keys, ke.Key)
	}

	slices.Sort(keys)

	return slices.Compact(keys)
}

// values maps each report entry's key to its value.
func values(r config.Report) map[string]string {
	m := make(map[string]string, len(r.Entries))
	for _, e := range r.Entries {
		m[e.Key] = e.Value
	}

	return m
}
