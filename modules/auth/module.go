package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/internal/admin"
	"github.com/modulith/modulith/internal/apiversion"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/registry"
	"github.com/modulith/modulith/internal/websocket"
	"github.com/modulith/modulith/modules/auth/internal/repository"
	"github.com/modulith/modulith/modules/auth/internal/service"
	"github.com/modulith/modulith/modules/auth/resources"
)

// Name is the module's name, schema and configuration section.
const Name = "auth"

// Module is the auth module.
type Module struct {
	svc    *service.Service
	logger *slog.Logger
}

var (
	_ registry.Module           = (*Module)(nil)
	_ registry.Migrator         = (*Module)(nil)
	_ registry.Seeder           = (*Module)(nil)
	_ registry.PublicEndpointer = (*Module)(nil)
	_ registry.AdminTasker      = (*Module)(nil)
	_ registry.RealtimeRouter   = (*Module)(nil)
)

// New returns the module; Initialize wires it.
func New() *Module { return &Module{} }

// Name returns "auth".
func (m *Module) Name() string { return Name }

// Initialize loads the auth configuration, builds the service and installs
// its session check for the whole process.
func (m *Module) Initialize(r *registry.Registry) error {
	var cfg service.Config
	if err := r.LoadConfig(Name, &cfg); err != nil {
		return err
	}

	m.logger = r.Logger(Name)

	svc, err := service.New(cfg, service.Deps{
		Repo:     repository.New(r.DB(), r.Bus()),
		Tokens:   r.Tokens(),
		Delivery: r.Notifier(),
		Logger:   m.logger,
		CodeKey:  deriveKey(r.Config().JWTSecret, "modulith/auth/magic-codes/v1"),
	})
	if err != nil {
		return fmt.Errorf("auth service: %w", err)
	}

	m.svc = svc
	r.ProvideSessionChecker(svc)

	return nil
}

// deriveKey derives a purpose-bound key from the platform secret, so the
// code HMAC key differs from the token signing key.
func deriveKey(secret, purpose string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(purpose))

	return m.Sum(nil)
}

// RegisterGRPC registers every version of the API (apis.go).
func (m *Module) RegisterGRPC(s grpc.ServiceRegistrar) {
	apiversion.RegisterGRPC(s, m.apis())
}

// RegisterGateway serves every version of the API as REST, version N under
// /vN/auth.
func (m *Module) RegisterGateway(ctx context.Context, mux *runtime.ServeMux, conn grpc.ClientConnInterface) error {
	return apiversion.RegisterGateway(ctx, mux, conn, m.apis())
}

// authServiceV1 implements auth.v1.AuthService; later versions
// (api_v<N>.go) forward to it until their messages change.
func (m *Module) authServiceV1() authv1.AuthServiceServer { return m.svc }

// Migrations returns the auth schema's migrations.
func (m *Module) Migrations() fs.FS { return resources.Migrations() }

// Seeds returns development seed data (an admin user).
func (m *Module) Seeds() fs.FS { return resources.Seeds() }

// PublicEndpoints are the methods callable without an access token, in
// every version of the API.
func (m *Module) PublicEndpoints() []string {
	return apiversion.FullMethods(m.apis(), "RequestLogin", "CompleteLogin", "RefreshToken")
}

// RealtimeRoutes send a user's new sign-ins and profile changes to the
// user's open WebSockets.
func (m *Module) RealtimeRoutes() []websocket.Route {
	return []websocket.Route{
		{Event: events.SessionCreatedEvent, UserKey: events.KeyUserID},
		{Event: events.ProfileUpdatedEvent, UserKey: events.KeyUserID},
	}
}

// AdminTasks are the module's maintenance tasks.
func (m *Module) AdminTasks() []admin.Task {
	return []admin.Task{
		admin.Func{
			TaskName:        "cleanup-sessions",
			TaskDescription: "Delete sessions that expired or were revoked more than 7 days ago",
			Run: func(ctx context.Context) error {
				n, err := m.svc.CleanupSessions(ctx)
				m.logger.InfoContext(ctx, "cleanup-sessions", "deleted", n)

				return err
			},
		},
		admin.Func{
			TaskName:        "cleanup-magic-codes",
			TaskDescription: "Delete one-time codes that expired more than 7 days ago and old rate-limit counters",
			Run: func(ctx context.Context) error {
				n, err := m.svc.CleanupMagicCodes(ctx)
				m.logger.InfoContext(ctx, "cleanup-magic-codes", "deleted", n)

				return err
			},
		},
	}
}
