package main

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	dsn := withPassword(t, "postgres://app@127.0.0.1:5499/appdb?sslmode=disable", "secret")

	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    string
		wantErr error
	}{
		{
			name: "url",
			args: []string{"url"},
			env:  map[string]string{"DB_DSN": dsn},
			want: dsn + "\n",
		},
		{
			name: "maintenance url",
			args: []string{"url", "--maintenance"},
			env:  map[string]string{"DB_DSN": dsn},
			want: strings.Replace(dsn, "/appdb?", "/postgres?", 1) + "\n",
		},
		{name: "no command", wantErr: errUsage},
		{name: "unknown command", args: []string{"start"}, wantErr: errUsage},
		{name: "extra argument", args: []string{"up", "now"}, wantErr: errUsage},
		{
			name:    "key/value DSN",
			args:    []string{"url"},
			env:     map[string]string{"DB_DSN": "host=127.0.0.1 dbname=appdb"},
			wantErr: errNotURL,
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout bytes.Buffer

			getenv := func(key string) string { return tt.env[key] }

			err := run(t.Context(), tt.args, getenv, &stdout, io.Discard)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("run(%q) error = %v, want %v", tt.args, err, tt.wantErr)
			}

			if got := stdout.String(); got != tt.want {
				t.Errorf("run(%q) printed %q, want %q", tt.args, got, tt.want)
			}
		})
	}
}
