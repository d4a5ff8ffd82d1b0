package config_test

import (
	"errors"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/modulith/modulith/internal/config"
)

func TestNewLayersFiles(t *testing.T) {
	t.Parallel()

	missing := filepath.Join(t.TempDir(), "missing")

	tests := []struct {
		name     string
		files    config.Files
		wantErr  bool
		notExist bool // the error wraps fs.ErrNotExist
	}{
		{name: "no files", files: config.Files{}},
		{name: "optional YAML missing", files: config.Files{YAML: missing}},
		{name: "required YAML missing", files: config.Files{YAML: missing, YAMLRequired: true}, wantErr: true, notExist: true},
		{name: "required YAML present", files: config.Files{YAML: writeFile(t, "a.yaml", "http_port: 1\n"), YAMLRequired: true}},
		{name: "empty YAML", files: config.Files{YAML: writeFile(t, "a.yaml", "# nothing yet\n")}},
		{name: "malformed YAML", files: config.Files{YAML: writeFile(t, "a.yaml", "http_port: [1\n")}, wantErr: true},
		{name: "YAML top level is a list", files: config.Files{YAML: writeFile(t, "a.yaml", "- a\n- b\n")}, wantErr: true},
		{name: "YAML is a directory", files: config.Files{YAML: t.TempDir()}, wantErr: true},
		{name: ".env missing", files: config.Files{Dotenv: missing}},
		{name: "malformed .env", files: config.Files{Dotenv: writeFile(t, ".env", "FOO='unterminated\n")}, wantErr: true},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			l, err := config.NewLayers(tt.files, envOf(nil))
			if (err != nil) != tt.wantErr {
				t.Fatalf("NewLayers(%+v) error = %v, want error %v", tt.files, err, tt.wantErr)
			}

			if errors.Is(err, fs.ErrNotExist) != tt.notExist {
				t.Errorf("NewLayers(%+v) error = %v, want fs.ErrNotExist %v", tt.files, err, tt.notExist)
			}

			if err == nil && l == nil {
				t.Errorf("NewLayers(%+v) = nil, nil", tt.files)
			}
		})
	}
}

func TestLayersEnv(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		yaml   string
		dotenv string
		env    map[string]string
		want   string
	}{
		{name: "unset", want: "dev"},
		{name: "yaml", yaml: "env: prod\n", want: "prod"},
		{name: "yaml null", yaml: "env:\n", want: "dev"},
		{name: ".env beats yaml", yaml: "env: dev\n", dotenv: "ENV=prod\n", want: "prod"},
		{name: "env beats .env and yaml", yaml: "env: dev\n", dotenv: "ENV=dev\n", env: map[string]string{"ENV": "prod"}, want: "prod"},
		{name: "empty env is unset", yaml: "env: prod\n", env: map[string]string{"ENV": ""}, want: "prod"},
		{name: "empty .env value is unset", yaml: "env: prod\n", dotenv: "ENV=\n", want: "prod"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			if got := layers(t, tt.yaml, tt.dotenv, tt.env).Env(); got != tt.want {
				t.Errorf("Env() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNewLayersNilGetenv(t *testing.T) {
	t.Parallel()

	l, err := config.NewLayers(config.Files{}, nil)
	if err != nil {
		t.Fatalf("NewLayers(nil getenv) = %v", err)
	}

	if got := l.Env(); got != "dev" {
		t.Errorf("Env() = %q, want %q", got, "dev")
	}
}
