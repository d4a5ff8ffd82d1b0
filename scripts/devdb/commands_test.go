package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
	"time"
)

// TestUpCannotStart checks that up refuses to start a server where it may
// not or cannot, with the error the user needs.
func TestUpCannotStart(t *testing.T) {
	noBinaries := func() (binaries, error) { return binaries{}, errNoBinaries }

	tests := []struct {
		name    string
		dsn     string
		wantErr error
	}{
		{
			name:    "another machine",
			dsn:     "postgres://postgres@192.0.2.1:5432/modulith", // TEST-NET-1: nothing answers
			wantErr: errNotLocal,
		},
		{
			name:    "no Docker and no PostgreSQL binaries",
			dsn:     fmt.Sprintf("postgres://postgres@127.0.0.1:%d/modulith", freePort(t)),
			wantErr: errNoBinaries,
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg, err := parseTarget(tt.dsn)
			if err != nil {
				t.Fatal(err)
			}

			var stdout bytes.Buffer

			d := &devdb{
				stdout:   &stdout,
				stderr:   io.Discard,
				target:   tg,
				dataDir:  t.TempDir(),
				euid:     os.Geteuid(),
				docker:   func(context.Context) bool { return false },
				findBins: noBinaries,
			}

			// Nothing answers at either address; don't wait for TEST-NET-1 to time out.
			ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
			defer cancel()

			if err := d.up(ctx); !errors.Is(err, tt.wantErr) {
				t.Errorf("up() error = %v, want %v", err, tt.wantErr)
			}

			if stdout.Len() != 0 {
				t.Errorf("up() printed %q, want nothing", stdout.String())
			}
		})
	}
}
