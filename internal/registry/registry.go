package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"
	"google.golang.org/grpc"

	"github.com/modulith/modulith/internal/admin"
	"github.com/modulith/modulith/internal/apiversion"
	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/authz"
	"github.com/modulith/modulith/internal/cache"
	"github.com/modulith/modulith/internal/config"
	apperrors "github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/feature"
	"github.com/modulith/modulith/internal/migration"
	"github.com/modulith/modulith/internal/notifier"
	"github.com/modulith/modulith/internal/scheduler"
	"github.com/modulith/modulith/internal/secrets"
	"github.com/modulith/modulith/internal/websocket"
)

var validName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,30}$`)

// Deps are the platform services a process offers its modules. Secret,
// the platform secret, is never handed out: modules get keys derived from
// it (Host.Key), which follow its rotations.
type Deps struct {
	Layers   *config.Layers
	Secret   *secrets.Secret
	DB       *pgxpool.Pool
	Bus      Bus
	Notifier *notifier.Notifier
	Tokens   *authn.Tokens
	Logger   *slog.Logger
	// Remote holds a connection per module that runs in another process
	// (REMOTE_MODULES).
	Remote map[string]grpc.ClientConnInterface
	// HTTPClient is the client modules reach other services with; the
	// process gives one guarded by resilience (a breaker per host,
	// retries of idempotent requests) and a timeout. Nil: a plain client
	// with defaultHTTPTimeout.
	HTTPClient *http.Client
	// Cache links the caches of the process to those of the other
	// replicas; Sessions caches the session check, through Cache.
	Cache    *cache.Hub
	Sessions *authn.SessionCache
	// Flags evaluates feature flags (feature.Flags); nil gives every flag
	// the code's default.
	Flags FlagClients
}

// FlagClients hands each module the OpenFeature client of its own flags
// namespace.
type FlagClients interface {
	Client(module string) *openfeature.Client
}

// defaultFlags is FlagClients without a flag store: an OpenFeature API
// with no provider, whose clients return the code's defaults.
type defaultFlags struct{ api *openfeature.EvaluationAPI }

func (d defaultFlags) Client(module string) *openfeature.Client {
	return d.api.NewClient(openfeature.WithDomain(module))
}

// defaultHTTPTimeout bounds a request of the plain client a registry
// without Deps.HTTPClient gives its modules.
const defaultHTTPTimeout = 15 * time.Second

// Registry holds the modules of a process and what they registered.
type Registry struct {
	deps        Deps
	initialized bool // Init ran, successfully or not
	channel     grpc.ClientConnInterface
	modules     []Module // in Init order: the local ones
	policy      *authz.Policy

	apis     []apiversion.API
	remote   []remoteAPIs // the REST routes of modules in other processes
	public   map[string]bool
	routes   []websocket.Route
	tasks    []admin.Task
	sessions authn.SessionChecker
}

// New returns a registry offering deps to the modules Init will build.
func New(deps Deps) *Registry {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}

	if deps.Flags == nil {
		deps.Flags = defaultFlags{api: isolated.NewAPI()}
	}

	return &Registry{deps: deps, policy: authz.NewPolicy(), public: make(map[string]bool)}
}

// Init builds, in order, each module this process runs: every one of
// modules that REMOTE_MODULES does not name. The modules call each other
// through channel, the in-process channel that serves them (Client). A
// module that runs elsewhere gets InitRemote instead, if it is a Remote.
// Call it once, before the servers start: what the modules register is
// read, not changed, while they serve.
func (r *Registry) Init(channel grpc.ClientConnInterface, modules ...Module) error {
	if r.initialized {
		return errors.New("modules already initialized")
	}

	r.initialized = true

	if err := checkNames(modules); err != nil {
		return err
	}

	r.channel = channel

	for _, m := range modules {
		if conn, remote := r.deps.Remote[m.Name()]; remote {
			if err := r.initRemote(m, conn); err != nil {
				return err
			}

			continue
		}

		r.modules = append(r.modules, m)

		h := &host{r: r, name: m.Name()}
		err := m.Init(h)
		h.done = true

		if err := errors.Join(err, h.err); err != nil {
			return fmt.Errorf("initialize module %s: %w", m.Name(), err)
		}
	}

	return nil
}

func (r *Registry) initRemote(m Module, conn grpc.ClientConnInterface) error {
	rm, ok := m.(Remote)
	if !ok {
		return nil
	}

	h := &remoteHost{host: host{r: r, name: m.Name()}, conn: conn}
	err := rm.InitRemote(h)
	h.done = true

	if err := errors.Join(err, h.err); err != nil {
		return fmt.Errorf("initialize remote module %s: %w", m.Name(), err)
	}

	return nil
}

// platformSections are the platform's configuration sections and schemas
// that no settings struct names: a module named after one would read or
// write what the platform owns.
var platformSections = []string{events.SchemaName, scheduler.SchemaName, feature.SchemaName, "websocket", "worker"}

// ReservedNames are the names no module may take: the platform's schemas
// and configuration sections, and the first word of every platform
// setting (see checkNames).
func ReservedNames() ([]string, error) {
	prefixes, err := config.EnvPrefixes(&config.Config{}, &events.Config{}, &websocket.Config{})
	if err != nil {
		return nil, err
	}

	return append(prefixes, platformSections...), nil
}

// checkNames checks that module names are valid, distinct and not the
// platform's: neither its schemas and sections nor the first word of its
// settings, whose environment variables a module named so would read
// (a module "jwt" would read JWT_SECRET).
func checkNames(modules []Module) error {
	reserved, err := ReservedNames()
	if err != nil {
		return err
	}

	seen := make(map[string]bool, len(modules))

	for _, m := range modules {
		name := m.Name()

		switch {
		case !validName.MatchString(name):
			return fmt.Errorf("module name %q must match %s", name, validName)
		case slices.Contains(reserved, name):
			return fmt.Errorf("module name %q is taken by the platform (a schema, a configuration section or the prefix of its settings)", name)
		case seen[name]:
			return fmt.Errorf("module %q registered twice", name)
		}

		seen[name] = true
	}

	return nil
}

// Modules returns the modules this process runs, in order.
func (r *Registry) Modules() []Module { return slices.Clone(r.modules) }

// Client returns the connection to module's API: the in-process channel
// when this process runs it, its network connection when REMOTE_MODULES
// names it, an error otherwise.
func (r *Registry) Client(module string) (grpc.ClientConnInterface, error) { return r.client(module) }

// client returns the connection to module's API.
func (r *Registry) client(module string) (grpc.ClientConnInterface, error) {
	if conn, ok := r.deps.Remote[module]; ok {
		return conn, nil
	}

	if slices.ContainsFunc(r.modules, func(m Module) bool { return m.Name() == module }) {
		return r.channel, nil
	}

	return nil, fmt.Errorf("module %q is neither in this process nor in REMOTE_MODULES (module=host:port)", module)
}

// RegisterGRPC registers every module's services on s (the gRPC server
// and the in-process channel).
func (r *Registry) RegisterGRPC(s grpc.ServiceRegistrar) { apiversion.RegisterGRPC(s, r.apis) }

// RegisterGateway registers every module's REST handlers on mux: those of
// the modules of this process call them through conn (the in-process
// channel), those of a remote module call it over its connection, so that
// clients have one base URL whatever the topology. A forwarded request
// carries the client's Authorization header and the gateway's metadata;
// the remote process authenticates it.
func (r *Registry) RegisterGateway(ctx context.Context, mux *runtime.ServeMux, conn grpc.ClientConnInterface) error {
	if err := apiversion.RegisterGateway(ctx, mux, conn, r.apis); err != nil {
		return err
	}

	for _, rm := range r.remote {
		if err := apiversion.RegisterGateway(ctx, mux, rm.conn, rm.apis); err != nil {
			return fmt.Errorf("remote module %s: %w", rm.module, err)
		}
	}

	return nil
}

// ServePlatform registers the platform's own APIs (the feature flags'
// admin API), beside the modules', on the gRPC server, the in-process
// channel and the REST gateway. Call it after Init, before the servers
// start; no module may serve them.
func (r *Registry) ServePlatform(apis ...apiversion.API) { r.apis = append(r.apis, apis...) }

// IsPublic reports whether a module declared fullMethod callable without
// an access token.
func (r *Registry) IsPublic(fullMethod string) bool { return r.public[fullMethod] }

// CheckSession runs the session check a module provided (authn's
// SessionChecker); with none, every authenticated request fails closed.
func (r *Registry) CheckSession(ctx context.Context, sessionID, userID string) (string, error) {
	if r.sessions == nil {
		return "", apperrors.Unavailable("authentication is not available")
	}

	if r.deps.Sessions != nil {
		return r.deps.Sessions.Check(ctx, sessionID, userID, r.sessions)
	}

	return r.sessions.CheckSession(ctx, sessionID, userID)
}

// Permissions returns the permissions the modules granted role (authn's
// RoleResolver).
func (r *Registry) Permissions(role string) []string { return r.policy.Permissions(role) }

// RealtimeRoutes returns every module's WebSocket routes, in module order.
func (r *Registry) RealtimeRoutes() []websocket.Route { return slices.Clone(r.routes) }

// AdminTasks returns every module's maintenance tasks.
func (r *Registry) AdminTasks() []admin.Task { return slices.Clone(r.tasks) }

// MigrationSources returns the platform's migrations (the event bus's,
// the scheduler's and the feature flags' schemas) and then each module's migrations and seeds, in
// order. It needs no Init: `migrate` runs before any module is built.
func MigrationSources(modules []Module) []migration.Source {
	sources := []migration.Source{
		{Module: events.SchemaName, Migrations: events.Migrations()},
		{Module: scheduler.SchemaName, Migrations: scheduler.Migrations()},
		{Module: feature.SchemaName, Migrations: feature.Migrations()},
	}

	for _, m := range modules {
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

// host is a module's Host. Registration errors are kept and returned with
// Init's.
type host struct {
	r    *Registry
	name string
	err  error
	done bool // Init returned: registering now is a bug
}

var _ Host = (*host)(nil)

func (h *host) fail(err error) { h.err = errors.Join(h.err, err) }

// registering is called by every registration: the registry is read by
// the servers without locks once Init returned, so a module that kept its
// host and registers later has a bug, reported loudly.
func (h *host) registering(what string) {
	if h.done {
		panic("registry: module " + h.name + " called " + what + " after its Init returned")
	}
}

func (h *host) Config(dst any) error {
	if h.r.deps.Layers == nil {
		return fmt.Errorf("load %s config: no configuration layers", h.name)
	}

	report, err := h.r.deps.Layers.LoadModule(h.name, dst)
	if err != nil {
		return fmt.Errorf("load %s config: %w", h.name, err)
	}

	report.Log(context.Background(), h.Logger())

	return nil
}

func (h *host) DB() *pgxpool.Pool { return h.r.deps.DB }

func (h *host) Bus() Bus { return h.r.deps.Bus }

func (h *host) Client(module string) (grpc.ClientConnInterface, error) { return h.r.client(module) }

func (h *host) Logger() *slog.Logger { return h.r.deps.Logger.With("module", h.name) }

func (h *host) Notifier() *notifier.Notifier { return h.r.deps.Notifier }

func (h *host) Tokens() *authn.Tokens { return h.r.deps.Tokens }

func (h *host) HTTPClient() *http.Client {
	if h.r.deps.HTTPClient == nil {
		return &http.Client{Timeout: defaultHTTPTimeout}
	}

	return h.r.deps.HTTPClient
}

func (h *host) Cache() *cache.Hub { return h.r.deps.Cache }

func (h *host) SessionCache() *authn.SessionCache { return h.r.deps.Sessions }

func (h *host) Flags() *openfeature.Client { return h.r.deps.Flags.Client(h.name) }

func (h *host) Key(purpose string) *secrets.Key {
	return h.r.deps.Secret.Key("modulith/" + h.name + "/" + purpose)
}

func (h *host) Serve(apis ...apiversion.API) {
	h.registering("Serve")
	h.r.apis = append(h.r.apis, h.own(apis)...)
}

// own returns the APIs of apis in the module's own package, and fails the
// others.
func (h *host) own(apis []apiversion.API) []apiversion.API {
	out := make([]apiversion.API, 0, len(apis))

	for _, api := range apis {
		if !strings.HasPrefix(api.Service.ServiceName, h.name+".") {
			h.fail(fmt.Errorf("serve %s: a module serves its own package (%s.vN)", api.Service.ServiceName, h.name))

			continue
		}

		out = append(out, api)
	}

	return out
}

func (h *host) Public(methods ...string) {
	h.registering("Public")

	for _, m := range methods {
		if !strings.HasPrefix(m, "/"+h.name+".") {
			h.fail(fmt.Errorf("public %s: not a method of module %s", m, h.name))

			continue
		}

		h.r.public[m] = true
	}
}

func (h *host) Grant(role string, permissions ...string) {
	h.registering("Grant")
	h.r.policy.RegisterRole(role, permissions...)
}

func (h *host) Realtime(routes ...websocket.Route) {
	h.registering("Realtime")
	h.r.routes = append(h.r.routes, routes...)
}

func (h *host) Tasks(tasks ...admin.Task) {
	h.registering("Tasks")
	h.r.tasks = append(h.r.tasks, tasks...)
}

func (h *host) ProvideSessions(c authn.SessionChecker) {
	h.registering("ProvideSessions")

	if h.r.sessions != nil {
		h.fail(errors.New("a session check is already provided"))

		return
	}

	h.r.sessions = c
}

// remoteHost is a Remote module's RemoteHost.
type remoteHost struct {
	host

	conn grpc.ClientConnInterface
}

func (h *remoteHost) Conn() grpc.ClientConnInterface { return h.conn }

// Serve routes the REST requests of apis to the module's process: only
// their gateway handlers are registered, never a gRPC service.
func (h *remoteHost) Serve(apis ...apiversion.API) {
	h.registering("Serve")
	h.r.remote = append(h.r.remote, remoteAPIs{module: h.name, conn: h.conn, apis: h.own(apis)})
}

// remoteAPIs are the APIs of a module in another process, reached over
// conn.
type remoteAPIs struct {
	module string
	conn   grpc.ClientConnInterface
	apis   []apiversion.API
}
