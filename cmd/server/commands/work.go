package commands

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/modulith/modulith/cmd/server/health"
	"github.com/modulith/modulith/cmd/server/setup"
	"github.com/modulith/modulith/internal/scheduler"
)

// WorkerConfig is the "worker" section of the configuration.
type WorkerConfig struct {
	// Schedule lists the admin tasks the workers run, each slot once
	// across the replicas: "task=spec; task=spec" (see scheduler.Parse).
	// Empty schedules nothing.
	Schedule string `yaml:"schedule" env:"WORKER_SCHEDULE" default:"cleanup-sessions=0 3 * * *; cleanup-magic-codes=30 3 * * *"`
}

// work runs a worker process: the event subscribers of every module (the
// WebSocket forwarder among them, which reaches the servers' sockets through
// the fan-out) and the scheduled admin tasks; on HTTP_PORT it serves only
// /livez, /healthz and /readyz, and /metrics (with the probes, and pprof
// when enabled) on the admin listener. Servers may then leave event
// handling to workers (EVENTS_CONSUME=false) and scale apart from them. It
// builds in dependency order, like serve, and closes in reverse.
func work(ctx context.Context, e env) (err error) {
	p, err := boot(ctx, e) // configuration, logger, pool
	if err != nil {
		return err
	}
	defer p.close()

	var cfg WorkerConfig

	report, err := p.layers.Load("worker", &cfg)
	if err != nil {
		return fmt.Errorf("worker configuration: %w", err)
	}

	report.Log(ctx, p.logger.With("component", "worker"))

	var built stack
	defer func() { err = errors.Join(err, built.close(p)) }()

	built.push(stopped(p.logger))

	// telemetry, migrations, bus, modules, in-process channel, the
	// forwarder on the fan-out to the servers' hubs; the bus delivering
	tel, h, _, err := p.start(ctx, &built)
	if err != nil {
		return err
	}

	if !h.bus.Config().Consume {
		return errors.New("EVENTS_CONSUME=false: a worker exists to consume events")
	}

	jobs, err := scheduler.Parse(cfg.Schedule, append(h.reg.AdminTasks(), h.bus.AdminTasks(logWriter{logger: p.logger})...))
	if err != nil {
		return err
	}

	checker := p.readiness()
	mux := http.NewServeMux()
	checker.Register(mux)

	var lc net.ListenConfig

	ln, err := lc.Listen(ctx, "tcp", p.cfg.HTTPAddr())
	if err != nil {
		return fmt.Errorf("HTTP_PORT: %w", err)
	}

	adminLn, err := p.listenAdmin(ctx)
	if err != nil {
		return errors.Join(err, ln.Close())
	}

	w := &worker{p: p, checker: checker, http: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		admin: p.adminServer(setup.AdminDeps{Health: checker, Metrics: tel.Metrics.Handler(), Pprof: p.cfg.PprofEnabled})}

	return w.run(ctx, ln, adminLn, scheduler.New(p.pool, jobs, p.logger))
}

// worker is a work command's probes server.
type worker struct {
	p       *process
	checker *health.Checker
	http    *http.Server
	admin   *http.Server
}

// run serves the probes and the admin endpoints and runs the scheduler
// until ctx ends, then turns readiness off, waits SHUTDOWN_DELAY, stops
// the scheduler (a task in progress sees its context end) and the servers.
func (s *worker) run(ctx context.Context, ln, adminLn net.Listener, sched *scheduler.Scheduler) error {
	schedCtx, stopSched := context.WithCancel(ctx)
	defer stopSched()

	var wg sync.WaitGroup

	wg.Go(func() { sched.Run(schedCtx) })

	served := make(chan error, 2)

	var servers sync.WaitGroup

	servers.Go(func() { served <- serveHTTP("HTTP server", s.http, ln) })
	servers.Go(func() { served <- serveHTTP("admin server", s.admin, adminLn) })

	s.p.logger.InfoContext(ctx, "worker ready", "http", ln.Addr().String(), "admin", adminLn.Addr().String(), "env", s.p.cfg.Env)

	var serveErr error

	select {
	case <-ctx.Done():
	case serveErr = <-served:
	}

	s.checker.ShutDown()
	s.p.logger.InfoContext(ctx, "shutting down: readiness reports 503", "delay", s.p.cfg.ShutdownDelay.String())
	time.Sleep(s.p.cfg.ShutdownDelay)

	stopSched()
	wg.Wait()

	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.p.cfg.ShutdownTimeout)
	defer cancel()

	if err := s.http.Shutdown(shutdownCtx); err != nil {
		serveErr = errors.Join(serveErr, fmt.Errorf("HTTP shutdown: %w", err))
	}

	if err := s.admin.Shutdown(shutdownCtx); err != nil {
		serveErr = errors.Join(serveErr, fmt.Errorf("admin shutdown: %w", err))
	}

	servers.Wait()
	close(served)

	for err := range served {
		serveErr = errors.Join(serveErr, err)
	}

	return serveErr
}
