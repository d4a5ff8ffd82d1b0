// Package graphql resolves the orders module's part of the GraphQL schema
// (schema.graphqls) through the module's gRPC API, on the connection the
// platform gives: the same authentication, validation and errors as gRPC
// and REST. scripts/graphqlroot combines it with the other modules'.
package graphql

import (
	"context"
	"math"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	ordersv1 "github.com/modulith/modulith/gen/go/orders/v1"
	"github.com/modulith/modulith/gen/graphql/model"
	"github.com/modulith/modulith/internal/graphql"
	"github.com/modulith/modulith/internal/page"
	"github.com/modulith/modulith/modules/orders"
	orderevents "github.com/modulith/modulith/modules/orders/events"
)

// authModule is the module whose users place orders.
const authModule = "auth"

// Resolver holds the module's client, and auth's for the profiles of the
// users who placed orders.
type Resolver struct {
	client ordersv1.OrderServiceClient
	users  authv1.AuthServiceClient
}

// New returns the module's resolvers.
func New(d graphql.Deps) *Resolver {
	return &Resolver{
		client: ordersv1.NewOrderServiceClient(d.Conn(orders.Name)),
		users:  authv1.NewAuthServiceClient(d.Conn(authModule)),
	}
}

// Order resolves the fields of an order that come from elsewhere.
type Order struct{ *Resolver }

// PlacedBy returns the public profile of the user who placed o: the
// profiles of a whole list of orders come in one call to auth.
func (r Order) PlacedBy(ctx context.Context, o *model.Order) (*model.PublicProfile, error) {
	return graphql.Load(ctx, "auth.profiles", r.profiles, o.UserID)
}

// profiles fetches the public profiles of users in one call.
func (r Order) profiles(ctx context.Context, ids []string) (map[string]*model.PublicProfile, error) {
	resp, err := r.users.BatchGetPublicProfiles(ctx, &authv1.BatchGetPublicProfilesRequest{UserIds: ids})
	if err != nil {
		return nil, err
	}

	out := make(map[string]*model.PublicProfile, len(resp.GetProfiles()))
	for _, p := range resp.GetProfiles() {
		out[p.GetId()] = &model.PublicProfile{ID: p.GetId(), DisplayName: p.GetDisplayName()}
	}

	return out, nil
}

// Query resolves the module's queries.
type Query struct{ *Resolver }

// Order returns one of the caller's orders.
func (q Query) Order(ctx context.Context, id string) (*model.Order, error) {
	resp, err := q.client.GetOrder(ctx, &ordersv1.GetOrderRequest{OrderId: id})
	if err != nil {
		return nil, err
	}

	return order(resp.GetOrder()), nil
}

// Orders returns a page of the caller's orders, newest first: first of
// them (ListOrders checks the page size) after the order whose cursor is
// after. A cursor is the page token that continues after its order.
func (q Query) Orders(ctx context.Context, first *int32, after *string) (*model.OrderConnection, error) {
	req := &ordersv1.ListOrdersRequest{}
	if first != nil {
		req.PageSize = *first
	}

	if after != nil {
		req.PageToken = *after
	}

	resp, err := q.client.ListOrders(ctx, req)
	if err != nil {
		return nil, err
	}

	conn := &model.OrderConnection{
		Edges:    make([]model.OrderEdge, 0, len(resp.GetOrders())),
		PageInfo: &model.PageInfo{HasNextPage: resp.GetNextPageToken() != ""},
	}

	for _, o := range resp.GetOrders() {
		conn.Edges = append(conn.Edges, model.OrderEdge{Cursor: page.Token(o.GetId()), Node: order(o)})
	}

	if n := len(conn.Edges); n > 0 {
		conn.PageInfo.EndCursor = &conn.Edges[n-1].Cursor
	}

	return conn, nil
}

// Mutation resolves the module's mutations.
type Mutation struct{ *Resolver }

// CreateOrder places an order for the caller.
func (m Mutation) CreateOrder(ctx context.Context, input model.CreateOrderInput) (*model.Order, error) {
	req := &ordersv1.CreateOrderRequest{Currency: input.Currency, Items: make([]*ordersv1.OrderItem, 0, len(input.Items))}
	for _, it := range input.Items {
		req.Items = append(req.Items, &ordersv1.OrderItem{Sku: it.Sku, Quantity: it.Quantity, UnitPriceMinor: it.UnitPriceMinor})
	}

	resp, err := m.client.CreateOrder(ctx, req)
	if err != nil {
		return nil, err
	}

	return order(resp.GetOrder()), nil
}

// CancelOrder cancels one of the caller's orders.
func (m Mutation) CancelOrder(ctx context.Context, id string, reason *string) (*model.Order, error) {
	req := &ordersv1.CancelOrderRequest{OrderId: id}
	if reason != nil {
		req.Reason = *reason
	}

	resp, err := m.client.CancelOrder(ctx, req)
	if err != nil {
		return nil, err
	}

	return order(resp.GetOrder()), nil
}

// Subscription resolves the module's subscriptions.
type Subscription struct{ *Resolver }

// OrderCreated streams the orders the subscriber places.
func (Subscription) OrderCreated(ctx context.Context) (<-chan *model.OrderCreatedEvent, error) {
	return graphql.Subscribe(ctx, func(e orderevents.OrderCreated) *model.OrderCreatedEvent {
		count := int32(math.MaxInt32) // an order has at most 50 lines
		if e.ItemCount >= 0 && e.ItemCount < math.MaxInt32 {
			count = int32(e.ItemCount)
		}

		return &model.OrderCreatedEvent{OrderID: e.OrderID, TotalMinor: e.TotalMinor, Currency: e.Currency, ItemCount: count}
	})
}

var statuses = map[ordersv1.OrderStatus]model.OrderStatus{
	ordersv1.OrderStatus_ORDER_STATUS_PLACED:    model.OrderStatusPlaced,
	ordersv1.OrderStatus_ORDER_STATUS_CANCELLED: model.OrderStatusCancelled,
}

func order(o *ordersv1.Order) *model.Order {
	out := &model.Order{
		ID: o.GetId(), UserID: o.GetUserId(), Status: statuses[o.GetStatus()],
		Items: make([]model.OrderItem, 0, len(o.GetItems())), Currency: o.GetCurrency(), TotalMinor: o.GetTotalMinor(),
		CancelReason: graphql.Optional(o.GetCancelReason()),
		CreateTime:   graphql.Time(o.GetCreateTime()), UpdateTime: graphql.Time(o.GetUpdateTime()),
	}

	for _, it := range o.GetItems() {
		out.Items = append(out.Items, model.OrderItem{Sku: it.GetSku(), Quantity: it.GetQuantity(), UnitPriceMinor: it.GetUnitPriceMinor()})
	}

	return out
}
