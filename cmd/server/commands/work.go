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
	"github.com/modulith/modulith/internal/scheduler"
)

// WorkerConfig is the "worker" section of the configuration.
type WorkerConfig struct {
	// Schedule lists the admin tasks the workers run, each slot once
	// across the replicas: "task=spec; task=spec" (see scheduler.Parse).
	// Empty schedules nothing.
	Schedule string `yaml:"schedule" env:"WORKER_SCHEDULE" default:"cleanup-sessions=0 3 * * *; cleanup-magic-codes=30 3 * * *"`
}

// work runs a worker process: the event subscribers of every module and of
// the platform (the notifier, the WebSocket forwarder, which reaches the
// servers' sockets through the fan-out), the modules' background work and
// the scheduled admin tasks; on HTTP_PORT it serves only /livez, /healthz,
// /readyz and /metrics. Servers may then leave event handling to workers
// (EVENTS_CONSUME=false) and scale apart from them.
func work(ctx context.Context, e env) (err error) {
	p, err := boot(ctx, e)
	if err != nil {
		return err
	}
	defer p.close()

	s, sched, err := buildWorker(ctx, e, p)
	if err != nil {
		return err
	}

	defer func() { err = errors.Join(err, s.close()) }()

	var lc net.ListenConfig

	ln, err := lc.Listen(ctx, "tcp", p.cfg.HTTPAddr())
	if err != nil {
		return fmt.Errorf("HTTP_PORT: %w", err)
	}

	if err := s.reg.StartAll(ctx); err != nil {
		return errors.Join(err, ln.Close())
	}

	return s.runWorker(ctx, ln, sched)
}

// buildWorker assembles a worker: telemetry, bus, modules, the realtime
// forwarder, the scheduler and the probes.
func buildWorker(ctx context.Context, e env, p *process) (*server, *scheduler.Scheduler, error) {
	s, err := newServer(ctx, p)
	if err != nil {
		return nil, nil, err
	}

	sched, err := s.assembleWorker(ctx, e)
	if err != nil {
		return nil, nil, errors.Join(err, s.close())
	}

	return s, sched, nil
}

func (s *server) assembleWorker(ctx context.Context, e env) (*scheduler.Scheduler, error) {
	if !s.bus.Config().Consume {
		return nil, errors.New("EVENTS_CONSUME=false: a worker exists to consume events")
	}

	var cfg WorkerConfig

	report, err := s.p.layers.Load("worker", &cfg)
	if err != nil {
		return nil, fmt.Errorf("worker configuration: %w", err)
	}

	report.Log(ctx, s.p.logger.With("component", "worker"))

	if s.reg, err = s.p.registry(e.prog, s.bus); err != nil {
		return nil, err
	}

	if err := s.initialize(ctx); err != nil {
		return nil, err
	}

	tasks := append(s.reg.AdminTasks(), s.bus.AdminTasks(logWriter{logger: s.p.logger})...)

	jobs, err := scheduler.Parse(cfg.Schedule, tasks)
	if err != nil {
		return nil, err
	}

	if err := s.startRealtime(ctx); err != nil {
		return nil, err
	}

	if err := s.bus.Start(ctx); err != nil {
		return nil, err
	}

	s.checker = health.New(s.p.pool, s.reg.HealthCheckAll, s.p.logger)

	mux := http.NewServeMux()
	s.checker.Register(mux)
	mux.Handle("GET /metrics", s.tel.Metrics.Handler())

	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	return scheduler.New(s.p.pool, jobs, s.p.logger), nil
}

// runWorker serves the probes and runs the scheduler until ctx ends, then
// turns readiness off, waits SHUTDOWN_DELAY, stops the scheduler (a task
// in progress sees its context end) and the probes.
func (s *server) runWorker(ctx context.Context, ln net.Listener, sched *scheduler.Scheduler) error {
	schedCtx, stopSched := context.WithCancel(ctx)
	defer stopSched()

	var wg sync.WaitGroup

	wg.Go(func() { sched.Run(schedCtx) })

	served := make(chan error, 1)

	go func() {
		if err := s.http.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			served <- fmt.Errorf("HTTP server: %w", err)
		}

		close(served)
	}()

	s.p.logger.InfoContext(ctx, "worker ready", "http", ln.Addr().String(), "env", s.p.cfg.Env)

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

	return errors.Join(serveErr, <-served)
}
