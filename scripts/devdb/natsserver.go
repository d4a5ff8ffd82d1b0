package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// natsServerDirs are the usual install locations of nats-server, searched
// in order after PATH: Debian and Ubuntu (package nats-server), the
// release archives and Homebrew on Intel, Homebrew on Apple silicon, and
// Homebrew's keg.
var natsServerDirs = []string{
	"/usr/sbin",
	"/usr/local/bin",
	"/opt/homebrew/bin",
	"/usr/local/opt/nats-server/bin",
}

// errNoNATSServer means neither PATH nor the usual install locations hold
// nats-server.
var errNoNATSServer = errors.New("no nats-server binary on PATH or in the usual places")

// errNoAnswer means nothing listens at the NATS address.
var errNoAnswer = errors.New("nothing answers")

// natsStopWait bounds the wait for a nats-server to exit after SIGTERM;
// JetStream flushes its streams first.
const natsStopWait = 15 * time.Second

// findNATSServer returns the nats-server that lookPath finds, else the
// first one in dirs.
func findNATSServer(lookPath func(string) (string, error), dirs []string) (string, error) {
	if p, err := lookPath("nats-server"); err == nil {
		return p, nil
	}

	for _, dir := range dirs {
		if p := filepath.Join(dir, "nats-server"); isExecutable(p) {
			return p, nil
		}
	}

	return "", errNoNATSServer
}

// natsServerVersion returns the version of the nats-server binary, such as "v2.10.22".
func natsServerVersion(ctx context.Context, bin string) (string, error) {
	out, err := execute(ctx, []string{bin, "--version"})
	if err != nil {
		return "", err
	}

	// nats-server: v2.10.22
	_, version, _ := strings.Cut(strings.TrimSpace(out), ": ")

	return version, nil
}

// natsCheck reports whether NATS with JetStream answers at t: nil if so,
// an error wrapping errNoAnswer if nothing listens there, another error if
// something listens that is not a usable NATS server with JetStream.
func natsCheck(ctx context.Context, t natsTarget) error {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()

	var d net.Dialer

	conn, err := d.DialContext(ctx, "tcp", t.address())
	if err != nil {
		return fmt.Errorf("%w at %s: %w", errNoAnswer, t.address(), err)
	}

	_ = conn.Close()

	nc, err := nats.Connect(t.serverURL(), nats.Name("devdb"), nats.Timeout(connectTimeout), nats.NoReconnect())
	if err != nil {
		return fmt.Errorf("connect to NATS: %w", err)
	}
	defer nc.Close()

	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("JetStream: %w", err)
	}

	if _, err := js.AccountInfo(ctx); err != nil {
		return fmt.Errorf("JetStream (a nats-server needs -js): %w", err)
	}

	return nil
}

// natsFiles are the files of the nats-server devdb starts, under one
// directory: the JetStream store nats/, the log nats.log and the pid file
// nats.pid.
type natsFiles struct {
	root string // as configured, for messages
}

func (f natsFiles) storeDir() string { return filepath.Join(f.root, "nats") }
func (f natsFiles) logFile() string  { return filepath.Join(f.root, "nats.log") }
func (f natsFiles) pidFile() string  { return filepath.Join(f.root, "nats.pid") }

// start starts bin detached, in its own session so that it outlives devdb
// and the terminal's signals, listening on the address of t with JetStream.
// The channel receives the result of the process when it exits.
func (f natsFiles) start(ctx context.Context, bin string, t natsTarget) (int, <-chan error, error) {
	if err := os.MkdirAll(f.storeDir(), 0o700); err != nil {
		return 0, nil, fmt.Errorf("create %s: %w", f.storeDir(), err)
	}

	store, err := filepath.Abs(f.storeDir())
	if err != nil {
		return 0, nil, fmt.Errorf("locate %s: %w", f.storeDir(), err)
	}

	logFile, err := os.OpenFile(f.logFile(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return 0, nil, fmt.Errorf("open the log: %w", err)
	}
	defer logFile.Close() // the server has its own descriptor

	// The server must outlive this context, which ends when devdb does.
	args := []string{"-a", t.host, "-p", strconv.Itoa(int(t.port)), "-js", "-sd", store}
	cmd := command(context.WithoutCancel(ctx), bin, args, nil)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = detached()

	if err := cmd.Start(); err != nil {
		return 0, nil, fmt.Errorf("start %s: %w", bin, err)
	}

	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }() // reaps the server if it exits while devdb runs

	pid := cmd.Process.Pid
	if err := os.WriteFile(f.pidFile(), []byte(strconv.Itoa(pid)+"\n"), 0o600); err != nil {
		_ = cmd.Process.Kill()

		return 0, nil, fmt.Errorf("write the pid file: %w", err)
	}

	return pid, exited, nil
}

// running returns the pid in the pid file when that process is a running
// nats-server.
func (f natsFiles) running(ctx context.Context) (int, bool) {
	data, err := os.ReadFile(f.pidFile())
	if err != nil {
		return 0, false
	}

	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, false
	}

	return pid, isNATSServer(ctx, pid)
}

// stop stops the nats-server pid, waits until it exits, and removes the
// pid file.
func (f natsFiles) stop(ctx context.Context, pid int) error {
	p, err := os.FindProcess(pid)
	if err == nil {
		err = p.Signal(syscall.SIGTERM)
	}

	if err != nil {
		return fmt.Errorf("stop nats-server (pid %d): %w", pid, err)
	}

	deadline := time.Now().Add(natsStopWait)
	for isNATSServer(ctx, pid) {
		if time.Now().After(deadline) {
			return fmt.Errorf("nats-server (pid %d) still runs %s after SIGTERM", pid, natsStopWait)
		}

		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for nats-server (pid %d) to exit: %w", pid, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}

	return f.forget()
}

// forget removes the pid file, if there is one.
func (f natsFiles) forget() error {
	if err := os.Remove(f.pidFile()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove the pid file: %w", err)
	}

	return nil
}

// logTail returns the end of the log, where nats-server says why it stopped.
func (f natsFiles) logTail() string {
	data, err := os.ReadFile(f.logFile())
	if err != nil {
		return err.Error()
	}

	return tail(string(data))
}

// isNATSServer reports whether process pid is a nats-server that runs: not
// a zombie waiting for its parent, nor another program that took the pid
// of a server gone since.
func isNATSServer(ctx context.Context, pid int) bool {
	state, name, err := procStat(pid)
	if errors.Is(err, os.ErrNotExist) && !isDir("/proc/self") { // no procfs: macOS
		state, name, err = psStat(ctx, pid)
	}

	return err == nil && !strings.HasPrefix(state, "Z") && filepath.Base(name) == "nats-server"
}

// procStat returns the state and command name of process pid from Linux's
// /proc/<pid>/stat: "pid (name) state ...".
func procStat(pid int) (state, name string, err error) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return "", "", fmt.Errorf("read the process status: %w", err)
	}

	s := string(data)

	open, closing := strings.Index(s, "("), strings.LastIndex(s, ")")
	if open < 0 || closing < open {
		return "", "", fmt.Errorf("process %d: unexpected stat %q", pid, tail(s))
	}

	state, _, _ = strings.Cut(strings.TrimSpace(s[closing+1:]), " ")

	return state, s[open+1 : closing], nil
}

// psStat returns the state and command name of process pid from ps.
func psStat(ctx context.Context, pid int) (state, name string, err error) {
	out, err := execute(ctx, []string{"ps", "-o", "stat=,comm=", "-p", strconv.Itoa(pid)})
	if err != nil {
		return "", "", err
	}

	state, name, _ = strings.Cut(strings.TrimSpace(out), " ")

	return state, strings.TrimSpace(name), nil
}

func isDir(path string) bool {
	fi, err := os.Stat(path)

	return err == nil && fi.IsDir()
}
