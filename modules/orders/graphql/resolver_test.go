package graphql

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	ordersv1 "github.com/modulith/modulith/gen/go/orders/v1"
	"github.com/modulith/modulith/gen/graphql/model"
	"github.com/modulith/modulith/internal/page"
)

// fakeOrders answers ListOrders with a fixed page and records the request.
type fakeOrders struct {
	ordersv1.OrderServiceClient

	got  *ordersv1.ListOrdersRequest
	resp *ordersv1.ListOrdersResponse
}

func (f *fakeOrders) ListOrders(_ context.Context, in *ordersv1.ListOrdersRequest, _ ...grpc.CallOption) (*ordersv1.ListOrdersResponse, error) {
	f.got = in

	return f.resp, nil
}

func TestOrdersIsACursorConnection(t *testing.T) {
	t.Parallel()

	placed := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	fake := &fakeOrders{resp: &ordersv1.ListOrdersResponse{
		Orders: []*ordersv1.Order{
			{Id: "order_b", Status: ordersv1.OrderStatus_ORDER_STATUS_PLACED, TotalMinor: 300, CreateTime: timestamppb.New(placed),
				Items: []*ordersv1.OrderItem{{Sku: "a", Quantity: 2, UnitPriceMinor: 150}}},
			{Id: "order_a", Status: ordersv1.OrderStatus_ORDER_STATUS_CANCELLED, CancelReason: "late"},
		},
		NextPageToken: page.Token("order_a"),
	}}
	q := Query{&Resolver{client: fake}}
	first, after := int32(2), "cursor"

	conn, err := q.Orders(t.Context(), &first, &after)
	if err != nil {
		t.Fatal(err)
	}

	if fake.got.GetPageSize() != 2 || fake.got.GetPageToken() != "cursor" {
		t.Errorf("ListOrders(%v), want page_size 2 and page_token cursor", fake.got)
	}

	if len(conn.Edges) != 2 || conn.Edges[0].Cursor != page.Token("order_b") || conn.Edges[1].Cursor != page.Token("order_a") {
		t.Fatalf("edges = %+v, want each order with the token that continues after it", conn.Edges)
	}

	if !conn.PageInfo.HasNextPage || conn.PageInfo.EndCursor == nil || *conn.PageInfo.EndCursor != page.Token("order_a") {
		t.Errorf("pageInfo = %+v, want a next page after order_a", conn.PageInfo)
	}

	wantOrders(t, conn.Edges[0].Node, conn.Edges[1].Node, placed)
}

// wantOrders checks the conversion of a placed and a cancelled order.
func wantOrders(t *testing.T, placedOrder, cancelled *model.Order, placed time.Time) {
	t.Helper()

	if placedOrder.Status != model.OrderStatusPlaced || placedOrder.CancelReason != nil || !placedOrder.CreateTime.Equal(placed) ||
		placedOrder.Items[0].UnitPriceMinor != 150 {
		t.Errorf("placed order = %+v", placedOrder)
	}

	if cancelled.Status != model.OrderStatusCancelled || cancelled.CancelReason == nil || *cancelled.CancelReason != "late" {
		t.Errorf("cancelled order = %+v", cancelled)
	}
}

func TestTheLastPageHasNoCursorToFollow(t *testing.T) {
	t.Parallel()

	fake := &fakeOrders{resp: &ordersv1.ListOrdersResponse{}}
	q := Query{&Resolver{client: fake}}

	conn, err := q.Orders(t.Context(), nil, nil)
	if err != nil || conn.PageInfo.HasNextPage || conn.PageInfo.EndCursor != nil || len(conn.Edges) != 0 {
		t.Errorf("empty page = %+v, %v", conn, err)
	}

	if fake.got.GetPageSize() != 0 || fake.got.GetPageToken() != "" {
		t.Errorf("ListOrders(%v) without first and after, want the defaults", fake.got)
	}
}
