package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"

	"github.com/modulith/modulith/internal/admin"
	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/authz"
	"github.com/modulith/modulith/internal/config"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/migration"
	"github.com/modulith/modulith/internal/notifier"
	"github.com/modulith/modulith/internal/scheduler"
	"github.com/modulith/modulith/internal/websocket"
)

var validName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,30}$`)

// Deps are the platform services modules may use. Any may be nil in a
// process that does not need it (e.g. `migrate` has no bus).
type Deps struct {
	Config   *config.Config
	Layers   *config.Layers
	DB       *pgxpool.Pool
	Bus      *events.Bus
	Logger   *slog.Logger
	Policy   *authz.Policy
	Notifier *notifier.Notifier
	Tokens   *authn.Tokens
	// Remote holds a client connection per module that runs in another
	// process (REMOTE_MODULES); Client hands them out.
	Remote map[string]grpc.ClientConnInterface
}

// Registry holds the modules of a process.
type Registry struct {
	deps        Deps
	modules     []Module
	sessions    authn.SessionChecker
	started     []Module
	initialized bool
	inProcess   *inProcessConn
}

// New returns an empty registry.
func New(deps Deps) *Registry {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}

	if deps.Policy == nil {
		deps.Policy = authz.NewPolicy()
	}

	return &Registry{deps: deps, inProcess: &inProcessConn{}}
}

// Register adds modules in the order they start.
func (r *Registry) Register(modules ...Module) error {
	for _, m := range modules {
		if !validName.MatchString(m.Name()) {
			return fmt.Errorf("module name %q must match %s", m.Name(), validName)
		}

		if m.Name() == events.SchemaName || m.Name() == scheduler.SchemaName {
			return fmt.Errorf("module name %q is taken: the platform keeps its tables in that schema", m.Name())
		}

		if slices.ContainsFunc(r.modules, func(o Module) bool { return o.Name() == m.Name() }) {
			return fmt.Errorf("module %q registered twice", m.Name())
		}

		r.modules = append(r.modules, m)
	}

	return nil
}

// Modules returns the registered modules in order.
func (r *Registry) Modules() []Module { return slices.Clone(r.modules) }

// Config is the platform configuration.
func (r *Registry) Config() *config.Config { return r.deps.Config }

// DB is the shared connection pool; each module uses only its own schema.
func (r *Registry) DB() *pgxpool.Pool { return r.deps.DB }

// Bus is the event bus.
func (r *Registry) Bus() *events.Bus { return r.deps.Bus }

// Policy is the role/permission policy; modules extend it in Initialize.
func (r *Registry) Policy() *authz.Policy { return r.deps.Policy }

// Notifier tells which delivery channels are configured.
func (r *Registry) Notifier() *notifier.Notifier { return r.deps.Notifier }

// Tokens issues and verifies access tokens.
func (r *Registry) Tokens() *authn.Tokens { return r.deps.Tokens }

// Logger returns the logger of a module.
func (r *Registry) Logger(module string) *slog.Logger {
	return r.deps.Logger.With("module", module)
}

// LoadConfig fills dst from the module's configuration section (YAML key
// section, environment variables named in dst's tags) and logs each value
// and its source.
func (r *Registry) LoadConfig(section string, dst any) error {
	if r.deps.Layers == nil {
		return fmt.Errorf("load %s config: no configuration layers", section)
	}

	report, err := r.deps.Layers.Load(section, dst)
	if err != nil {
		return fmt.Errorf("load %s config: %w", section, err)
	}

	report.Log(context.Background(), r.Logger(section))

	return nil
}

// Client returns a connection to module's gRPC services, for its
// generated client: the in-process channel when the module runs in this
// process (the full interceptor chain, no socket, the caller's identity
// carried over), or the network connection to the process that runs it
// (REMOTE_MODULES). A module calls Client in Initialize for each module it
// depends on; the same code then works in either topology.
func (r *Registry) Client(module string) (grpc.ClientConnInterface, error) {
	if conn, ok := r.deps.Remote[module]; ok {
		return conn, nil
	}

	if slices.ContainsFunc(r.modules, func(m Module) bool { return m.Name() == module }) {
		return r.inProcess, nil
	}

	return nil, fmt.Errorf("module %q is neither in this process nor in REMOTE_MODULES (module=host:port)", module)
}

// ServeInProcess installs the in-process channel that Client's
// connections to local modules call through; the server builds it once
// every module is initialized.
func (r *Registry) ServeInProcess(conn grpc.ClientConnInterface) { r.inProcess.set(conn) }

// ProvideSessionChecker installs the check that every authenticated request
// runs; the module that owns sessions (auth) calls it in Initialize.
func (r *Registry) ProvideSessionChecker(c authn.SessionChecker) { r.sessions = c }

// SessionChecker is the installed session check, or nil.
func (r *Registry) SessionChecker() authn.SessionChecker { return r.sessions }

// InitializeAll initializes every module in order, once.
func (r *Registry) InitializeAll() error {
	if r.initialized {
		return fmt.Errorf("modules already initialized")
	}

	for _, m := range r.modules {
		if err := m.Initialize(r); err != nil {
			return fmt.Errorf("initialize module %s: %w", m.Name(), err)
		}
	}

	r.initialized = true

	return nil
}

// Initialized reports whether InitializeAll has succeeded.
func (r *Registry) Initialized() bool { return r.initialized }

// RegisterGRPC registers every module's services on s.
func (r *Registry) RegisterGRPC(s grpc.ServiceRegistrar) {
	for _, m := range r.modules {
		m.RegisterGRPC(s)
	}
}

// RegisterGateway registers every module's REST handlers.
func (r *Registry) RegisterGateway(ctx context.Context, mux *runtime.ServeMux, conn grpc.ClientConnInterface) error {
	for _, m := range r.modules {
		if err := m.RegisterGateway(ctx, mux, conn); err != nil {
			return fmt.Errorf("register gateway of module %s: %w", m.Name(), err)
		}
	}

	return nil
}

// PublicEndpoints returns the set of full method names that need no token.
func (r *Registry) PublicEndpoints() map[string]bool {
	public := make(map[string]bool)

	for _, m := range r.modules {
		if p, ok := m.(PublicEndpointer); ok {
			for _, method := range p.PublicEndpoints() {
				public[method] = true
			}
		}
	}

	return public
}

// MigrationSources returns the platform's migrations (the event bus's
// and the scheduler's schemas) and then each module's migrations and seeds, in order.
func (r *Registry) MigrationSources() []migration.Source {
	sources := []migration.Source{
		{Module: events.SchemaName, Migrations: events.Migrations()},
		{Module: scheduler.SchemaName, Migrations: scheduler.Migrations()},
	}

	for _, m := range r.modules {
		src := migration.Source{Module: m.Name()}
		if mg, ok := m.(Migrator); ok {
			src.Migrations = mg.Migrations()
		}

		if s, ok := m.(Seeder); ok {
			src.Seeds = s.Seeds()
		}

		if src.Migrations != nil || src.Seeds != nil {
			sources = append(sources, src)
		}
	}

	return sources
}

// AdminTasks returns every module's maintenance tasks.
func (r *Registry) AdminTasks() []admin.Task {
	var tasks []admin.Task

	for _, m := range r.modules {
		if a, ok := m.(AdminTasker); ok {
			tasks = append(tasks, a.AdminTasks()...)
		}
	}

	return tasks
}

// RealtimeRoutes returns every module's WebSocket routes, in module order.
func (r *Registry) RealtimeRoutes() []websocket.Route {
	var routes []websocket.Route

	for _, m := range r.modules {
		if rr, ok := m.(RealtimeRouter); ok {
			routes = append(routes, rr.RealtimeRoutes()...)
		}
	}

	return routes
}

// StartAll starts every module in order. If one fails, the ones already
// started are closed in reverse order.
func (r *Registry) StartAll(ctx context.Context) error {
	for _, m := range r.modules {
		if s, ok := m.(Starter); ok {
			if err := s.Start(ctx); err != nil {
				err = fmt.Errorf("start module %s: %w", m.Name(), err)

				return errors.Join(err, r.CloseAll(context.WithoutCancel(ctx)))
			}
		}

		r.started = append(r.started, m)
	}

	return nil
}

// CloseAll closes the started modules in reverse order and reports every
// failure.
func (r *Registry) CloseAll(ctx context.Context) error {
	var errs []error

	for i := len(r.started) - 1; i >= 0; i-- {
		m := r.started[i]
		if c, ok := m.(Closer); ok {
			if err := c.Close(ctx); err != nil {
				errs = append(errs, fmt.Errorf("close module %s: %w", m.Name(), err))
			}
		}
	}

	r.started = nil

	return errors.Join(errs...)
}

// HealthCheckAll runs every module's health check; the map holds only the
// modules that have one.
func (r *Registry) HealthCheckAll(ctx context.Context) map[string]error {
	results := make(map[string]error)

	for _, m := range r.modules {
		if h, ok := m.(HealthChecker); ok {
			results[m.Name()] = h.HealthCheck(ctx)
		}
	}

	return results
}
