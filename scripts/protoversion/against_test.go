package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakeGit answers rev-parse with gitDir and verifies the refs it has.
func fakeGit(gitDir string, refs ...string) git {
	return func(_ context.Context, _ string, args ...string) (string, error) {
		switch {
		case gitDir == "":
			return "", errors.New("fatal: not a git repository")
		case slices.Equal(args, []string{"rev-parse", "--git-common-dir"}):
			return gitDir, nil
		case len(args) == 4 && slices.Contains(refs, strings.TrimSuffix(args[3], "^{commit}")):
			return "0123abcd", nil
		default:
			return "", errors.New("exit status 1")
		}
	}
}

func TestAgainstInput(t *testing.T) {
	tests := []struct {
		name, root string
		git        git
		want       string
		wantErr    error
	}{
		{name: "local branch", root: ".", git: fakeGit(".git", "refs/heads/main"), want: ".git#branch=main"},
		{name: "other root", root: "/src/app", git: fakeGit(".git", "refs/heads/main"), want: "/src/app/.git#branch=main"},
		{name: "worktree", root: "/wt", git: fakeGit("/src/app/.git", "refs/heads/main"), want: "/src/app/.git#branch=main"},
		{
			name: "remote-tracking branch only", root: ".", git: fakeGit(".git", "refs/remotes/origin/main"),
			want: ".git#ref=refs/remotes/origin/main",
		},
		{
			name: "both", root: ".", git: fakeGit(".git", "refs/remotes/origin/main", "refs/heads/main"),
			want: ".git#branch=main",
		},
		{name: "no branch", root: ".", git: fakeGit(".git", "refs/heads/feature"), wantErr: errNoBranch},
		{name: "no git", root: ".", git: fakeGit(""), wantErr: errNoGit},
	}

	for _, tt := range tests {
		got, err := againstInput(t.Context(), tt.git, tt.root, "main")
		if got != tt.want || !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: againstInput() = %q, %v; want %q, %v", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
}

const breakingProto = `syntax = "proto3";

package shop.v1;

message Item {
  string name = 1;
}
`

// TestBreakingCheck runs what make proto-breaking-check runs, buf breaking
// against the input againstInput finds, on a scratch repository: it must
// pass when nothing changed and fail when a field number changes, in a
// clone on main and in a CI-like shallow clone of another branch.
func TestBreakingCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("runs git and buf: skipped by -short; make test runs it")
	}

	t.Setenv("GIT_CEILING_DIRECTORIES", t.TempDir()) // no repository above the scratch ones

	origin := filepath.Join(t.TempDir(), "origin")
	writeFile(t, filepath.Join(origin, "buf.yaml"), "version: v2\nmodules:\n  - path: proto\nbreaking:\n  use:\n    - FILE\n")
	writeFile(t, filepath.Join(origin, "proto/shop/v1/shop.proto"), breakingProto)
	gitT(t, origin, "init", "--quiet", "--initial-branch=main")
	gitT(t, origin, "add", ".")
	gitT(t, origin, "commit", "--quiet", "--message=shop v1")

	if out, err := bufBreaking(t, origin); err != nil {
		t.Fatalf("unchanged protos: buf breaking failed: %v\n%s", err, out)
	}

	breakField(t, origin)

	if out, err := bufBreaking(t, origin); err == nil || !strings.Contains(out, `Previously present field "1" with name "name"`) {
		t.Errorf("changed field number: buf breaking = %v, want a failure naming the field\n%s", err, out)
	}

	clone := filepath.Join(t.TempDir(), "clone")
	gitT(t, ".", "clone", "--quiet", "--depth=1", "file://"+origin, clone)
	gitT(t, clone, "checkout", "--quiet", "-b", "feature")
	gitT(t, clone, "branch", "--quiet", "-D", "main")
	breakField(t, clone)

	if out, err := bufBreaking(t, clone); err == nil || !strings.Contains(out, `Previously present field "1"`) {
		t.Errorf("shallow clone of a branch: buf breaking = %v, want a failure naming the field\n%s", err, out)
	}

	gitT(t, clone, "update-ref", "-d", "refs/remotes/origin/main")

	if _, err := againstInput(t.Context(), runGit, clone, "main"); !errors.Is(err, errNoBranch) {
		t.Errorf("clone without main: againstInput() error = %v, want %v", err, errNoBranch)
	}

	if _, err := againstInput(t.Context(), runGit, t.TempDir(), "main"); !errors.Is(err, errNoGit) {
		t.Errorf("no git: againstInput() error = %v, want %v", err, errNoGit)
	}
}

func breakField(t *testing.T, dir string) {
	t.Helper()
	writeFile(t, filepath.Join(dir, "proto/shop/v1/shop.proto"), strings.Replace(breakingProto, "name = 1", "name = 2", 1))
}

// bufBreaking runs the repository's pinned buf on dir, against what
// againstInput finds there.
func bufBreaking(t *testing.T, dir string) (string, error) {
	t.Helper()

	input, err := againstInput(t.Context(), runGit, dir, "main")
	if err != nil {
		t.Fatalf("againstInput(%s) error = %v", dir, err)
	}

	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer

	cmd := exec.CommandContext(t.Context(), "go")
	cmd.Args = append(cmd.Args, "tool", "-modfile=tools/go.mod", "buf", "breaking", dir, "--against", input)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()

	return out.String(), err
}

func gitT(t *testing.T, dir string, args ...string) {
	t.Helper()

	identity := []string{"-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"}
	if _, err := runGit(t.Context(), dir, append(identity, args...)...); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, name, data string) {
	t.Helper()

	if err := os.MkdirAll(filepath.Dir(name), 0o750); err != nil {
		t.Fatal(err)
	}

	if err := os.WriteFile(name, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}
