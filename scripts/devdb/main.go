// Command devdb makes sure the PostgreSQL server that the database URL
// points at answers, so that make run and make test work on a fresh machine
// with Go and either a Docker engine or PostgreSQL installed; and, for the
// tests of the NATS event transport, that NATS with JetStream answers.
//
// It resolves the URL like the server does (DB_DSN in the environment, then
// DB_DSN in .env, then db_dsn in the config file, then the default). When
// nothing answers at a local address it starts a server itself: the compose
// service in deployment/docker/compose.yaml when a Docker engine answers,
// otherwise a throwaway cluster from the local PostgreSQL binaries under
// .data/ (DEVDB_DATA_DIR overrides the directory). It always says what it did.
//
// The nats-* commands do the same for NATS_URL (the environment, .env,
// events.nats_url in the config file, or nats://127.0.0.1:4222): when
// nothing answers at a local address, nats-up starts the nats-server
// binary if there is one (JetStream in .data/nats, log .data/nats.log, pid
// .data/nats.pid), else the compose service nats if a Docker engine
// answers. With neither it only says that the NATS tests will be skipped:
// the default event transport needs no NATS.
//
// Usage, from the repository root:
//
//	go run ./scripts/devdb up                # start a server if needed, create the database
//	go run ./scripts/devdb reset             # up, then drop and recreate the database
//	go run ./scripts/devdb down              # stop what devdb started
//	go run ./scripts/devdb status            # does it answer, and who started it
//	go run ./scripts/devdb url [--maintenance] # print the URL (of the postgres database)
//	go run ./scripts/devdb nats-up           # start NATS with JetStream if needed and possible
//	go run ./scripts/devdb nats-down         # stop the NATS server devdb started
//	go run ./scripts/devdb nats-url          # print the NATS URL
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
)

// defaultDataDir holds the throwaway cluster, relative to the repository root.
const defaultDataDir = ".data"

const usage = `usage: go run ./scripts/devdb <command>

commands:
  up                  make sure PostgreSQL answers and the database exists
  reset               up, then drop and recreate the database
  down                stop the server devdb started
  status              say whether PostgreSQL answers and who started it
  url [--maintenance] print the database URL (of the postgres database with --maintenance)
  nats-up             make sure NATS with JetStream answers, if there is a way to start it
  nats-down           stop the NATS server devdb started
  nats-url            print the NATS URL`

// errUsage means the command line is wrong; usage has been printed.
var errUsage = errors.New("see usage above")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)

	stop()

	if err != nil {
		fmt.Fprintln(os.Stderr, "devdb:", err)
		os.Exit(1)
	}
}

// run carries out the command in args from the working directory.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)

		return errUsage
	}

	if strings.HasPrefix(args[0], "nats-") {
		return runNATS(ctx, args, getenv, stdout, stderr)
	}

	dsn, source, err := resolveDSN(".", getenv)
	if err != nil {
		return err
	}

	t, err := parseTarget(dsn)
	if err != nil {
		return fmt.Errorf("%w (from %s)", err, source)
	}

	return newDevdb(t, source, getenv, stdout, stderr).command(ctx, args[0], args[1:])
}

// devdb carries out the commands for one database URL.
type devdb struct {
	stdout   io.Writer
	stderr   io.Writer
	target   target
	source   string // where the URL came from, for status
	dataDir  string // holds the throwaway cluster
	euid     int
	docker   func(context.Context) bool
	findBins func() (binaries, error)
}

// dataDir returns the directory of what devdb starts: DEVDB_DATA_DIR, or .data.
func dataDir(getenv func(string) string) string {
	if dir := getenv("DEVDB_DATA_DIR"); dir != "" {
		return dir
	}

	return defaultDataDir
}

func newDevdb(t target, source string, getenv func(string) string, stdout, stderr io.Writer) *devdb {
	return &devdb{
		stdout:   stdout,
		stderr:   stderr,
		target:   t,
		source:   source,
		dataDir:  dataDir(getenv),
		euid:     os.Geteuid(),
		docker:   dockerAnswers,
		findBins: func() (binaries, error) { return findBinaries(exec.LookPath, binGlobs) },
	}
}

// command runs the subcommand name with its arguments.
func (d *devdb) command(ctx context.Context, name string, args []string) error {
	if name != "url" && len(args) > 0 {
		fmt.Fprintln(d.stderr, usage)

		return errUsage
	}

	switch name {
	case "up":
		return d.up(ctx)
	case "reset":
		return d.reset(ctx)
	case "down":
		return d.down(ctx)
	case "status":
		return d.status(ctx)
	case "url":
		return d.url(args)
	default:
		fmt.Fprintln(d.stderr, usage)

		return errUsage
	}
}

// url prints the unredacted database URL, for scripts.
func (d *devdb) url(args []string) error {
	fs := flag.NewFlagSet("url", flag.ContinueOnError)
	fs.SetOutput(d.stderr)
	maintenance := fs.Bool("maintenance", false, "print the URL of the postgres maintenance database on the same server")

	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("url: %w", err)
	}

	if fs.NArg() > 0 {
		fmt.Fprintln(d.stderr, usage)

		return errUsage
	}

	dsn := d.target.dsn()
	if *maintenance {
		dsn = d.target.withDatabase(maintenanceDB)
	}

	if _, err := fmt.Fprintln(d.stdout, dsn); err != nil {
		return fmt.Errorf("print the URL: %w", err)
	}

	return nil
}
