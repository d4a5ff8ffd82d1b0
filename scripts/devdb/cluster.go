package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// cluster is a throwaway PostgreSQL cluster under one directory: the data
// directory postgres/, the socket directory run/ and the log postgres.log.
type cluster struct {
	root     string // as configured, for messages
	abs      string // root made absolute, for the commands
	owner    osUser // runs the binaries; the zero value is the current user
	lookPath func(string) (string, error)
}

// newCluster returns the cluster under root, relative to the working directory.
func newCluster(root string, owner osUser, lookPath func(string) (string, error)) (cluster, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return cluster{}, fmt.Errorf("locate %s: %w", root, err)
	}

	return cluster{root: root, abs: abs, owner: owner, lookPath: lookPath}, nil
}

func (c cluster) dataDir() string { return filepath.Join(c.abs, "postgres") }
func (c cluster) runDir() string  { return filepath.Join(c.abs, "run") }
func (c cluster) logFile() string { return filepath.Join(c.abs, "postgres.log") }

// shown returns the path of the cluster file name as the user configured
// the root, relative or not, for messages.
func (c cluster) shown(name string) string { return filepath.Join(c.root, name) }

// initialized reports whether initdb has run in the data directory.
func (c cluster) initialized() bool {
	_, err := os.Stat(filepath.Join(c.dataDir(), "PG_VERSION"))

	return err == nil
}

// start initializes the cluster if needed and starts it listening on the
// host and port of t: a TCP address, or a socket directory.
func (c cluster) start(ctx context.Context, bins binaries, t target) error {
	if err := c.prepare(ctx); err != nil {
		return err
	}

	if !c.initialized() {
		err := c.run(ctx, bins.path("initdb"), "-D", c.dataDir(),
			"-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
		if err != nil {
			return fmt.Errorf("initialize %s: %w", c.shown("postgres"), err)
		}
	}

	listen, sockets := t.host, c.runDir()
	if t.socket() {
		listen, sockets = "", t.host
	}

	opts := shellJoin([]string{
		"-p", strconv.Itoa(int(t.port)),
		"-c", "listen_addresses=" + listen,
		"-k", sockets,
		"-c", "fsync=off",
	})

	err := c.run(ctx, bins.path("pg_ctl"), "-w", "-t", "60", "-D", c.dataDir(), "-l", c.logFile(), "-o", opts, "start")
	if err != nil {
		return fmt.Errorf("start the cluster in %s (see %s): %w", c.shown("postgres"), c.shown("postgres.log"), err)
	}

	return nil
}

// stop stops the cluster, disconnecting its sessions.
func (c cluster) stop(ctx context.Context, bins binaries) error {
	if err := c.run(ctx, bins.path("pg_ctl"), "-D", c.dataDir(), "-m", "fast", "-w", "stop"); err != nil {
		return fmt.Errorf("stop the cluster in %s: %w", c.shown("postgres"), err)
	}

	return nil
}

// prepare creates the directories and, when the cluster has its own owner,
// hands them over and checks that the owner can reach them.
func (c cluster) prepare(ctx context.Context) error {
	for _, dir := range []string{c.dataDir(), c.runDir()} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create %s: %w", dir, err)
		}
	}

	if c.owner.name == "" {
		return nil
	}

	for _, dir := range []string{c.abs, c.dataDir(), c.runDir()} {
		if err := os.Chown(dir, c.owner.uid, c.owner.gid); err != nil {
			return fmt.Errorf("hand %s to the %s user: %w", dir, c.owner.name, err)
		}
	}

	if err := c.run(ctx, "test", "-w", c.dataDir()); err != nil {
		return fmt.Errorf("the %s OS user cannot reach %s: make its parent directories traversable "+
			"(chmod o+x), set DEVDB_DATA_DIR to a directory it can reach, or run devdb as a regular user: %w",
			c.owner.name, c.dataDir(), err)
	}

	return nil
}

// run runs a command as the owner of the cluster.
func (c cluster) run(ctx context.Context, name string, args ...string) error {
	argv, err := asUser(c.owner.name, append([]string{name}, args...), c.lookPath)
	if err != nil {
		return err
	}

	_, err = execute(ctx, argv)

	return err
}

// running returns the port of the cluster's postmaster, if one runs.
func (c cluster) running() (port int, ok bool) {
	data, err := os.ReadFile(filepath.Join(c.dataDir(), "postmaster.pid"))
	if err != nil {
		return 0, false
	}

	// Lines: PID, data directory, start time, port, socket directory, ...
	lines := strings.Split(string(data), "\n")
	if len(lines) < 4 {
		return 0, false
	}

	pid, perr := strconv.Atoi(strings.TrimSpace(lines[0]))
	port, err = strconv.Atoi(strings.TrimSpace(lines[3]))

	if perr != nil || err != nil || !processAlive(pid) {
		return 0, false
	}

	return port, true
}

// processAlive reports whether process pid exists, even if it belongs to
// another user.
func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}

	err = p.Signal(syscall.Signal(0))

	return err == nil || errors.Is(err, syscall.EPERM)
}
