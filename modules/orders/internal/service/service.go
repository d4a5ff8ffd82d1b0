// Package service implements orders.v1.OrderService: it places, shows,
// lists and cancels orders. It confirms the caller with the auth module
// through auth's generated gRPC client (in process or over the network,
// the same code), owns the rules (who may see or cancel an order, what can
// be cancelled), generates every identifier, and publishes its events in
// the transaction of the change they describe.
package service

import (
	"context"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	ordersv1 "github.com/modulith/modulith/gen/go/orders/v1"
	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/authz"
	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/ids"
	"github.com/modulith/modulith/internal/notifier"
	"github.com/modulith/modulith/internal/page"
	"github.com/modulith/modulith/internal/telemetry"
	orderevents "github.com/modulith/modulith/modules/orders/events"
	"github.com/modulith/modulith/modules/orders/internal/models"
	"github.com/modulith/modulith/modules/orders/internal/repository"
)

const (
	module      = "orders"
	prefixOrder = "order"
	// defaultPageSize is the page size of a ListOrders that asks for none;
	// maxPageSize the largest the proto allows.
	defaultPageSize = 20
	maxPageSize     = 100
)

// Permissions of the orders endpoints; role user gets them all (module.go),
// admin has every permission.
const (
	PermCreate = "orders:create"
	PermRead   = "orders:read"
	PermCancel = "orders:cancel"
)

// Users is what the service asks the auth module: the caller's profile,
// which proves the account exists and its session is live.
type Users interface {
	GetProfile(ctx context.Context, in *authv1.GetProfileRequest, opts ...grpc.CallOption) (*authv1.GetProfileResponse, error)
}

// FlagCreateEnabled is the kill switch of CreateOrder: a boolean feature
// flag, true when it does not exist. Off for a caller (a rule may target
// users, roles or a percentage), CreateOrder refuses with ORDERS_PAUSED.
const FlagCreateEnabled = "orders.create_enabled"

// CodeOrdersPaused is the error code of a CreateOrder refused by the kill
// switch (Unavailable: 503).
const CodeOrdersPaused errors.Code = "ORDERS_PAUSED"

// Flags evaluates the module's feature flags for the request's caller: the
// module's OpenFeature client (registry.Host.Flags).
type Flags interface {
	Boolean(ctx context.Context, flag string, defaultValue bool, evalCtx openfeature.EvaluationContext, options ...openfeature.Option) bool
}

// Service implements orders.v1.OrderService.
type Service struct {
	ordersv1.UnimplementedOrderServiceServer

	repo  repository.Repository
	users Users
	flags Flags
	now   func() time.Time
}

// New returns a service; now nil means time.Now.
func New(repo repository.Repository, users Users, flags Flags, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}

	return &Service{repo: repo, users: users, flags: flags, now: func() time.Time { return now().UTC().Truncate(time.Microsecond) }}
}

// CreateOrder places an order for the caller, unless the kill switch
// (FlagCreateEnabled) is off for the caller, once auth confirms the
// caller's account, and publishes order.created in the same transaction.
func (s *Service) CreateOrder(ctx context.Context, req *ordersv1.CreateOrderRequest) (_ *ordersv1.CreateOrderResponse, err error) {
	ctx, end := telemetry.ServiceOp(ctx, module, "CreateOrder")
	defer end(&err)

	caller, err := authz.Authorize(ctx, PermCreate)
	if err != nil {
		return nil, err
	}

	// Evaluated for the caller (the flag's rules see its user ID and role);
	// on any error, such as a flag that does not exist, orders stay open.
	if !s.flags.Boolean(ctx, FlagCreateEnabled, true, openfeature.EvaluationContext{}) {
		return nil, errors.Unavailable("placing orders is paused; try again later", errors.WithErrorCode(CodeOrdersPaused))
	}

	user, err := s.confirmUser(ctx, caller)
	if err != nil {
		return nil, err
	}

	id, err := ids.New(prefixOrder)
	if err != nil {
		return nil, err
	}

	now := s.now()
	o := models.Order{
		ID: id, UserID: caller.UserID, Status: models.StatusPlaced, Currency: req.GetCurrency(),
		CreatedAt: now, UpdatedAt: now,
	}

	for _, it := range req.GetItems() {
		o.Items = append(o.Items, models.Item{SKU: it.GetSku(), Quantity: it.GetQuantity(), UnitPriceMinor: it.GetUnitPriceMinor()})
		o.TotalMinor += int64(it.GetQuantity()) * it.GetUnitPriceMinor() // ≤ 50 × 1000 × 1e8: no overflow
	}

	telemetry.SetAttribute(ctx, "order.id", o.ID)

	err = s.repo.WithTx(ctx, func(tx repository.Repository) error {
		if err := tx.CreateOrder(ctx, o); err != nil {
			return err
		}

		channel, destination := contact(user)

		return tx.Publish(ctx, orderevents.OrderCreated{
			OrderID: o.ID, UserID: o.UserID, TotalMinor: o.TotalMinor, Currency: o.Currency, ItemCount: len(o.Items),
			Channel: channel, Destination: destination,
		})
	})
	if err != nil {
		return nil, err
	}

	return &ordersv1.CreateOrderResponse{Order: toProto(o)}, nil
}

// confirmUser asks auth for the caller's profile: the account exists and
// the session is live, wherever auth runs.
func (s *Service) confirmUser(ctx context.Context, caller authn.Identity) (*authv1.User, error) {
	resp, err := s.users.GetProfile(ctx, &authv1.GetProfileRequest{})

	switch status.Code(err) {
	case codes.OK:
	case codes.Unauthenticated, codes.NotFound, codes.PermissionDenied:
		return nil, errors.Unauthorized("the caller's account cannot place orders")
	default:
		return nil, errors.Unavailable("cannot confirm the account now", errors.WithCause(err))
	}

	if resp.GetUser().GetId() != caller.UserID {
		return nil, errors.Unauthorized("the caller's account cannot place orders")
	}

	return resp.GetUser(), nil
}

// contact is where the order's confirmation goes: the user's email
// address, else their phone; nothing when they have neither.
func contact(u *authv1.User) (channel, destination string) {
	switch {
	case u.GetEmail() != "":
		return string(notifier.ChannelEmail), u.GetEmail()
	case u.GetPhone() != "":
		return string(notifier.ChannelSMS), u.GetPhone()
	default:
		return "", ""
	}
}

// GetOrder returns an order its caller owns, or any order to an admin.
func (s *Service) GetOrder(ctx context.Context, req *ordersv1.GetOrderRequest) (_ *ordersv1.GetOrderResponse, err error) {
	ctx, end := telemetry.ServiceOp(ctx, module, "GetOrder")
	defer end(&err)

	if _, err := authz.Authorize(ctx, PermRead); err != nil {
		return nil, err
	}

	o, err := s.repo.Order(ctx, req.GetOrderId())
	if err != nil {
		return nil, err
	}

	if err := owned(ctx, o); err != nil {
		return nil, err
	}

	return &ordersv1.GetOrderResponse{Order: toProto(o)}, nil
}

// ListOrders returns a page of the caller's orders, newest first. The page
// token is the last order's ID, opaque to clients.
func (s *Service) ListOrders(ctx context.Context, req *ordersv1.ListOrdersRequest) (_ *ordersv1.ListOrdersResponse, err error) {
	ctx, end := telemetry.ServiceOp(ctx, module, "ListOrders")
	defer end(&err)

	caller, err := authz.Authorize(ctx, PermRead)
	if err != nil {
		return nil, err
	}

	after, err := page.After(req.GetPageToken(), prefixOrder)
	if err != nil {
		return nil, err
	}

	size := page.Size(req.GetPageSize(), defaultPageSize, maxPageSize)

	// One more than the page tells whether another page follows.
	orders, err := s.repo.Orders(ctx, caller.UserID, after, size+1)
	if err != nil {
		return nil, err
	}

	resp := &ordersv1.ListOrdersResponse{}

	if len(orders) > int(size) {
		orders = orders[:size]
		resp.NextPageToken = page.Token(orders[len(orders)-1].ID)
	}

	for _, o := range orders {
		resp.Orders = append(resp.Orders, toProto(o))
	}

	return resp, nil
}

// CancelOrder cancels a placed order its caller owns (any, for an admin)
// and publishes order.cancelled in the same transaction.
func (s *Service) CancelOrder(ctx context.Context, req *ordersv1.CancelOrderRequest) (_ *ordersv1.CancelOrderResponse, err error) {
	ctx, end := telemetry.ServiceOp(ctx, module, "CancelOrder")
	defer end(&err)

	if _, err := authz.Authorize(ctx, PermCancel); err != nil {
		return nil, err
	}

	var o models.Order

	err = s.repo.WithTx(ctx, func(tx repository.Repository) error {
		var err error
		if o, err = tx.LockOrder(ctx, req.GetOrderId()); err != nil {
			return err
		}

		if err := owned(ctx, o); err != nil {
			return err
		}

		if o.Status != models.StatusPlaced {
			return errors.Conflict("order is already cancelled", errors.WithField("order_id", "already cancelled"))
		}

		o.Status, o.CancelReason, o.UpdatedAt = models.StatusCancelled, req.GetReason(), s.now()

		if err := tx.CancelOrder(ctx, o.ID, o.CancelReason, o.UpdatedAt); err != nil {
			return err
		}

		return tx.Publish(ctx, orderevents.OrderCancelled{OrderID: o.ID, UserID: o.UserID, Reason: o.CancelReason})
	})
	if err != nil {
		return nil, err
	}

	return &ordersv1.CancelOrderResponse{Order: toProto(o)}, nil
}

// owned lets the owner or an admin at an order; to anyone else the order
// does not exist (no probing of other users' order IDs).
func owned(ctx context.Context, o models.Order) error {
	if err := authz.RequireOwnershipOrRole(ctx, o.UserID, authz.RoleAdmin); err != nil {
		return errors.NotFound("order not found")
	}

	return nil
}

func toProto(o models.Order) *ordersv1.Order {
	st := ordersv1.OrderStatus_ORDER_STATUS_PLACED
	if o.Status == models.StatusCancelled {
		st = ordersv1.OrderStatus_ORDER_STATUS_CANCELLED
	}

	out := &ordersv1.Order{
		Id: o.ID, UserId: o.UserID, Status: st, Currency: o.Currency, TotalMinor: o.TotalMinor,
		CancelReason: o.CancelReason, CreateTime: timestamppb.New(o.CreatedAt), UpdateTime: timestamppb.New(o.UpdatedAt),
	}

	for _, it := range o.Items {
		out.Items = append(out.Items, &ordersv1.OrderItem{Sku: it.SKU, Quantity: it.Quantity, UnitPriceMinor: it.UnitPriceMinor})
	}

	return out
}
