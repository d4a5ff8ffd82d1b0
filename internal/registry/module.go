package registry

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/open-feature/go-sdk/openfeature"
	"google.golang.org/grpc"

	"github.com/modulith/modulith/internal/admin"
	"github.com/modulith/modulith/internal/apiversion"
	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/cache"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/notifier"
	"github.com/modulith/modulith/internal/secrets"
	"github.com/modulith/modulith/internal/websocket"
)

// Module is a business module. Its value is stateless: Init builds what the
// module runs and hands it to the host, once per process.
type Module interface {
	// Name identifies the module; it is also its PostgreSQL schema, the
	// section of its configuration and the prefix of its settings'
	// environment variables. It must match ^[a-z][a-z0-9_]{0,30}$.
	Name() string
	// Init builds the module in a process that runs it, from what h
	// offers, and registers with h what the module serves and handles. It
	// must not start goroutines: the host runs what it registered.
	Init(h Host) error
}

// Host is what a module gets from the process that runs it, and all it
// gets: no other module's configuration, no platform secret.
type Host interface {
	// Config fills dst, a pointer to the module's configuration struct,
	// from the module's own section (the YAML key named after it, and the
	// environment variables of dst's tags, which must start with the
	// module's name: AUTH_…), and logs each value with its source.
	Config(dst any) error
	// DB is the shared pool; a module queries its own schema only.
	DB() *pgxpool.Pool
	// Bus publishes the module's events (in its transactions) and
	// subscribes its handlers (events.Subscribe).
	Bus() Bus
	// Client connects to the gRPC API of a module this one depends on, for
	// its generated client: in process when that module runs here, over
	// the network when REMOTE_MODULES names it.
	Client(module string) (grpc.ClientConnInterface, error)
	// Logger is the module's logger (module=<name>).
	Logger() *slog.Logger
	// Notifier sends email and SMS through the configured providers.
	Notifier() *notifier.Notifier
	// Tokens issues and verifies access tokens.
	Tokens() *authn.Tokens
	// HTTPClient is the client for requests to other services (an OAuth
	// provider, a webhook): it has a timeout, a circuit breaker per host
	// that answers at once while the host keeps failing, and retries of
	// idempotent requests, with the breakers' state in the metrics.
	HTTPClient() *http.Client
	// Cache builds the module's caches (cache.New), invalidated on every
	// replica: in Redis when CACHE_URL is set, in memory otherwise.
	Cache() *cache.Hub
	// SessionCache is the cache of the session check: the module that
	// owns sessions invalidates the sessions that end
	// (InvalidateSessions).
	SessionCache() *authn.SessionCache
	// Flags evaluates the module's feature flags ("<module>.<name>" only;
	// see internal/feature) for the caller of the request, from memory.
	Flags() *openfeature.Client
	// Key derives 32-byte keys for purpose (e.g. "magic-codes/v1") from
	// the platform's secret, bound to the module: the secret itself stays
	// with the platform. The key follows the secret's rotations: its Keys
	// are the current key, which new data uses, and during a rotation the
	// previous one, which data made before still checks against.
	Key(purpose string) *secrets.Key

	// Serve registers the module's APIs (its own gRPC services, every
	// version) on the gRPC server, the in-process channel and the REST
	// gateway.
	Serve(apis ...apiversion.API)
	// Public names methods of the module's APIs that need no access token
	// ("/auth.v1.AuthService/RequestLogin").
	Public(methods ...string)
	// Grant gives role permissions, on top of what other modules grant.
	Grant(role string, permissions ...string)
	// Realtime routes the module's events to WebSocket clients.
	Realtime(routes ...websocket.Route)
	// Tasks adds maintenance tasks (`server admin <task>`, WORKER_SCHEDULE).
	Tasks(tasks ...admin.Task)
	// ProvideSessions installs the check every authenticated request runs,
	// whatever module it calls: the module that owns sessions provides it.
	ProvideSessions(c authn.SessionChecker)
}

// Bus is what a module does with the event bus.
type Bus interface {
	events.Subscriber
	Publish(ctx context.Context, tx pgx.Tx, p events.Payload) error
}

// Migrator is a module with database migrations (embedded, golang-migrate
// file names, applied in the module's own schema).
type Migrator interface {
	Migrations() fs.FS
}

// Seeder is a module with development seed data.
type Seeder interface {
	Seeds() fs.FS
}

// Remote is a module that, when it runs in another process
// (REMOTE_MODULES), still provides this process with what it owns,
// through its own API: its REST routes, forwarded by the gateway
// (RemoteHost.Serve), and, for auth, the session check of this process's
// requests.
type Remote interface {
	InitRemote(h RemoteHost) error
}

// RemoteHost is what a Remote module gets in a process that reaches it
// over the network.
type RemoteHost interface {
	// Conn is the connection to the module's process.
	Conn() grpc.ClientConnInterface
	// Serve routes the REST routes of the module's APIs through this
	// process's gateway to the module's process over Conn, so that clients
	// keep one base URL. Only Service and RegisterGateway are used: no
	// gRPC service is registered here.
	Serve(apis ...apiversion.API)
	// ProvideSessions is Host.ProvideSessions.
	ProvideSessions(c authn.SessionChecker)
}
