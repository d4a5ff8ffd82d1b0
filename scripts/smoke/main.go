// Command smoke checks a running modulith instance from outside, the way a
// user's first requests would reach it: /readyz answers 200; a new user signs
// in over REST (login request for a fresh random email, the one-time code
// read from the instance's log, login complete, GET /v1/auth/profile with the
// access token); gRPC health answers SERVING for the whole server ("") and
// for auth.v1.AuthService. It exits 1 naming the first check that failed.
//
// The sign-in code is in the log only in dev with EMAIL_PROVIDER=log (the
// default in dev). The log comes from a command (-logs-cmd, run with sh -c,
// e.g. a container's log) or from a file (-logs-file, e.g. the output of
// `go run ./cmd/server` redirected there); either is read again every half
// second until the code appears or -timeout passes. Each check waits the same
// way for the instance to become ready, so smoke can start right after the
// instance does.
//
// Usage, from the repository root:
//
//	go run ./scripts/smoke -logs-cmd 'podman logs smoke-server'                 # a container on the default ports
//	go run ./cmd/server > /tmp/server.log 2>&1 &
//	go run ./scripts/smoke -logs-file /tmp/server.log                           # the server run from the tree
//	go run ./scripts/smoke -http http://127.0.0.1:8082 -checks readyz           # a worker: probes only
//	go run ./scripts/smoke -http http://127.0.0.1:8081 -grpc 127.0.0.1:9091 \
//	  -logs-file /tmp/auth.log                                                  # the auth service alone
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// Names of the checks, for -checks.
const (
	checkReadyz = "readyz"
	checkSignIn = "signin"
	checkGRPC   = "grpc"
)

// options are the command line, parsed.
type options struct {
	httpURL      string
	grpcAddr     string
	grpcServices []string
	logsCmd      string
	logsFile     string
	checks       map[string]bool
	timeout      time.Duration
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)

	stop()

	if err != nil {
		fmt.Fprintln(os.Stderr, "smoke: FAIL:", err)
		os.Exit(1)
	}
}

// run parses the arguments and runs the checks they ask for, in order.
func run(ctx context.Context, args []string, out io.Writer) error {
	opts, err := parseFlags(args, out)
	if errors.Is(err, flag.ErrHelp) {
		return nil // -h: the usage is printed
	}

	if err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(ctx, opts.timeout)
	defer cancel()

	if opts.checks[checkReadyz] {
		if err := waitReady(ctx, opts.httpURL); err != nil {
			return err
		}

		report(out, "GET %s/readyz: 200", opts.httpURL)
	}

	if opts.checks[checkSignIn] {
		logs := logSource(opts.logsCmd, opts.logsFile)
		if err := signIn(ctx, opts.httpURL, logs, out); err != nil {
			return err
		}
	}

	if opts.checks[checkGRPC] {
		for _, service := range opts.grpcServices {
			if err := waitServing(ctx, opts.grpcAddr, service); err != nil {
				return err
			}

			report(out, "gRPC health %q at %s: SERVING", service, opts.grpcAddr)
		}
	}

	report(out, "all checks passed")

	return nil
}

func report(out io.Writer, format string, args ...any) {
	_, _ = fmt.Fprintf(out, "smoke: "+format+"\n", args...)
}

// parseFlags reads the command line; it refuses a sign-in check with no log
// to read the code from.
func parseFlags(args []string, out io.Writer) (options, error) {
	fs := flag.NewFlagSet("smoke", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		_, _ = fmt.Fprintln(out, "usage: go run ./scripts/smoke [flags]: checks a running instance "+
			"(/readyz, sign-in over REST with the code from its log, gRPC health)")

		fs.PrintDefaults()
	}

	var (
		opts     options
		checks   string
		services string
	)

	fs.StringVar(&opts.httpURL, "http", "http://127.0.0.1:8080", "base URL of the instance's HTTP port")
	fs.StringVar(&opts.grpcAddr, "grpc", "127.0.0.1:9090", "host:port of the instance's gRPC port")
	fs.StringVar(&services, "grpc-services", ",auth.v1.AuthService",
		`comma-separated services whose gRPC health must be SERVING ("" is the whole server)`)
	fs.StringVar(&opts.logsCmd, "logs-cmd", "", "shell command that prints the instance's log (e.g. 'podman logs NAME')")
	fs.StringVar(&opts.logsFile, "logs-file", "", "file the instance writes its log to")
	fs.StringVar(&checks, "checks", "readyz,signin,grpc", "comma-separated checks to run: readyz, signin, grpc")
	fs.DurationVar(&opts.timeout, "timeout", 90*time.Second, "how long all the checks may take, waits included")

	if err := fs.Parse(args); err != nil {
		return options{}, fmt.Errorf("arguments: %w", err)
	}

	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	var err error
	if opts.checks, err = parseChecks(checks); err != nil {
		return options{}, err
	}

	opts.httpURL = strings.TrimRight(opts.httpURL, "/")
	opts.grpcServices = strings.Split(services, ",")

	if opts.checks[checkSignIn] && (opts.logsCmd == "") == (opts.logsFile == "") {
		return options{}, errors.New("the signin check reads the code from the log: give exactly one of -logs-cmd and -logs-file")
	}

	return opts, nil
}

// parseChecks turns "readyz,signin" into a set, refusing unknown names.
func parseChecks(s string) (map[string]bool, error) {
	set := map[string]bool{}

	for name := range strings.SplitSeq(s, ",") {
		name = strings.TrimSpace(name)
		switch name {
		case checkReadyz, checkSignIn, checkGRPC:
			set[name] = true
		case "":
		default:
			return nil, fmt.Errorf("unknown check %q (readyz, signin, grpc)", name)
		}
	}

	if len(set) == 0 {
		return nil, errors.New("-checks names no check")
	}

	return set, nil
}
