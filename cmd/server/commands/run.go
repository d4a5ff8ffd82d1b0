// Package commands is the command line of every binary: serve (the
// server's default), work (the worker's), migrate, seed, admin, events,
// flags and version. cmd/server runs every module, cmd/worker their event handlers
// and scheduled tasks, cmd/<module> one module as its own service; each
// main is one call to Main.
package commands

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"

	gqlgen "github.com/99designs/gqlgen/graphql"

	"github.com/modulith/modulith/internal/config"
	"github.com/modulith/modulith/internal/graphql"
	"github.com/modulith/modulith/internal/registry"
)

// Version and Commit are set at build time with -ldflags -X.
var (
	Version = "dev"
	Commit  = ""
)

// Program describes a binary.
type Program struct {
	// Name of the binary and of the service in logs and telemetry.
	Name string
	// ConfigFile is the YAML file read when neither --config nor
	// CONFIG_FILE names one; it may be missing.
	ConfigFile string
	// Modules are the modules the binary knows, in start order
	// (modules.All()).
	Modules []registry.Module
	// Serve names the modules the binary runs; nil runs every module that
	// REMOTE_MODULES does not name. A module it does not run is reached
	// over the network when REMOTE_MODULES names it.
	Serve []string
	// Default is the command run when none is given; "" means serve.
	Default string
	// GraphQL builds the modules' GraphQL schema (modules.GraphQL), served
	// at /graphql; nil serves none. The server serves it: the edge of the
	// API, it reaches modules that run elsewhere over REMOTE_MODULES.
	GraphQL func(graphql.Deps) gqlgen.ExecutableSchema
}

// Server is the monolith: every module, configured by
// configs/server.yaml, and their GraphQL schema, built by schema.
func Server(modules []registry.Module, schema func(graphql.Deps) gqlgen.ExecutableSchema) Program {
	return Program{Name: "server", ConfigFile: "configs/server.yaml", Modules: modules, GraphQL: schema}
}

// Worker is the worker process: the monolith's modules, their event
// subscribers and scheduled tasks, configured by configs/worker.yaml.
func Worker(modules []registry.Module) Program {
	return Program{Name: "worker", ConfigFile: "configs/worker.yaml", Modules: modules, Default: "work"}
}

// Service runs one module as its own service (microservice mode),
// configured by configs/<module>.yaml.
func Service(module string, modules []registry.Module) Program {
	return Program{Name: module, ConfigFile: "configs/" + module + ".yaml", Modules: modules, Serve: []string{module}}
}

// served returns the modules the program runs when remotes run
// elsewhere, and the ones it reaches in remotes, in start order.
func (p Program) served(remotes map[string]string) (local, remote []registry.Module) {
	for _, m := range p.Modules {
		_, elsewhere := remotes[m.Name()]

		switch {
		case elsewhere:
			remote = append(remote, m)
		case p.Serve == nil || slices.Contains(p.Serve, m.Name()):
			local = append(local, m)
		}
	}

	return local, remote
}

// Main is the main of every binary: it runs prog's command line on the
// process's arguments and environment until SIGINT or SIGTERM, and exits
// non-zero when the command fails.
func Main(prog Program) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)

	err := Run(ctx, prog, os.Args[1:], os.Getenv, os.Stdout)

	stop()

	if err != nil {
		fmt.Fprintln(os.Stderr, prog.Name+":", err)
		os.Exit(1)
	}
}

// env is what every command gets: the program, its configuration files and
// environment, and where to write.
type env struct {
	prog   Program
	files  config.Files
	getenv func(string) string
	stdout io.Writer
}

const usage = `Usage: %s [--config FILE] [command]

Commands:
  serve                          run the HTTP and gRPC servers (the server's default)
  work                           run event subscribers and scheduled tasks (the worker's default)
  migrate up                     apply pending migrations of every module
  migrate down <module>          revert the latest migration of a module
  migrate status                 list applied and pending migrations
  migrate create <module> <name> add a migration pair to a module
  seed                           load development seed data
  admin [task]                   run a maintenance task (none: list them)
  events dead [subscriber]       list event deliveries that failed every attempt
  events redrive [sub [event]]   retry dead event deliveries from scratch
  events discard <sub> <event>   give up one dead event delivery for good
  events purge                   purge delivered events past the retention
  flags list                     list the feature flags
  flags get <key>                print a feature flag as JSON
  flags set <key> [options]      create a feature flag, or change it (-type, -value, -description, -enabled, -rules)
  flags delete <key>             delete a feature flag
  health                         exit 0 when the process running here is ready (GET /readyz)
  version                        print the version
`

// Run parses args (without the program name) and runs the command.
func Run(ctx context.Context, prog Program, args []string, getenv func(string) string, stdout io.Writer) error {
	flags := flag.NewFlagSet(prog.Name, flag.ContinueOnError)
	flags.SetOutput(stdout)
	configFile := flags.String("config", "", "YAML configuration `file` (default "+prog.ConfigFile+", or $CONFIG_FILE)")
	flags.Usage = func() {
		_, _ = fmt.Fprintf(stdout, usage, prog.Name)

		flags.PrintDefaults()
	}

	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}

		return fmt.Errorf("parse flags: %w", err)
	}

	e := env{prog: prog, files: configFiles(prog, *configFile, getenv), getenv: getenv, stdout: stdout}

	cmd, rest := cmp.Or(prog.Default, "serve"), flags.Args()
	if len(rest) > 0 {
		cmd, rest = rest[0], rest[1:]
	}

	if cmd == "help" {
		flags.Usage()

		return nil
	}

	command, ok := commands[cmd]
	if !ok {
		flags.Usage()

		return fmt.Errorf("unknown command %q", cmd)
	}

	return command(ctx, e, rest)
}

// commands maps each command name to its implementation.
var commands = map[string]func(ctx context.Context, e env, args []string) error{
	"serve":   func(ctx context.Context, e env, _ []string) error { return serve(ctx, e) },
	"work":    func(ctx context.Context, e env, _ []string) error { return work(ctx, e) },
	"migrate": migrate,
	"seed":    func(ctx context.Context, e env, _ []string) error { return seed(ctx, e) },
	"admin":   adminTask,
	"events":  eventsCmd,
	"flags":   flagsCmd,
	"health":  healthCheck,
	"version": func(_ context.Context, e env, _ []string) error {
		_, err := fmt.Fprintln(e.stdout, versionString(e.prog.Name))

		return wrapWrite(err)
	},
}

// configFiles picks the YAML file: --config, then CONFIG_FILE, then the
// program's default; only the default may be missing.
func configFiles(prog Program, flagValue string, getenv func(string) string) config.Files {
	files := config.Files{YAML: prog.ConfigFile, Dotenv: ".env"}

	switch {
	case flagValue != "":
		files.YAML, files.YAMLRequired = flagValue, true
	case getenv("CONFIG_FILE") != "":
		files.YAML, files.YAMLRequired = getenv("CONFIG_FILE"), true
	default:
		if _, err := os.Stat(files.YAML); err != nil {
			files.YAML = ""
		}
	}

	return files
}

func versionString(name string) string {
	goVersion, commit := "unknown", Commit
	if info, ok := debug.ReadBuildInfo(); ok {
		goVersion = info.GoVersion

		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && commit == "" {
				commit = s.Value
			}
		}
	}

	parts := []string{name, Version}
	if commit != "" {
		parts = append(parts, "commit "+commit)
	}

	return strings.Join(append(parts, goVersion), " ")
}
