package auth

import (
	"context"
	"fmt"
	"io/fs"
	"time"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/internal/admin"
	"github.com/modulith/modulith/internal/apiversion"
	"github.com/modulith/modulith/internal/cache"
	"github.com/modulith/modulith/internal/registry"
	"github.com/modulith/modulith/internal/websocket"
	authevents "github.com/modulith/modulith/modules/auth/events"
	"github.com/modulith/modulith/modules/auth/internal/models"
	"github.com/modulith/modulith/modules/auth/internal/repository"
	"github.com/modulith/modulith/modules/auth/internal/service"
	"github.com/modulith/modulith/modules/auth/resources"
)

// Name is the module's name, schema and configuration section.
const Name = "auth"

// Module is the auth module.
type Module struct{}

var (
	_ registry.Module   = Module{}
	_ registry.Migrator = Module{}
	_ registry.Seeder   = Module{}
	_ registry.Remote   = Module{}
)

// Name returns "auth".
func (Module) Name() string { return Name }

// Init builds the service on the module's configuration and serves it;
// provides the session check of every authenticated request; sends the
// codes its events ask for; tells a user's WebSockets of new sign-ins and
// profile changes, and closes those of a revoked session.
func (Module) Init(h registry.Host) error {
	var cfg service.Config

	err := h.Config(&cfg)
	if err != nil {
		return err
	}

	var profiles service.ProfileCache
	if h.Cache() != nil { // a host with caches (moduletest's has none)
		if profiles, err = cache.New(h.Cache(), cache.Options[models.PublicProfile]{Name: "auth.profiles", TTL: profileTTL}); err != nil {
			return fmt.Errorf("auth profile cache: %w", err)
		}
	}

	svc, err := service.New(cfg, service.Deps{
		Repo:       repository.New(h.DB(), h.Bus()),
		Profiles:   profiles,
		Tokens:     h.Tokens(),
		Delivery:   h.Notifier(),
		Sessions:   h.SessionCache(),
		Logger:     h.Logger(),
		CodeKey:    h.Key("magic-codes/v1"),
		RefreshKey: h.Key("refresh-tokens/v1"),
		HTTPClient: h.HTTPClient(),
	})
	if err != nil {
		return fmt.Errorf("auth service: %w", err)
	}

	apis := api{svc}.apis()
	h.Serve(apis...)
	h.Public(apiversion.FullMethods(apis, "RequestLogin", "CompleteLogin", "RefreshToken",
		"StartOAuth", "CompleteOAuth", "FormPostOAuth", "ExchangeOAuthCode")...)
	h.ProvideSessions(svc)
	h.Tasks(tasks(svc, h)...)
	h.Realtime(
		websocket.ToUser(func(e authevents.SessionCreated) string { return e.UserID }),
		websocket.ToUser(func(e authevents.ProfileUpdated) string { return e.UserID }),
		websocket.EndSession(func(e authevents.SessionRevoked) string { return e.SessionID }),
	)

	return subscribeCodes(h)
}

// profileTTL bounds how long a replica that missed an invalidation of a
// public profile (which GraphQL's Order.placedBy reads for every order
// listed) can serve an old display name.
const profileTTL = 10 * time.Minute

// InitRemote serves, in a process that runs without auth, auth's REST
// routes by forwarding them to the auth service, and checks the sessions
// with it (remoteSessions). The api has no services: only the gateway
// handlers of its APIs are used.
func (Module) InitRemote(h registry.RemoteHost) error {
	h.Serve(api{}.apis()...)
	h.ProvideSessions(remoteSessions{client: authv1.NewAuthServiceClient(h.Conn())})

	return nil
}

// api is what the module serves: every version of its API (apis.go).
type api struct{ svc *service.Service }

// authServiceV1 implements auth.v1.AuthService; later versions
// (api_v<N>.go) forward to it until their messages change.
func (a api) authServiceV1() authv1.AuthServiceServer { return a.svc }

// Migrations returns the auth schema's migrations.
func (Module) Migrations() fs.FS { return resources.Migrations() }

// Seeds returns development seed data (an admin user).
func (Module) Seeds() fs.FS { return resources.Seeds() }

// tasks are the module's maintenance tasks.
func tasks(svc *service.Service, h registry.Host) []admin.Task {
	logger := h.Logger()

	return []admin.Task{
		admin.Func{
			TaskName:        "cleanup-sessions",
			TaskDescription: "Delete sessions that expired or were revoked more than 7 days ago",
			Run: func(ctx context.Context) error {
				n, err := svc.CleanupSessions(ctx)
				logger.InfoContext(ctx, "cleanup-sessions", "deleted", n)

				return err
			},
		},
		admin.Func{
			TaskName:        "cleanup-magic-codes",
			TaskDescription: "Delete one-time codes that expired more than 7 days ago, old rate-limit counters and failure records, known clients past AUTH_KNOWN_CLIENT_TTL, and expired OAuth states and exchange codes",
			Run: func(ctx context.Context) error {
				n, err := svc.CleanupMagicCodes(ctx)
				logger.InfoContext(ctx, "cleanup-magic-codes", "deleted", n)

				return err
			},
		},
	}
}
