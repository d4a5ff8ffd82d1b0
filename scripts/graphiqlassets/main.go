// Command graphiqlassets writes the files the GraphQL playground serves
// (internal/graphql/playground/assets) from pinned npm packages: GraphiQL's
// UMD build and the React it runs on, with each package's licence. It
// downloads each tarball from the npm registry, refuses one whose sha512
// differs from the integrity pinned here (what `npm view <pkg>@<version>
// dist.integrity` prints), extracts only the files the playground needs and
// writes SOURCES.json, which names every file's package, version, integrity
// and sha256; the playground's tests check the committed files against it.
//
// It runs in `make graphiql-assets`; raise a version by changing packages
// below (version and integrity) and running it again:
//
//	go run ./scripts/graphiqlassets [-out internal/graphql/playground/assets]
//
// NPM_CONFIG_REGISTRY names another registry (a mirror), as it does for npm.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// defaultRegistry is where the tarballs come from unless
// NPM_CONFIG_REGISTRY says otherwise.
const defaultRegistry = "https://registry.npmjs.org"

// licenseFile is where an npm package keeps its licence.
const licenseFile = "package/LICENSE"

// errUsage says run was given what it does not take.
var errUsage = errors.New("bad arguments")

// packages are the pinned npm packages and the files taken from each.
var packages = []npmPackage{
	{
		Name:      "graphiql",
		Version:   "3.9.0",
		Integrity: "sha512-rJYFlHdBbug9+YbFSwRVvgfPjCayC7wHecZkx/qB4XLuQPFQZw/yB9pmHFtOJV6RiNBBHro3u1GdocKa3YcGRA==",
		Files: []extract{
			{From: "package/graphiql.min.js", To: "graphiql.min.js"},
			{From: "package/graphiql.min.css", To: "graphiql.min.css"},
			{From: licenseFile, To: "graphiql.LICENSE.txt"},
		},
	},
	{
		Name:      "react",
		Version:   "18.3.1",
		Integrity: "sha512-wS+hAgJShR0KhEvPJArfuPVN1+Hz1t0Y6n5jLrGQbkb4urgPE/0Rve+1kMB1v/oWgHgm4WIcV+i7F2pTVj+2iQ==",
		Files: []extract{
			{From: "package/umd/react.production.min.js", To: "react.production.min.js"},
			{From: licenseFile, To: "react.LICENSE.txt"},
		},
	},
	{
		Name:      "react-dom",
		Version:   "18.3.1",
		Integrity: "sha512-5m4nQKp+rZRb09LNH59GM4BxTh9251/ylbKIbpe7TpGxfJ+9kv6BLkLBXIjjspbgbnIBNqlI23tRnTWT0snUIw==",
		Files: []extract{
			{From: "package/umd/react-dom.production.min.js", To: "react-dom.production.min.js"},
			{From: licenseFile, To: "react-dom.LICENSE.txt"},
		},
	},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stderr)

	stop()

	if err != nil {
		fmt.Fprintln(os.Stderr, "graphiqlassets:", err)
		os.Exit(1)
	}
}

// run downloads the pinned packages and writes their files and the manifest
// to -out, replacing what was there.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	flags := flag.NewFlagSet("graphiqlassets", flag.ContinueOnError)
	flags.SetOutput(stderr)
	out := flags.String("out", "internal/graphql/playground/assets", "directory to write the assets and SOURCES.json to")
	timeout := flags.Duration("timeout", 2*time.Minute, "time allowed for all downloads")

	err := flags.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return nil // -h: the usage is printed
	}

	if err != nil || flags.NArg() > 0 {
		return fmt.Errorf("usage: go run ./scripts/graphiqlassets [-out dir] [-timeout d] (see -h): %w", errors.Join(err, errUsage))
	}

	registry := getenv("NPM_CONFIG_REGISTRY")
	if registry == "" {
		registry = defaultRegistry
	}

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	f := fetcher{client: http.DefaultClient, registry: registry}

	files, manifest, err := f.fetchAll(ctx, packages)
	if err != nil {
		return err
	}

	count := len(files)

	if err := write(*out, files, manifest); err != nil {
		return err
	}

	fmt.Fprintf(stderr, "graphiqlassets: wrote %d files and %s to %s\n", count, manifestName, *out)

	return nil
}
