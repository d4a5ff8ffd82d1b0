package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFindNATSServer(t *testing.T) {
	root := t.TempDir()

	fakeInstall(t, root, "sbin", "nats-server")
	fakeInstall(t, root, "local/bin", "nats-server")
	fakeInstall(t, root, "path/bin", "nats-server")
	fakeInstall(t, root, "empty/bin", "nats")
	writeFiles(t, root, map[string]string{"broken/bin/nats-server": "not executable"})

	sbin := filepath.Join(root, "sbin")
	local := filepath.Join(root, "local/bin")
	empty := filepath.Join(root, "empty/bin")
	broken := filepath.Join(root, "broken/bin")
	missing := filepath.Join(root, "missing/bin")

	tests := []struct {
		name    string
		path    string // where lookPath finds nats-server; "" finds nothing
		dirs    []string
		want    string
		wantErr error
	}{
		{name: "PATH first", path: filepath.Join(root, "path/bin/nats-server"), dirs: []string{sbin}, want: "path/bin/nats-server"},
		{name: "dirs in order", dirs: []string{missing, local, sbin}, want: "local/bin/nats-server"},
		{name: "non-executable skipped", dirs: []string{broken, sbin}, want: "sbin/nats-server"},
		{name: "nothing anywhere", dirs: []string{missing, empty, broken}, wantErr: errNoNATSServer},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lookPath := func(name string) (string, error) {
				if name != "nats-server" || tt.path == "" {
					return "", exec.ErrNotFound
				}

				return tt.path, nil
			}

			got, err := findNATSServer(lookPath, tt.dirs)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("findNATSServer() error = %v, want %v", err, tt.wantErr)
			}

			if tt.wantErr != nil {
				return
			}

			if want := filepath.Join(root, tt.want); got != want {
				t.Errorf("findNATSServer() = %q, want %q", got, want)
			}
		})
	}
}

// TestNATSServerDirs pins the install locations searched after PATH.
func TestNATSServerDirs(t *testing.T) {
	want := []string{"/usr/sbin", "/usr/local/bin", "/opt/homebrew/bin", "/usr/local/opt/nats-server/bin"}
	if diff := cmp.Diff(want, natsServerDirs); diff != "" {
		t.Errorf("natsServerDirs mismatch (-want +got):\n%s", diff)
	}
}

// TestIsNATSServer checks the process check on processes that are not
// nats-server: this test's own, and one that has exited and been reaped.
func TestIsNATSServer(t *testing.T) {
	if isNATSServer(t.Context(), os.Getpid()) {
		t.Errorf("isNATSServer(own pid) = true, want false")
	}

	cmd := exec.CommandContext(t.Context(), "true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}

	if isNATSServer(t.Context(), cmd.Process.Pid) {
		t.Errorf("isNATSServer(pid of an exited process) = true, want false")
	}
}

func TestProcStat(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skipf("/proc/<pid>/stat is Linux's; %s uses ps", runtime.GOOS)
	}

	state, name, err := procStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}

	want := filepath.Base(os.Args[0])
	if len(want) > 15 {
		want = want[:15] // the kernel keeps the first 15 bytes of the name
	}

	if name != want {
		t.Errorf("procStat(own pid) name = %q, want %q", name, want)
	}

	if state != "R" && state != "S" {
		t.Errorf("procStat(own pid) state = %q, want R or S", state)
	}
}

func TestPSStat(t *testing.T) {
	if _, err := exec.LookPath("ps"); err != nil {
		skipUnlessCI(t, "no ps on this machine; isNATSServer needs it only where there is no /proc")
	}

	state, name, err := psStat(t.Context(), os.Getpid())
	if err != nil {
		t.Fatal(err)
	}

	if filepath.Base(name) == "" || state == "" || state[0] == 'Z' {
		t.Errorf("psStat(own pid) = %q, %q; want a running process with a name", state, name)
	}
}

func TestParseHostPort(t *testing.T) {
	tests := []struct {
		out    string
		want   int
		wantOK bool
	}{
		{out: "127.0.0.1:4222\n", want: 4222, wantOK: true},
		{out: "[::1]:5433", want: 5433, wantOK: true},
		{out: "0.0.0.0:15432\n", want: 15432, wantOK: true},
		{out: "", wantOK: false},
		{out: "no port", wantOK: false},
	}

	for _, tt := range tests {
		if got, ok := parseHostPort(tt.out); got != tt.want || ok != tt.wantOK {
			t.Errorf("parseHostPort(%q) = %d, %v; want %d, %v", tt.out, got, ok, tt.want, tt.wantOK)
		}
	}
}

// TestComposeCommands pins the docker compose command lines: up waits, and
// stopping one service leaves the other running.
func TestComposeCommands(t *testing.T) {
	tests := []struct {
		name string
		got  []string
		want []string
	}{
		{
			name: "nats up",
			got:  natsService.upArgs(),
			want: []string{"docker", "compose", "-f", "deployment/docker/compose.yaml", "up", "-d", "--wait", "nats"},
		},
		{
			name: "nats remove",
			got:  natsService.removeArgs(),
			want: []string{"docker", "compose", "-f", "deployment/docker/compose.yaml", "rm", "--stop", "--force", "nats"},
		},
		{
			name: "postgres remove",
			got:  postgresService.removeArgs(),
			want: []string{"docker", "compose", "-f", "deployment/docker/compose.yaml", "rm", "--stop", "--force", "postgres"},
		},
	}

	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, tt.got); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
}
