package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"time"
)

// natsStartWait bounds the wait for a started NATS server to answer with
// JetStream.
const natsStartWait = 30 * time.Second

// natsdev carries out the nats-* commands for one NATS URL.
type natsdev struct {
	stdout     io.Writer
	stderr     io.Writer
	target     natsTarget
	source     string // where the URL came from
	files      natsFiles
	docker     func(context.Context) bool
	findServer func() (string, error)
}

// runNATS carries out the nats-* command in args from the working directory.
func runNATS(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	raw, source, err := resolveNATSURL(".", getenv)
	if err != nil {
		return err
	}

	t, err := parseNATSTarget(raw)
	if err != nil {
		return fmt.Errorf("%w (from %s)", err, source)
	}

	n := &natsdev{
		stdout:     stdout,
		stderr:     stderr,
		target:     t,
		source:     source,
		files:      natsFiles{root: dataDir(getenv)},
		docker:     dockerAnswers,
		findServer: func() (string, error) { return findNATSServer(exec.LookPath, natsServerDirs) },
	}

	return n.command(ctx, args[0], args[1:])
}

// command runs the subcommand name with its arguments.
func (n *natsdev) command(ctx context.Context, name string, args []string) error {
	if len(args) > 0 {
		fmt.Fprintln(n.stderr, usage)

		return errUsage
	}

	switch name {
	case "nats-up":
		return n.up(ctx)
	case "nats-down":
		return n.down(ctx)
	case "nats-url":
		if _, err := fmt.Fprintln(n.stdout, n.target.raw); err != nil {
			return fmt.Errorf("print the URL: %w", err)
		}

		return nil
	default:
		fmt.Fprintln(n.stderr, usage)

		return errUsage
	}
}

// up makes sure NATS with JetStream answers at the target, starting a
// server when nothing answers at a local address: nats-server if there is
// one, else the compose service if a Docker engine answers. With neither,
// it says that the NATS tests will be skipped and succeeds: the default
// event transport needs no NATS.
func (n *natsdev) up(ctx context.Context) error {
	t := n.target

	err := natsCheck(ctx, t)
	switch {
	case err == nil:
		n.say("NATS answers at %s with JetStream", t)

		return nil
	case !errors.Is(err, errNoAnswer):
		return fmt.Errorf("something answers at %s (NATS_URL from %s) but not NATS with JetStream: %w", t, n.source, err)
	case !isLocalHost(t.host):
		return fmt.Errorf("nothing answers at %s and it is %w; start it or set NATS_URL (%w)", t, errNotLocal, err)
	case t.url.Scheme != natsScheme:
		return fmt.Errorf("nothing answers at %s and devdb starts servers for nats:// URLs only; "+
			"start it or set NATS_URL (%w)", t, err)
	}

	bin, err := n.findServer()
	switch {
	case err == nil:
		return n.startServer(ctx, bin)
	case !errors.Is(err, errNoNATSServer):
		return err
	case n.docker(ctx):
		return n.startCompose(ctx)
	}

	n.say("no NATS server, nats-server binary or Docker engine: NATS tests will be skipped " +
		"(install nats-server or Docker to run them)")

	return nil
}

// startServer starts the nats-server binary bin on the target's address.
func (n *natsdev) startServer(ctx context.Context, bin string) error {
	t, f := n.target, n.files

	if pid, ok := f.running(ctx); ok {
		return fmt.Errorf("the nats-server devdb started (pid %d) does not answer at %s; "+
			"stop it with make nats-down and try again (its log: %s)", pid, t, f.logFile())
	}

	version, err := natsServerVersion(ctx, bin)
	if err != nil {
		return err
	}

	pid, exited, err := f.start(ctx, bin, t)
	if err != nil {
		return err
	}

	if err := awaitNATS(ctx, t, exited); err != nil {
		return fmt.Errorf("%w\n%s says:\n%s", err, f.logFile(), f.logTail())
	}

	select {
	case werr := <-exited: // another server took the address first
		n.say("NATS answers at %s with JetStream: another server started meanwhile (nats-server %s %v; see %s)",
			t, version, werr, f.logFile())

		return f.forget()
	default:
	}

	n.say("nothing answered at %s; started nats-server %s from %s with JetStream in %s "+
		"(pid %d, log %s; stop it with make nats-down)", t, version, bin, f.storeDir(), pid, f.logFile())

	return nil
}

// startCompose starts the compose service on the target's port.
func (n *natsdev) startCompose(ctx context.Context) error {
	t := n.target
	n.say("nothing answers at %s; starting the %s", t, natsService)

	if err := natsService.up(ctx, n.stderr, t.port); err != nil {
		return fmt.Errorf("start the %s: %w", natsService, err)
	}

	if err := awaitNATS(ctx, t, nil); err != nil {
		return err
	}

	n.say("started %s with the %s on 127.0.0.1:%d (stop it with make nats-down)", natsService.product, natsService, t.port)

	return nil
}

// awaitNATS waits until NATS with JetStream answers at t, the process
// behind exited (nil for none) exits, or natsStartWait passes.
func awaitNATS(ctx context.Context, t natsTarget, exited <-chan error) error {
	deadline := time.Now().Add(natsStartWait)

	for {
		err := natsCheck(ctx, t)
		if err == nil {
			return nil
		}

		if time.Now().After(deadline) {
			return fmt.Errorf("NATS did not answer at %s within %s: %w", t, natsStartWait, err)
		}

		select {
		case werr := <-exited:
			return fmt.Errorf("nats-server exited before it answered at %s: %w", t, werr)
		case <-ctx.Done():
			return fmt.Errorf("wait for NATS at %s: %w", t, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// down stops the nats-server and the compose service that up started,
// whichever runs.
func (n *natsdev) down(ctx context.Context) error {
	stopped := false

	if pid, ok := n.files.running(ctx); ok {
		if err := n.files.stop(ctx, pid); err != nil {
			return err
		}

		n.say("stopped the nats-server devdb started (pid %d; its JetStream data stays in %s)", pid, n.files.storeDir())

		stopped = true
	} else if err := n.files.forget(); err != nil { // a stale pid file
		return err
	}

	if n.docker(ctx) {
		if _, ok := natsService.hostPort(ctx); ok {
			if err := natsService.remove(ctx, n.stderr); err != nil {
				return fmt.Errorf("stop the %s: %w", natsService, err)
			}

			n.say("stopped the %s", natsService)

			stopped = true
		}
	}

	if !stopped {
		n.say("nothing to stop")
	}

	return nil
}

// say prints one line of what devdb did.
func (n *natsdev) say(format string, args ...any) {
	fmt.Fprintf(n.stdout, "devdb: "+format+"\n", args...)
}
