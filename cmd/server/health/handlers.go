// Package health serves the probes an orchestrator uses: /livez (and its
// legacy alias /healthz) answers while the process runs; /readyz answers
// 200 only while the database answers, the modules are ready (their schemas
// migrated: setup.SchemaReady) and the process is not shutting down, with
// one JSON entry per check.
package health

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"
	"time"
)

// Pinger reaches the database.
type Pinger interface {
	Ping(ctx context.Context) error
}

// checkTimeout bounds each readiness probe, under the orchestrator's own.
const checkTimeout = 2 * time.Second

// Status values in responses.
const (
	healthy   = "healthy"
	unhealthy = "unhealthy"
)

// Checker answers the probes.
type Checker struct {
	db           Pinger
	modules      func(ctx context.Context) map[string]error
	logger       *slog.Logger
	shuttingDown atomic.Bool
}

// New returns a checker of db and of the modules' readiness, which
// returns an error per module that is not ready.
func New(db Pinger, modules func(ctx context.Context) map[string]error, logger *slog.Logger) *Checker {
	return &Checker{db: db, modules: modules, logger: logger}
}

// Register adds the probe endpoints to mux.
func (c *Checker) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /livez", c.live)
	mux.HandleFunc("GET /healthz", c.live)
	mux.HandleFunc("GET /readyz", c.ready)
}

// ShutDown makes /readyz answer 503 from now on, so load balancers stop
// sending traffic before the listeners close.
func (c *Checker) ShutDown() { c.shuttingDown.Store(true) }

// Response is the JSON body of the probes.
type Response struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks,omitempty"`
}

func (c *Checker) live(w http.ResponseWriter, _ *http.Request) {
	write(w, http.StatusOK, Response{Status: "alive"})
}

func (c *Checker) ready(w http.ResponseWriter, r *http.Request) {
	if c.shuttingDown.Load() {
		write(w, http.StatusServiceUnavailable, Response{Status: "shutting_down"})

		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), checkTimeout)
	defer cancel()

	checks, ok := c.check(ctx, c.logger)
	if !ok {
		write(w, http.StatusServiceUnavailable, Response{Status: "not_ready", Checks: checks})

		return
	}

	write(w, http.StatusOK, Response{Status: "ready", Checks: checks})
}

// Ready reports what /readyz answers, without logging: the process is not
// shutting down, the database answers and the modules are ready. The gRPC
// health service follows it, checking often, where a log line per check
// would flood the log during an outage.
func (c *Checker) Ready(ctx context.Context) bool {
	if c.shuttingDown.Load() {
		return false
	}

	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()

	_, ok := c.check(ctx, slog.New(slog.DiscardHandler))

	return ok
}

// check runs the readiness checks, logging failures to logger, and returns
// one entry per check and whether all passed.
func (c *Checker) check(ctx context.Context, logger *slog.Logger) (map[string]string, bool) {
	checks := map[string]string{"database": healthy, "modules": healthy}
	ok := true

	if err := c.db.Ping(ctx); err != nil {
		logger.WarnContext(ctx, "readiness: database unreachable", "error", err)

		checks["database"], ok = unhealthy, false
	}

	if failed := c.failedModules(ctx, logger); len(failed) > 0 {
		checks["modules"], ok = unhealthy+": "+strings.Join(failed, ", "), false
	}

	return checks, ok
}

func (c *Checker) failedModules(ctx context.Context, logger *slog.Logger) []string {
	var failed []string

	for name, err := range c.modules(ctx) {
		if err != nil {
			logger.WarnContext(ctx, "readiness: module unhealthy", "module", name, "error", err)
			failed = append(failed, name)
		}
	}

	sort.Strings(failed)

	return failed
}

func write(w http.ResponseWriter, status int, body Response) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
