package orders

import (
	"fmt"
	"io/fs"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	ordersv1 "github.com/modulith/modulith/gen/go/orders/v1"
	"github.com/modulith/modulith/internal/authz"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/registry"
	"github.com/modulith/modulith/internal/websocket"
	orderevents "github.com/modulith/modulith/modules/orders/events"
	"github.com/modulith/modulith/modules/orders/internal/repository"
	"github.com/modulith/modulith/modules/orders/internal/service"
	"github.com/modulith/modulith/modules/orders/resources"
)

// Name is the module's name, schema and configuration section.
const Name = "orders"

// authModule is the module orders depends on (over gRPC only).
const authModule = "auth"

// Module is the orders module.
type Module struct{}

var (
	_ registry.Module   = Module{}
	_ registry.Migrator = Module{}
	_ registry.Remote   = Module{}
)

// Name returns "orders".
func (Module) Name() string { return Name }

// Init builds the service on a client of the auth module, which the host
// connects in process or over the network, and on its feature flags (the
// kill switch orders.create_enabled), and serves it; grants role user
// the orders permissions; confirms new orders by email or SMS; and tells a
// user's WebSockets about their orders.
func (Module) Init(h registry.Host) error {
	conn, err := h.Client(authModule)
	if err != nil {
		return fmt.Errorf("orders needs the auth module: %w", err)
	}

	svc := service.New(repository.New(h.DB(), h.Bus()), authv1.NewAuthServiceClient(conn), h.Flags(), nil)

	h.Serve(api{svc}.apis()...)
	h.Grant(authz.RoleUser, service.PermCreate, service.PermRead, service.PermCancel)
	h.Realtime(
		websocket.ToUser(func(e orderevents.OrderCreated) string { return e.UserID }),
		websocket.ToUser(func(e orderevents.OrderCancelled) string { return e.UserID }),
	)

	c, err := newConfirmations(h.Notifier())
	if err != nil {
		return err
	}

	return events.Subscribe(h.Bus(), notifierSubscriber, c.orderPlaced)
}

// InitRemote serves, in a process that runs without orders (REMOTE_MODULES),
// the module's REST routes by forwarding them to the process that runs it.
// The api has no service: only the gateway handlers of its APIs are used.
func (Module) InitRemote(h registry.RemoteHost) error {
	h.Serve(api{}.apis()...)

	return nil
}

// api is what the module serves: every version of its API (apis.go).
type api struct{ svc *service.Service }

// orderServiceV1 implements orders.v1.OrderService; later versions
// (api_v<N>.go) forward to it until their messages change.
func (a api) orderServiceV1() ordersv1.OrderServiceServer { return a.svc }

// Migrations returns the orders schema's migrations.
func (Module) Migrations() fs.FS { return resources.Migrations() }
