package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/modulith/modulith/cmd/server/setup"
)

// listenAdmin opens the admin listener, ADMIN_BIND_HOST:ADMIN_PORT.
func (p *process) listenAdmin(ctx context.Context) (net.Listener, error) {
	var lc net.ListenConfig

	ln, err := lc.Listen(ctx, "tcp", p.cfg.AdminAddr())
	if err != nil {
		return nil, fmt.Errorf("ADMIN_PORT: %w", err)
	}

	return ln, nil
}

// adminServer is the HTTP server of the operational endpoints
// (setup.AdminHandler).
func (p *process) adminServer(d setup.AdminDeps) *http.Server {
	return &http.Server{
		Handler:           setup.AdminHandler(d),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(p.logger.Handler(), slog.LevelWarn),
	}
}

// serveHTTP serves srv on ln until it is shut down; what names the server
// in the error of any other end.
func serveHTTP(what string, srv *http.Server, ln net.Listener) error {
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("%s: %w", what, err)
	}

	return nil
}
