package commands

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"

	"github.com/modulith/modulith/cmd/server/observability"
	"github.com/modulith/modulith/cmd/server/setup"
	"github.com/modulith/modulith/internal/config"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/events/natsbus"
	"github.com/modulith/modulith/internal/grpcclient"
	"github.com/modulith/modulith/internal/migration"
	"github.com/modulith/modulith/internal/registry"
	"github.com/modulith/modulith/internal/resilience"
	"github.com/modulith/modulith/internal/secrets"
)

// process is what every command that touches the database builds first:
// validated configuration, the logger, the platform secret and the pool.
type process struct {
	prog    Program
	cfg     *config.Config
	layers  *config.Layers
	logger  *slog.Logger
	secret  *secrets.Secret // re-read every SECRETS_TTL once start has run
	pool    *pgxpool.Pool
	remotes map[string]*grpc.ClientConn // REMOTE_MODULES, dialed by dialRemotes
}

// close closes the connections to remote modules and the pool.
func (p *process) close() {
	for name, conn := range p.remotes {
		if err := conn.Close(); err != nil {
			p.logger.Warn("close connection to remote module", "module", name, "error", err)
		}
	}

	p.pool.Close()
}

// boot loads and validates the configuration (before anything starts),
// logs every key with its source, reads the platform secret from its
// provider, and opens the database pool.
func boot(ctx context.Context, e env) (*process, error) {
	cfg, layers, report, err := config.Load(e.files, e.getenv)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}

	logger, err := observability.NewLogger(e.stdout, cfg.ServiceName, cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		return nil, err
	}

	report.Log(ctx, logger)

	secret, err := secrets.Open(ctx, cfg, logger.With("component", "secrets"))
	if err != nil {
		return nil, err
	}

	pool, err := setup.Database(ctx, cfg)
	if err != nil {
		return nil, err
	}

	return &process{prog: e.prog, cfg: cfg, layers: layers, logger: logger, secret: secret, pool: pool}, nil
}

// newBus creates the event bus from the "events" configuration section,
// logging each key and its source: EVENTS_TRANSPORT picks PostgreSQL or
// the NATS transport. It is not started.
func (p *process) newBus(ctx context.Context) (*events.Bus, error) {
	var cfg events.Config

	report, err := p.layers.Load("events", &cfg)
	if err != nil {
		return nil, fmt.Errorf("events configuration: %w", err)
	}

	report.Log(ctx, p.logger.With("component", "events"))

	bus, err := events.New(p.pool, cfg, p.secret, p.logger, natsbus.Transport{})
	if err != nil {
		return nil, fmt.Errorf("event bus: %w", err)
	}

	return bus, nil
}

// withBus boots a process and runs fn with it and an event bus that is
// not started: for commands that publish events or repair deliveries.
func withBus(ctx context.Context, e env, fn func(p *process, bus *events.Bus) error) error {
	p, err := boot(ctx, e)
	if err != nil {
		return err
	}
	defer p.close()

	bus, err := p.newBus(ctx)
	if err != nil {
		return err
	}

	return fn(p, bus)
}

// localModules are the modules this process runs.
func (p *process) localModules() []registry.Module {
	local, _ := p.prog.served(p.cfg.Remotes())

	return local
}

// dialRemotes opens (lazily: nothing connects yet) a connection to each
// module of REMOTE_MODULES, whose calls are traced and measured by tel.
func (p *process) dialRemotes(tel *observability.Telemetry, guards *resilience.Guards) (map[string]grpc.ClientConnInterface, error) {
	remotes := p.cfg.Remotes()
	conns := make(map[string]grpc.ClientConnInterface, len(remotes))
	p.remotes = make(map[string]*grpc.ClientConn, len(remotes))

	for name, addr := range remotes {
		conn, err := grpcclient.Dial(addr, grpcclient.Config{
			Timeout: p.cfg.RemoteTimeout, Retries: p.cfg.RemoteRetries,
			Propagator: tel.Propagator, Tracer: tel.Tracer, Meters: tel.Metrics.Provider,
			Breaker: guards.Breaker("module:"+name, resilience.GRPCFailure),
		})
		if err != nil {
			return nil, fmt.Errorf("REMOTE_MODULES: module %s: %w", name, err)
		}

		p.remotes[name] = conn
		conns[name] = conn
		p.logger.Info("module runs elsewhere: calls go over the network", "module", name, "address", addr)
	}

	return conns, nil
}

// migrations are the migration sources of the platform and of the modules
// this process runs.
func (p *process) migrations() []migration.Source {
	return registry.MigrationSources(p.localModules())
}

// migrateUp applies pending migrations, logging each.
func (p *process) migrateUp(ctx context.Context) error {
	runner := migration.NewRunner(p.pool, p.migrations(), logWriter{logger: p.logger})
	if _, err := runner.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}

	return nil
}

// logWriter logs each line written to it at INFO.
type logWriter struct {
	logger *slog.Logger
}

func (w logWriter) Write(b []byte) (int, error) {
	for _, line := range bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n")) {
		w.logger.Info(string(line))
	}

	return len(b), nil
}
