package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
)

// clusterOwner is the OS user that runs initdb and pg_ctl when devdb runs as
// root: PostgreSQL refuses to run as root.
const clusterOwner = "postgres"

// errNoSwitchUser means there is neither runuser nor su to run a command as
// another user.
var errNoSwitchUser = errors.New("neither runuser nor su is available")

// osUser is an OS account that owns and runs the throwaway cluster; the
// zero value is the current user.
type osUser struct {
	name     string
	uid, gid int
}

// clusterUser returns the OS user to run PostgreSQL binaries as: the
// current user unless euid is root.
func clusterUser(euid int, lookup func(string) (*user.User, error)) (osUser, error) {
	if euid != 0 {
		return osUser{}, nil
	}

	u, err := lookup(clusterOwner)
	if err != nil {
		return osUser{}, fmt.Errorf("running as root, devdb runs PostgreSQL as the %q OS user, which does not exist "+
			"(PostgreSQL refuses to run as root); create it (useradd --system %s) or run as a regular user: %w",
			clusterOwner, clusterOwner, err)
	}

	uid, uerr := strconv.Atoi(u.Uid)
	gid, gerr := strconv.Atoi(u.Gid)

	if err := errors.Join(uerr, gerr); err != nil {
		return osUser{}, fmt.Errorf("user %s has a non-numeric uid or gid: %w", clusterOwner, err)
	}

	return osUser{name: u.Username, uid: uid, gid: gid}, nil
}

// asUser returns argv rewritten to run as the OS user name, through runuser
// or, where there is none, su. An empty name leaves argv as it is.
func asUser(name string, argv []string, lookPath func(string) (string, error)) ([]string, error) {
	if name == "" {
		return argv, nil
	}

	if p, err := lookPath("runuser"); err == nil {
		return append([]string{p, "-u", name, "--"}, argv...), nil
	}

	if p, err := lookPath("su"); err == nil {
		return []string{p, name, "-s", "/bin/sh", "-c", shellJoin(argv)}, nil
	}

	return nil, fmt.Errorf("run %s as the %s user: %w", filepath.Base(argv[0]), name, errNoSwitchUser)
}

// shellJoin quotes each word for /bin/sh and joins them with spaces.
func shellJoin(words []string) string {
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = shellQuote(w)
	}

	return strings.Join(quoted, " ")
}

// shellQuote returns s as one /bin/sh word.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@,+") == "" {
		return s
	}

	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// command returns the command for argv, with extra environment variables.
func command(ctx context.Context, name string, args []string, env []string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name)
	cmd.Args = append(cmd.Args, args...)

	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}

	return cmd
}

// execute runs argv and returns its combined output. A failure carries the
// end of the output, where the tools say what went wrong.
func execute(ctx context.Context, argv []string) (string, error) {
	out, err := command(ctx, argv[0], argv[1:], nil).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %s: %w", filepath.Base(argv[0]), tail(string(out)), err)
	}

	return string(out), nil
}

// stream runs argv with its output going to w as it is produced.
func stream(ctx context.Context, w io.Writer, argv []string, env ...string) error {
	cmd := command(ctx, argv[0], argv[1:], env)
	cmd.Stdout = w
	cmd.Stderr = w

	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
	}

	return nil
}

// tail returns the last lines of a command's output.
func tail(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}

	return strings.Join(lines, "\n")
}
