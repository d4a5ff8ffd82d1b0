// Command openapigen writes the OpenAPI 3 document the server serves
// (internal/openapi/spec/openapi.json) from the Swagger 2.0 document that
// protoc-gen-openapiv2 merges from every module's protos.
//
// protoc-gen-openapiv2 only writes Swagger 2.0, which openapi-typescript and
// other current tools refuse, and it knows nothing of the platform: the error
// body the gateway writes, the bearer token the interceptors check. This
// command converts the document to OpenAPI 3 and adds what the platform
// owns: its own title and description (listing the modules' services), the
// HTTP bearer scheme, the Error schema and the error responses of every
// operation. Modules document their own errors (409, 429, a 401 of a public
// method) with openapiv2_operation responses in their protos; those are kept
// and given the Error schema.
//
// It runs in `make proto`, after buf generate:
//
//	go run ./scripts/openapigen [-in .cache/openapi/api.swagger.json] [-out internal/openapi/spec/openapi.json]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stderr)

	stop()

	if err != nil {
		fmt.Fprintln(os.Stderr, "openapigen:", err)
		os.Exit(1)
	}
}

// run reads the Swagger 2.0 document named by -in and writes the OpenAPI 3
// one to -out.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	flags := flag.NewFlagSet("openapigen", flag.ContinueOnError)
	flags.SetOutput(stderr)
	in := flags.String("in", ".cache/openapi/api.swagger.json", "Swagger 2.0 document written by protoc-gen-openapiv2")
	out := flags.String("out", "internal/openapi/spec/openapi.json", "OpenAPI 3 document to write")

	if err := flags.Parse(args); err != nil {
		return err
	}

	swagger, err := os.ReadFile(*in)
	if err != nil {
		return fmt.Errorf("read the Swagger 2.0 document (run buf generate first): %w", err)
	}

	doc, err := Convert(ctx, swagger)
	if err != nil {
		return fmt.Errorf("convert %s: %w", *in, err)
	}

	if err := os.WriteFile(*out, doc, 0o644); err != nil { //nolint:gosec // a committed, world-readable document
		return fmt.Errorf("write %s: %w", *out, err)
	}

	return nil
}
