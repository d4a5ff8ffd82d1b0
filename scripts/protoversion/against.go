package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

var (
	errNoGit    = errors.New("no git history: the breaking check compares the protos with a branch, so it needs a git clone")
	errNoBranch = errors.New("branch not found")
)

// git runs git in a directory and returns its standard output.
type git func(ctx context.Context, dir string, args ...string) (string, error)

func runGit(ctx context.Context, dir string, args ...string) (string, error) {
	var stderr bytes.Buffer

	cmd := exec.CommandContext(ctx, "git")
	cmd.Args = append(append(cmd.Args, "-C", dir), args...)
	cmd.Stderr = &stderr

	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %s: %w", strings.Join(args, " "), strings.TrimSpace(stderr.String()), err)
	}

	return strings.TrimSpace(string(out)), nil
}

// againstInput returns the buf input holding the protos of branch, for
// `buf breaking --against`: the local branch when there is one (main
// checked out, or any full clone), else the remote-tracking origin/<branch>
// (a CI clone of another branch that fetched main). Without either, or
// without git history at all, it fails: a check with nothing to compare
// with must not pass.
func againstInput(ctx context.Context, git git, root, branch string) (string, error) {
	gitDir, err := git(ctx, root, "rev-parse", "--git-common-dir")
	if err != nil {
		return "", fmt.Errorf("%w (%w)", errNoGit, err)
	}

	if !filepath.IsAbs(gitDir) {
		gitDir = filepath.Join(root, gitDir)
	}

	for _, ref := range []struct{ name, input string }{
		{"refs/heads/" + branch, "#branch=" + branch},
		{"refs/remotes/origin/" + branch, "#ref=refs/remotes/origin/" + branch},
	} {
		if _, err := git(ctx, root, "rev-parse", "--verify", "--quiet", ref.name+"^{commit}"); err == nil {
			return gitDir + ref.input, nil
		}
	}

	return "", fmt.Errorf("%q (nor origin/%s; fetch it: git fetch origin %s:%s): %w",
		branch, branch, branch, branch, errNoBranch)
}
