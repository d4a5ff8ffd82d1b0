package main

import (
	"errors"
	"os/exec"
	"os/user"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAsUser(t *testing.T) {
	argv := []string{"/usr/lib/postgresql/16/bin/pg_ctl", "-D", "/repo/.data/postgres", "-o", "-p 5433 -k '/a b'", "start"}

	tests := []struct {
		name    string
		user    string
		found   []string // commands lookPath finds, in /usr/bin
		want    []string
		wantErr error
	}{
		{
			name:  "current user",
			found: []string{"runuser", "su"},
			want:  argv,
		},
		{
			name:  "runuser",
			user:  "postgres",
			found: []string{"runuser", "su"},
			want: []string{
				"/usr/bin/runuser", "-u", "postgres", "--",
				"/usr/lib/postgresql/16/bin/pg_ctl", "-D", "/repo/.data/postgres", "-o", "-p 5433 -k '/a b'", "start",
			},
		},
		{
			name:  "su without runuser",
			user:  "postgres",
			found: []string{"su"},
			want: []string{
				"/usr/bin/su", "postgres", "-s", "/bin/sh", "-c",
				`/usr/lib/postgresql/16/bin/pg_ctl -D /repo/.data/postgres -o '-p 5433 -k '\''/a b'\''' start`,
			},
		},
		{
			name:    "neither",
			user:    "postgres",
			wantErr: errNoSwitchUser,
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lookPath := func(name string) (string, error) {
				for _, f := range tt.found {
					if f == name {
						return "/usr/bin/" + name, nil
					}
				}

				return "", exec.ErrNotFound
			}

			got, err := asUser(tt.user, argv, lookPath)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("asUser(%q) error = %v, want %v", tt.user, err, tt.wantErr)
			}

			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("asUser(%q) mismatch (-want +got):\n%s", tt.user, diff)
			}
		})
	}
}

func TestClusterUser(t *testing.T) {
	errLookup := errors.New("no such user")
	postgres := func(string) (*user.User, error) {
		return &user.User{Username: "postgres", Uid: "101", Gid: "104"}, nil
	}
	nobody := func(string) (*user.User, error) { return nil, errLookup }

	tests := []struct {
		name    string
		euid    int
		lookup  func(string) (*user.User, error)
		want    osUser
		wantErr error
	}{
		{name: "regular user runs PostgreSQL itself", euid: 1000, lookup: nobody, want: osUser{}},
		{name: "root runs it as postgres", euid: 0, lookup: postgres, want: osUser{name: "postgres", uid: 101, gid: 104}},
		{name: "root without a postgres user", euid: 0, lookup: nobody, wantErr: errLookup},
	}

	for _, tt := range tests {
		got, err := clusterUser(tt.euid, tt.lookup)
		if !errors.Is(err, tt.wantErr) {
			t.Fatalf("%s: clusterUser(%d) error = %v, want %v", tt.name, tt.euid, err, tt.wantErr)
		}

		if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(osUser{})); diff != "" {
			t.Errorf("%s: clusterUser(%d) mismatch (-want +got):\n%s", tt.name, tt.euid, diff)
		}
	}
}

// TestShellJoin checks the quoting with a real shell: each word must come
// back as it went in.
func TestShellJoin(t *testing.T) {
	words := []string{"plain", "two words", "it's", "", "$HOME", "a\"b", "-c", "listen_addresses=", "/a b/'c'"}

	out, err := execute(t.Context(), []string{"/bin/sh", "-c", `printf '%s\n' ` + shellJoin(words)})
	if err != nil {
		t.Fatalf("/bin/sh: %v", err)
	}

	got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if diff := cmp.Diff(words, got); diff != "" {
		t.Errorf("shellJoin(%q) through /bin/sh mismatch (-want +got):\n%s", words, diff)
	}
}
