package commands

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/modulith/modulith/internal/config"
)

// healthTimeout bounds the whole health check: a container runtime's
// HEALTHCHECK gives it a few seconds.
const healthTimeout = 3 * time.Second

// healthCheck asks the running process on this host whether it is ready:
// GET /readyz on its HTTP_PORT, exit status 0 on 200. It is the image's
// HEALTHCHECK (distroless has no shell or curl); it reads the configuration
// like the process it checks but opens no database connection and logs
// nothing.
func healthCheck(ctx context.Context, e env, _ []string) error {
	cfg, _, _, err := config.Load(e.files, e.getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}

	host := cfg.BindHost
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}

	url := "http://" + net.JoinHostPort(host, strconv.Itoa(cfg.HTTPPort)) + "/readyz"

	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, http.NoBody)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}

	_ = resp.Body.Close()

	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health: %s answered %s", url, resp.Status)
	}

	_, err = fmt.Fprintln(e.stdout, "ready")

	return wrapWrite(err)
}
