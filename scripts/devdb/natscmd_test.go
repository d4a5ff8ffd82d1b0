package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestRunNATS(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    string
		wantErr error
	}{
		{
			name: "url from the environment, as configured",
			args: []string{"nats-url"},
			env:  map[string]string{"NATS_URL": "nats://a:4001, nats://b:4002"},
			want: "nats://a:4001, nats://b:4002\n",
		},
		{
			name: "default url", // no .env or configs/ in scripts/devdb
			args: []string{"nats-url"},
			want: defaultNATSURL + "\n",
		},
		{
			name: "a key/value DB_DSN does not matter",
			args: []string{"nats-url"},
			env:  map[string]string{"DB_DSN": "host=127.0.0.1 dbname=appdb"},
			want: defaultNATSURL + "\n",
		},
		{name: "extra argument", args: []string{"nats-url", "now"}, wantErr: errUsage},
		{name: "unknown nats command", args: []string{"nats-start"}, wantErr: errUsage},
		{
			name:    "not a NATS URL",
			args:    []string{"nats-url"},
			env:     map[string]string{"NATS_URL": "http://127.0.0.1:4222"},
			wantErr: errNotNATSURL,
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

// TestNATSUpWithoutAWay checks that nats-up succeeds, saying that the NATS
// tests will be skipped, when nothing answers and it can start nothing.
func TestNATSUpWithoutAWay(t *testing.T) {
	var stdout bytes.Buffer

	n := fakeNATSDev(t, fmt.Sprintf("nats://127.0.0.1:%d", freePort(t)), &stdout)

	if err := n.up(t.Context()); err != nil {
		t.Fatalf("up() = %v, want nil", err)
	}

	want := "devdb: no NATS server, nats-server binary or Docker engine: NATS tests will be skipped " +
		"(install nats-server or Docker to run them)\n"
	if got := stdout.String(); got != want {
		t.Errorf("up() printed %q, want %q", got, want)
	}
}

// TestNATSUpCannotStart checks that nats-up refuses to start a server where
// it may not or cannot, and reports a server that answers without being
// NATS with JetStream.
func TestNATSUpCannotStart(t *testing.T) {
	tests := []struct {
		name       string
		url        string
		wantErr    error // nil: any error that is not errNoAnswer
		wantInText string
	}{
		{name: "another machine", url: "nats://192.0.2.1:4222", wantErr: errNotLocal}, // TEST-NET-1
		{name: "a TLS URL", url: fmt.Sprintf("tls://127.0.0.1:%d", freePort(t)), wantErr: errNoAnswer, wantInText: "nats:// URLs only"},
		{name: "not NATS", url: "nats://" + silentListener(t), wantInText: "but not NATS with JetStream"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout bytes.Buffer

			n := fakeNATSDev(t, tt.url, &stdout)

			// Don't wait for TEST-NET-1 to time out where it does not refuse at once.
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()

			err := n.up(ctx)
			switch {
			case err == nil:
				t.Fatalf("up() = nil, want an error")
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("up() = %v, want %v", err, tt.wantErr)
			case tt.wantErr == nil && errors.Is(err, errNoAnswer):
				t.Errorf("up() = %v, want an error other than %v", err, errNoAnswer)
			case !strings.Contains(err.Error(), tt.wantInText):
				t.Errorf("up() = %v, want it to say %q", err, tt.wantInText)
			}

			if stdout.Len() != 0 {
				t.Errorf("up() printed %q, want nothing", stdout.String())
			}
		})
	}
}

func TestNATSDownNothingToStop(t *testing.T) {
	var stdout bytes.Buffer

	n := fakeNATSDev(t, defaultNATSURL, &stdout)
	writeFiles(t, n.files.root, map[string]string{"nats.pid": fmt.Sprintf("%d\n", os.Getpid())}) // not a nats-server

	if err := n.down(t.Context()); err != nil {
		t.Fatalf("down() = %v", err)
	}

	if got, want := stdout.String(), "devdb: nothing to stop\n"; got != want {
		t.Errorf("down() printed %q, want %q", got, want)
	}

	if _, err := os.Stat(n.files.pidFile()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("down() left the stale pid file: %v", err)
	}
}

// TestNATSServer starts a real nats-server from this machine's binary on a
// free port, the way nats-up does when nothing answers, and takes it
// through up, up again and down. It never touches the server of the tests.
func TestNATSServer(t *testing.T) {
	bin, err := findNATSServer(exec.LookPath, natsServerDirs)
	if err != nil {
		skipUnlessCI(t, fmt.Sprintf("findNATSServer() = %v: this test needs nats-server "+
			"(apt install nats-server, brew install nats-server)", err))
	}

	var stdout bytes.Buffer

	n := fakeNATSDev(t, fmt.Sprintf("nats://127.0.0.1:%d", freePort(t)), &stdout)
	n.findServer = func() (string, error) { return bin, nil }

	t.Cleanup(func() { killNATS(t, n.files) })

	ctx := t.Context()

	step := func(name string, f func(context.Context) error, want string) {
		t.Helper()
		stdout.Reset()

		if err := f(ctx); err != nil {
			t.Fatalf("%s: %v", name, err)
		}

		t.Logf("%s: %s", name, stdout.String())

		if !strings.Contains(stdout.String(), want) {
			t.Fatalf("%s printed %q, want it to contain %q", name, stdout.String(), want)
		}
	}

	step("up", n.up, "started nats-server")

	if err := natsCheck(ctx, n.target); err != nil {
		t.Fatalf("after up, natsCheck() = %v, want JetStream answering", err)
	}

	if _, ok := n.files.running(ctx); !ok {
		t.Errorf("after up, running() = false, want the pid file to name the nats-server")
	}

	step("up while running", n.up, "with JetStream")
	step("down", n.down, "stopped the nats-server devdb started")

	if err := natsCheck(ctx, n.target); !errors.Is(err, errNoAnswer) {
		t.Fatalf("after down, natsCheck() = %v, want %v", err, errNoAnswer)
	}

	step("down when stopped", n.down, "nothing to stop")
}

// fakeNATSDev returns nats-up and nats-down for url with files in a new
// directory, where no Docker engine and no nats-server are found.
func fakeNATSDev(t *testing.T, url string, stdout io.Writer) *natsdev {
	t.Helper()

	tg, err := parseNATSTarget(url)
	if err != nil {
		t.Fatal(err)
	}

	return &natsdev{
		stdout:     stdout,
		stderr:     io.Discard,
		target:     tg,
		source:     "the test",
		files:      natsFiles{root: t.TempDir()},
		docker:     func(context.Context) bool { return false },
		findServer: func() (string, error) { return "", errNoNATSServer },
	}
}

// silentListener returns the address of a TCP listener that accepts
// connections and closes them at once, as a server that is not NATS might.
func silentListener(t *testing.T) string {
	t.Helper()

	var lc net.ListenConfig

	l, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = l.Close() })

	go func() { // ends when the listener closes
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}

			_ = conn.Close()
		}
	}()

	return l.Addr().String()
}

// killNATS kills the nats-server in files if a failed test left it running.
func killNATS(t *testing.T, files natsFiles) {
	t.Helper()

	if pid, ok := files.running(context.Background()); ok {
		p, err := os.FindProcess(pid)
		if err == nil {
			err = p.Kill()
		}

		if err != nil {
			t.Error(err)
		}
	}
}

// skipUnlessCI skips the test on a developer machine and fails it in CI
// (CI set), where no test may be skipped.
func skipUnlessCI(t *testing.T, reason string) {
	t.Helper()

	if os.Getenv("CI") != "" {
		t.Fatal(reason + " (CI is set: this test must run)")
	}

	t.Skip(reason)
}
