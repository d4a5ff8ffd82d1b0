package commands

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel"
	"google.golang.org/grpc"

	"github.com/modulith/modulith/cmd/server/observability"
	"github.com/modulith/modulith/cmd/server/setup"
	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/config"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/grpcclient"
	"github.com/modulith/modulith/internal/migration"
	"github.com/modulith/modulith/internal/registry"
)

// process is what every command that touches the database builds first:
// validated configuration, the logger and the pool.
type process struct {
	cfg     *config.Config
	layers  *config.Layers
	logger  *slog.Logger
	pool    *pgxpool.Pool
	remotes map[string]*grpc.ClientConn // REMOTE_MODULES, dialed by registry
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
// logs every key with its source, and opens the database pool.
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

	pool, err := setup.Database(ctx, cfg)
	if err != nil {
		return nil, err
	}

	return &process{cfg: cfg, layers: layers, logger: logger, pool: pool}, nil
}

// newBus creates the event bus from the "events" configuration section,
// logging each key and its source. It is not started.
func (p *process) newBus(ctx context.Context) (*events.Bus, error) {
	var cfg events.Config

	report, err := p.layers.Load("events", &cfg)
	if err != nil {
		return nil, fmt.Errorf("events configuration: %w", err)
	}

	report.Log(ctx, p.logger.With("component", "events"))

	bus, err := events.New(p.pool, cfg, []byte(p.cfg.JWTSecret), p.logger)
	if err != nil {
		return nil, fmt.Errorf("event bus: %w", err)
	}

	return bus, nil
}

// registry builds the module registry around bus, with the notifier
// subscribed to it; bus is nil for commands that only migrate.
func (p *process) registry(prog Program, bus *events.Bus) (*registry.Registry, error) {
	tokens, err := authn.NewTokens(authn.TokenConfig{
		Secret: []byte(p.cfg.JWTSecret), Issuer: p.cfg.JWTIssuer, Audience: p.cfg.JWTAudience,
	})
	if err != nil {
		return nil, fmt.Errorf("JWT_SECRET: %w", err)
	}

	n, err := setup.Notifier(p.cfg, p.logger)
	if err != nil {
		return nil, err
	}

	if bus != nil {
		if err := n.Subscribe(bus); err != nil {
			return nil, err
		}
	}

	remote, err := p.dialRemotes()
	if err != nil {
		return nil, err
	}

	reg := registry.New(registry.Deps{
		Config: p.cfg, Layers: p.layers, DB: p.pool, Bus: bus, Logger: p.logger, Notifier: n, Tokens: tokens,
		Remote: remote,
	})
	if err := reg.Register(localModules(prog, p.cfg.Remotes())...); err != nil {
		return nil, err
	}

	return reg, nil
}

// localModules are the program's modules that do not run elsewhere.
func localModules(prog Program, remotes map[string]string) []registry.Module {
	var local []registry.Module

	for _, m := range prog.Modules() {
		if _, ok := remotes[m.Name()]; !ok {
			local = append(local, m)
		}
	}

	return local
}

// dialRemotes opens (lazily: nothing connects yet) a connection to each
// module of REMOTE_MODULES.
func (p *process) dialRemotes() (map[string]grpc.ClientConnInterface, error) {
	remotes := p.cfg.Remotes()
	conns := make(map[string]grpc.ClientConnInterface, len(remotes))

	if p.remotes == nil {
		p.remotes = make(map[string]*grpc.ClientConn, len(remotes))
	}

	for name, addr := range remotes {
		conn, err := grpcclient.Dial(addr, grpcclient.Config{
			Timeout: p.cfg.RemoteTimeout, Retries: p.cfg.RemoteRetries, Propagator: otel.GetTextMapPropagator(),
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

// migrateUp applies pending migrations, logging each.
func (p *process) migrateUp(ctx context.Context, reg *registry.Registry) error {
	runner := migration.NewRunner(p.pool, reg.MigrationSources(), logWriter{logger: p.logger})
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
