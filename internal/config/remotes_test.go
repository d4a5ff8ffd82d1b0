package config_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/modulith/modulith/internal/config"
)

func TestRemotes(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		entries []string
		want    map[string]string
	}{
		{name: "none"},
		{name: "one", entries: []string{"auth=auth.internal:9090"}, want: map[string]string{"auth": "auth.internal:9090"}},
		{
			name:    "spaces around name and address",
			entries: []string{" auth = 10.0.0.7:9090 ", "\torders=\t[::1]:9091"},
			want:    map[string]string{"auth": "10.0.0.7:9090", "orders": "[::1]:9091"},
		},
		{name: "split at the first =", entries: []string{"auth=host=odd:1"}, want: map[string]string{"auth": "host=odd:1"}},
		{name: "entry without = ignored", entries: []string{"auth", "orders=o:1"}, want: map[string]string{"orders": "o:1"}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			cfg := config.Config{RemoteModules: tt.entries}

			if diff := cmp.Diff(tt.want, cfg.Remotes(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Remotes() of %q (-want +got):\n%s", tt.entries, diff)
			}
		})
	}
}

// TestLoadRemotes checks REMOTE_MODULES, spaces and all, reaches Remotes
// through Load.
func TestLoadRemotes(t *testing.T) {
	t.Parallel()

	cfg, _, _, err := config.Load(config.Files{}, envOf(map[string]string{
		"REMOTE_MODULES": " auth = auth.internal:9090 , orders=10.0.0.8:9091",
	}))
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}

	want := map[string]string{"auth": "auth.internal:9090", "orders": "10.0.0.8:9091"}
	if diff := cmp.Diff(want, cfg.Remotes()); diff != "" {
		t.Errorf("Remotes() after Load (-want +got):\n%s", diff)
	}
}
