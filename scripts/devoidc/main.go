// Command devoidc runs a mock OpenID Connect provider (mockoidc) on
// loopback for local development, and prints the variables that make the
// server sign in with it as provider "dev" (docs/OAUTH.md, "Try it
// locally"). It signs every visitor in at once as jane.doe@example.com,
// with a verified address; its client ID and secret are new at each
// start, so restart the server with the new ones.
//
// Usage, from the repository root:
//
//	go run ./scripts/devoidc [-addr 127.0.0.1:8089] [-base http://localhost:8080] [-redirect http://localhost:5173/auth/done]
package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/oauth2-proxy/mockoidc"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)

	stop()

	if err != nil {
		fmt.Fprintln(os.Stderr, "devoidc:", err)
		os.Exit(1)
	}
}

// run serves the provider until ctx ends, after printing the server's
// variables to stdout.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("devoidc", flag.ContinueOnError)
	addr := flags.String("addr", "127.0.0.1:8089", "loopback address to listen on")
	base := flags.String("base", "http://localhost:8080", "the server's public URL (AUTH_OAUTH_BASE_URL)")
	redirect := flags.String("redirect", "http://localhost:5173/auth/done", "the web app page to allow (AUTH_OAUTH_REDIRECT_URLS)")

	if err := flags.Parse(args); err != nil {
		return fmt.Errorf("arguments: %w", err)
	}

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("signing key: %w", err)
	}

	op, err := mockoidc.NewServer(key)
	if err != nil {
		return fmt.Errorf("provider: %w", err)
	}

	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}

	if err := op.Start(ln, nil); err != nil {
		return fmt.Errorf("start provider: %w", err)
	}

	cfg := op.Config()
	fmt.Fprintf(stdout, `AUTH_OAUTH_PROVIDERS=dev
AUTH_OAUTH_BASE_URL=%s
AUTH_OAUTH_REDIRECT_URLS=%s
AUTH_OAUTH_OIDC_ISSUERS=dev=%s
AUTH_OAUTH_OIDC_CLIENT_IDS=dev=%s
AUTH_OAUTH_OIDC_CLIENT_SECRETS=dev=%s
`, *base, *redirect, op.Issuer(), cfg.ClientID, cfg.ClientSecret)

	<-ctx.Done()

	if err := op.Shutdown(); err != nil {
		return fmt.Errorf("stop provider: %w", err)
	}

	return nil
}
