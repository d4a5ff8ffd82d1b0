package orders

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	ordersv1 "github.com/modulith/modulith/gen/go/orders/v1"
	"github.com/modulith/modulith/internal/apiversion"
	"github.com/modulith/modulith/internal/authz"
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
type Module struct {
	svc *service.Service
}

var (
	_ registry.Module         = (*Module)(nil)
	_ registry.Migrator       = (*Module)(nil)
	_ registry.RealtimeRouter = (*Module)(nil)
)

// New returns the module; Initialize wires it.
func New() *Module { return &Module{} }

// Name returns "orders".
func (m *Module) Name() string { return Name }

// Initialize builds the service on a client of the auth module, which
// the registry connects in process or over the network, grants role user
// the orders permissions, and subscribes the order confirmations.
func (m *Module) Initialize(r *registry.Registry) error {
	conn, err := r.Client(authModule)
	if err != nil {
		return fmt.Errorf("orders needs the auth module: %w", err)
	}

	r.Policy().RegisterRole(authz.RoleUser, service.PermCreate, service.PermRead, service.PermCancel)

	m.svc = service.New(repository.New(r.DB(), r.Bus()), authv1.NewAuthServiceClient(conn), nil)

	if bus := r.Bus(); bus != nil && r.Notifier() != nil {
		if err := bus.Subscribe(notifierSubscriber, orderevents.OrderCreated, notifyPlaced(r.Notifier(), r.Logger(Name))); err != nil {
			return fmt.Errorf("orders: %w", err)
		}
	}

	return nil
}

// RegisterGRPC registers every version of the API (apis.go).
func (m *Module) RegisterGRPC(s grpc.ServiceRegistrar) {
	apiversion.RegisterGRPC(s, m.apis())
}

// RegisterGateway serves every version of the API as REST, version N under
// /vN/orders.
func (m *Module) RegisterGateway(ctx context.Context, mux *runtime.ServeMux, conn grpc.ClientConnInterface) error {
	return apiversion.RegisterGateway(ctx, mux, conn, m.apis())
}

// orderServiceV1 implements orders.v1.OrderService; later versions
// (api_v<N>.go) forward to it until their messages change.
func (m *Module) orderServiceV1() ordersv1.OrderServiceServer { return m.svc }

// Migrations returns the orders schema's migrations.
func (m *Module) Migrations() fs.FS { return resources.Migrations() }

// RealtimeRoutes tell a user's open WebSockets about their orders.
func (m *Module) RealtimeRoutes() []websocket.Route {
	return []websocket.Route{
		{Event: orderevents.OrderCreated, UserKey: orderevents.KeyUserID},
		{Event: orderevents.OrderCancelled, UserKey: orderevents.KeyUserID},
	}
}
