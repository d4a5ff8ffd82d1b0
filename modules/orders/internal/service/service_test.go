package service_test

import (
	"context"
	"encoding/base64"
	stderrors "errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/open-feature/go-sdk/openfeature"
	"go.jetify.com/typeid"
	"go.uber.org/mock/gomock"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	ordersv1 "github.com/modulith/modulith/gen/go/orders/v1"
	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/authz"
	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/repo/repotest"
	orderevents "github.com/modulith/modulith/modules/orders/events"
	"github.com/modulith/modulith/modules/orders/internal/models"
	"github.com/modulith/modulith/modules/orders/internal/repository"
	"github.com/modulith/modulith/modules/orders/internal/repository/mocks"
	"github.com/modulith/modulith/modules/orders/internal/service"
)

const (
	callerID = "user_01jpcaller"
	otherID  = "user_01jpother"

	adminID = "user_01jpadmin"

	callerEmail = "caller@example.com"
	callerPhone = "+15551234567"

	// testOrderID is a valid TypeID, so that only what a test changes in a
	// page token makes it invalid.
	testOrderID = "order_01m7yk86bpfasrw5f3r9c3cx7b"
)

// testNow is what the service must read from clock: clock answers it in
// another zone and with nanoseconds, which the service drops.
var (
	testNow = time.Date(2026, time.March, 14, 15, 9, 26, 123456000, time.UTC)
	clock   = func() time.Time { return testNow.Add(789 * time.Nanosecond).In(time.FixedZone("CET", 3600)) }
)

// errStore stands for any failure of the repository that is not a domain
// error; the service must return it as is.
var errStore = fmt.Errorf("store: connection reset")

// fakeUsers is the auth module as the service sees it: it answers every
// GetProfile with the user id and its contacts, or with err, and counts
// the calls.
type fakeUsers struct {
	id, email, phone string
	err              error

	mu     sync.Mutex
	calls  int
	caller authn.Identity // the identity in the context of the last call
}

func (f *fakeUsers) GetProfile(ctx context.Context, _ *authv1.GetProfileRequest, _ ...grpc.CallOption) (*authv1.GetProfileResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()

	f.calls++
	f.caller, _ = authn.FromContext(ctx)

	if f.err != nil {
		return nil, f.err
	}

	return &authv1.GetProfileResponse{User: &authv1.User{Id: f.id, Email: f.email, Phone: f.phone, Role: authz.RoleUser}}, nil
}

func (f *fakeUsers) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()

	return f.calls
}

// fakeFlags answers the flags in off as false, every other flag with the
// code's default, and records the caller of the last evaluation.
type fakeFlags struct {
	off map[string]bool

	mu     sync.Mutex
	caller authn.Identity
}

func (f *fakeFlags) Boolean(ctx context.Context, flag string, def bool, _ openfeature.EvaluationContext, _ ...openfeature.Option) bool {
	f.mu.Lock()
	defer f.mu.Unlock()

	f.caller, _ = authn.FromContext(ctx)

	return def && !f.off[flag]
}

// fixture is a service on strict mocks. Calls inside a transaction go to
// tx, every other call to repo, so a test fails when the service reads,
// writes or publishes outside the transaction it should use: repo expects
// no Publish at all, and tx only while a transaction's function runs.
type fixture struct {
	t     *testing.T
	svc   *service.Service
	repo  *mocks.MockRepository
	tx    *mocks.MockRepository
	users *fakeUsers
	flags *fakeFlags

	txs *repotest.Txs[repository.Repository] // the transactions: what they published, committed or not
}

// newFixture builds a service on the fixed clock, with auth answering
// GetProfile as the caller, who has an email address.
func newFixture(t *testing.T) *fixture {
	t.Helper()

	ctrl := gomock.NewController(t)
	f := &fixture{t: t, repo: mocks.NewMockRepository(ctrl), tx: mocks.NewMockRepository(ctrl), users: &fakeUsers{id: callerID, email: callerEmail}}
	f.txs = repotest.New[repository.Repository](t, f.tx)
	f.flags = &fakeFlags{}
	f.svc = service.New(f.repo, f.users, f.flags, clock)

	return f
}

// expectTx expects one transaction and runs its function on f.tx.
func (f *fixture) expectTx() {
	f.repo.EXPECT().WithTx(gomock.Any(), gomock.Any()).DoAndReturn(f.txs.Run)
}

// expectPublish expects one event published in the running transaction,
// records it and answers err.
func (f *fixture) expectPublish(err error) *gomock.Call {
	return f.tx.EXPECT().Publish(gomock.Any(), gomock.Any()).DoAndReturn(f.txs.Publish(err))
}

var userPerms = []string{service.PermCreate, service.PermRead, service.PermCancel}

// asUser returns a context authenticated as userID with role user and the
// orders permissions.
func asUser(t *testing.T, userID string) context.Context {
	t.Helper()

	return authn.NewContext(t.Context(), authn.Identity{UserID: userID, SessionID: "sess_01jp", Role: authz.RoleUser, Permissions: userPerms})
}

func asAdmin(t *testing.T) context.Context {
	t.Helper()

	return authn.NewContext(t.Context(), authn.Identity{UserID: adminID, SessionID: "sess_01jp", Role: authz.RoleAdmin, Permissions: []string{authz.Wildcard}})
}

// outcome is the error a call must end with: a domain error with typ and
// code, or err itself (nil for success).
type outcome struct {
	err  error
	typ  errors.Type
	code errors.Code
}

var (
	succeeded    = outcome{}
	failedAsIs   = outcome{err: errStore}
	notFound     = outcome{typ: errors.TypeNotFound, code: errors.CodeNotFound}
	authRequired = outcome{typ: errors.TypeUnauthorized, code: errors.CodeAuthRequired}
	forbidden    = outcome{typ: errors.TypeForbidden, code: errors.CodeForbidden}
	unavailable  = outcome{typ: errors.TypeUnavailable, code: errors.CodeUnavailable}
	conflict     = outcome{typ: errors.TypeConflict, code: errors.CodeConflict}
	invalid      = outcome{typ: errors.TypeValidation, code: errors.CodeValidationFailed}
)

func wantOutcome(t *testing.T, op string, err error, want outcome) {
	t.Helper()

	if want.code != "" {
		if !errors.IsType(err, want.typ) || !errors.HasCode(err, want.code) {
			t.Fatalf("%s error = %v, want type %s, code %s", op, err, want.typ, want.code)
		}

		return
	}

	if !stderrors.Is(err, want.err) || (want.err == nil && err != nil) {
		t.Fatalf("%s error = %v, want %v", op, err, want.err)
	}
}

// placed is a placed order of userID with two items.
func placed(userID string) models.Order {
	created := testNow.Add(-time.Hour)

	return models.Order{
		ID: testOrderID, UserID: userID, Status: models.StatusPlaced, Currency: "EUR", TotalMinor: 3300,
		Items:     []models.Item{{SKU: "A-1", Quantity: 2, UnitPriceMinor: 150}, {SKU: "B-2", Quantity: 3, UnitPriceMinor: 1000}},
		CreatedAt: created, UpdatedAt: created,
	}
}

// protoOrder is the API form of o, written out field by field.
func protoOrder(o models.Order) *ordersv1.Order {
	st := ordersv1.OrderStatus_ORDER_STATUS_PLACED
	if o.Status == models.StatusCancelled {
		st = ordersv1.OrderStatus_ORDER_STATUS_CANCELLED
	}

	out := &ordersv1.Order{
		Id: o.ID, UserId: o.UserID, Status: st, Currency: o.Currency, TotalMinor: o.TotalMinor, CancelReason: o.CancelReason,
		CreateTime: timestamppb.New(o.CreatedAt), UpdateTime: timestamppb.New(o.UpdatedAt),
	}
	for _, it := range o.Items {
		out.Items = append(out.Items, &ordersv1.OrderItem{Sku: it.SKU, Quantity: it.Quantity, UnitPriceMinor: it.UnitPriceMinor})
	}

	return out
}

func createRequest() *ordersv1.CreateOrderRequest {
	return &ordersv1.CreateOrderRequest{Currency: "EUR", Items: []*ordersv1.OrderItem{
		{Sku: "A-1", Quantity: 2, UnitPriceMinor: 150},
		{Sku: "B-2", Quantity: 3, UnitPriceMinor: 1000},
	}}
}

// endpoint calls one endpoint of the service with a valid request.
type endpoint struct {
	name string
	perm string
	call func(ctx context.Context, svc *service.Service) error
}

var endpoints = []endpoint{
	{name: "CreateOrder", perm: service.PermCreate, call: func(ctx context.Context, svc *service.Service) error {
		_, err := svc.CreateOrder(ctx, createRequest())

		return err
	}},
	{name: "GetOrder", perm: service.PermRead, call: func(ctx context.Context, svc *service.Service) error {
		_, err := svc.GetOrder(ctx, &ordersv1.GetOrderRequest{OrderId: testOrderID})

		return err
	}},
	{name: "ListOrders", perm: service.PermRead, call: func(ctx context.Context, svc *service.Service) error {
		_, err := svc.ListOrders(ctx, &ordersv1.ListOrdersRequest{})

		return err
	}},
	{name: "CancelOrder", perm: service.PermCancel, call: func(ctx context.Context, svc *service.Service) error {
		_, err := svc.CancelOrder(ctx, &ordersv1.CancelOrderRequest{OrderId: testOrderID})

		return err
	}},
}

// TestEndpointsRequirePermission checks each endpoint refuses a caller
// without its permission before asking auth or touching storage (the
// strict mocks fail on any call).
func TestEndpointsRequirePermission(t *testing.T) {
	t.Parallel()

	for _, ep := range endpoints {
		var others []string // every orders permission but the endpoint's

		for _, p := range userPerms {
			if p != ep.perm {
				others = append(others, p)
			}
		}

		callers := []struct {
			name string
			id   *authn.Identity // nil: no identity at all
			want outcome
		}{
			{name: "anonymous", want: authRequired},
			{name: "no permissions", id: &authn.Identity{UserID: callerID, Role: "nobody"}, want: forbidden},
			{name: "the other orders permissions", id: &authn.Identity{UserID: callerID, Role: authz.RoleUser, Permissions: others}, want: forbidden},
		}

		for _, c := range callers {
			t.Run(ep.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()

				ctx := t.Context()
				if c.id != nil {
					ctx = authn.NewContext(ctx, *c.id)
				}

				f := newFixture(t)
				wantOutcome(t, ep.name, ep.call(ctx, f.svc), c.want)

				if n := f.users.callCount(); n != 0 {
					t.Errorf("%s asked auth for the profile %d times, want 0", ep.name, n)
				}
			})
		}
	}
}

func TestCreateOrder(t *testing.T) {
	t.Parallel()

	f := newFixture(t)

	var stored models.Order

	f.expectTx()
	gomock.InOrder(
		f.tx.EXPECT().CreateOrder(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, o models.Order) error {
			stored = o

			return nil
		}),
		f.expectPublish(nil),
	)

	resp, err := f.svc.CreateOrder(asUser(t, callerID), createRequest())
	if err != nil {
		t.Fatalf("CreateOrder() = %v", err)
	}

	id, err := typeid.FromString(stored.ID)
	if err != nil || id.Prefix() != "order" {
		t.Fatalf("stored order ID = %q (%v), want a TypeID with prefix order", stored.ID, err)
	}

	// Total: 2 × 150 + 3 × 1000.
	want := placed(callerID)
	want.ID, want.CreatedAt, want.UpdatedAt = stored.ID, testNow, testNow

	if diff := cmp.Diff(want, stored); diff != "" {
		t.Errorf("stored order (-want +got):\n%s", diff)
	}

	if diff := cmp.Diff(protoOrder(want), resp.GetOrder(), protocmp.Transform()); diff != "" {
		t.Errorf("CreateOrder() order (-want +got):\n%s", diff)
	}

	f.txs.WantCommitted(t, true)
	f.txs.WantPublished(t, orderevents.OrderCreated{
		OrderID: stored.ID, UserID: callerID, TotalMinor: 3300, Currency: "EUR", ItemCount: 2,
		Channel: "email", Destination: callerEmail,
	})

	if f.users.callCount() != 1 || f.users.caller.UserID != callerID {
		t.Errorf("GetProfile called %d times as %q, want once as the caller %q", f.users.callCount(), f.users.caller.UserID, callerID)
	}
}

// TestCreateOrderConfirmsToContact checks where order.created says the
// confirmation goes: the user's email address, else their phone, else
// nowhere (the order is placed all the same).
// TestCreateOrderKillSwitch: with orders.create_enabled off for the
// caller, CreateOrder refuses with ORDERS_PAUSED before asking auth or
// storing anything, having evaluated the flag for the caller.
func TestCreateOrderKillSwitch(t *testing.T) {
	t.Parallel()

	f := newFixture(t)
	f.flags.off = map[string]bool{service.FlagCreateEnabled: true}

	_, err := f.svc.CreateOrder(asUser(t, callerID), createRequest())
	wantOutcome(t, "CreateOrder", err, outcome{typ: errors.TypeUnavailable, code: service.CodeOrdersPaused})

	if n := f.users.callCount(); n != 0 {
		t.Errorf("asked auth for the profile %d times, want 0", n)
	}

	if f.flags.caller.UserID != callerID {
		t.Errorf("flag evaluated for %q, want the caller %q", f.flags.caller.UserID, callerID)
	}
}

func TestCreateOrderConfirmsToContact(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name, email, phone   string
		channel, destination string
	}{
		{name: "email and phone", email: callerEmail, phone: callerPhone, channel: "email", destination: callerEmail},
		{name: "phone only", phone: callerPhone, channel: "sms", destination: callerPhone},
		{name: "no contact"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := newFixture(t)
			f.users.email, f.users.phone = tt.email, tt.phone
			f.expectTx()
			f.tx.EXPECT().CreateOrder(gomock.Any(), gomock.Any())
			f.expectPublish(nil)

			if _, err := f.svc.CreateOrder(asUser(t, callerID), createRequest()); err != nil {
				t.Fatalf("CreateOrder() = %v", err)
			}

			if len(f.txs.Published) != 1 {
				t.Fatalf("published %v, want one order.created", f.txs.Published)
			}

			got, ok := f.txs.Published[0].(orderevents.OrderCreated)
			if !ok || got.Channel != tt.channel || got.Destination != tt.destination {
				t.Errorf("published %+v, want an order.created to %q %q", f.txs.Published[0], tt.channel, tt.destination)
			}
		})
	}
}

// TestCreateOrderIDsDiffer checks every order gets an identifier of its own.
func TestCreateOrderIDsDiffer(t *testing.T) {
	t.Parallel()

	f := newFixture(t)
	seen := make(map[string]bool)

	f.repo.EXPECT().WithTx(gomock.Any(), gomock.Any()).Times(3).DoAndReturn(
		func(_ context.Context, fn func(repository.Repository) error) error { return fn(f.tx) })
	f.tx.EXPECT().CreateOrder(gomock.Any(), gomock.Any()).Times(3).DoAndReturn(func(_ context.Context, o models.Order) error {
		if seen[o.ID] {
			t.Errorf("CreateOrder() reused the ID %q", o.ID)
		}

		seen[o.ID] = true

		return nil
	})
	f.tx.EXPECT().Publish(gomock.Any(), gomock.Any()).Times(3)

	for range 3 {
		if _, err := f.svc.CreateOrder(asUser(t, callerID), createRequest()); err != nil {
			t.Fatalf("CreateOrder() = %v", err)
		}
	}
}

// TestCreateOrderStorageFails checks a failed write or publication rolls
// the transaction back and reaches the caller as is.
func TestCreateOrderStorageFails(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name       string
		createErr  error
		publishErr error
		published  int
	}{
		{name: "create fails", createErr: errStore},
		{name: "publish fails", publishErr: errStore, published: 1},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := newFixture(t)
			f.expectTx()
			f.tx.EXPECT().CreateOrder(gomock.Any(), gomock.Any()).Return(tt.createErr)

			if tt.createErr == nil {
				f.expectPublish(tt.publishErr)
			}

			resp, err := f.svc.CreateOrder(asUser(t, callerID), createRequest())
			wantOutcome(t, "CreateOrder", err, failedAsIs)

			if resp != nil {
				t.Errorf("CreateOrder() = %v, want no response", resp)
			}

			f.txs.WantCommitted(t, false)

			if len(f.txs.Published) != tt.published {
				t.Errorf("published %d events, want %d", len(f.txs.Published), tt.published)
			}
		})
	}
}

// TestCreateOrderConfirmsTheCaller checks an order is placed only once
// auth confirms the caller's own account; nothing is written otherwise.
func TestCreateOrderConfirmsTheCaller(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		id      string // the user auth answers with
		err     error  // or auth's error
		outcome outcome
	}{
		{name: "another user's profile", id: otherID, outcome: authRequired},
		{name: "no profile", outcome: authRequired},
		{name: "unauthenticated", err: status.Error(codes.Unauthenticated, "session revoked"), outcome: authRequired},
		{name: "account gone", err: status.Error(codes.NotFound, "user not found"), outcome: authRequired},
		{name: "permission denied", err: status.Error(codes.PermissionDenied, "no"), outcome: authRequired},
		{name: "auth unavailable", err: status.Error(codes.Unavailable, "connection refused"), outcome: unavailable},
		{name: "auth too slow", err: status.Error(codes.DeadlineExceeded, "deadline"), outcome: unavailable},
		{name: "auth fails", err: status.Error(codes.Internal, "boom"), outcome: unavailable},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := newFixture(t)
			f.users.id, f.users.err = tt.id, tt.err

			resp, err := f.svc.CreateOrder(asUser(t, callerID), createRequest())
			wantOutcome(t, "CreateOrder", err, tt.outcome)

			if resp != nil {
				t.Errorf("CreateOrder() = %v, want no response", resp)
			}
		})
	}
}

func TestGetOrder(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		ctx     func(t *testing.T) context.Context
		repoErr error
		want    *ordersv1.Order
		outcome outcome
	}{
		{name: "owner", ctx: func(t *testing.T) context.Context { return asUser(t, callerID) }, want: protoOrder(placed(callerID)), outcome: succeeded},
		{name: "admin", ctx: asAdmin, want: protoOrder(placed(callerID)), outcome: succeeded},
		{name: "another user", ctx: func(t *testing.T) context.Context { return asUser(t, otherID) }, outcome: notFound},
		{name: "missing", ctx: func(t *testing.T) context.Context { return asUser(t, callerID) }, repoErr: errors.NotFound("order not found"), outcome: notFound},
		{name: "store down", ctx: func(t *testing.T) context.Context { return asUser(t, callerID) }, repoErr: errStore, outcome: failedAsIs},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := newFixture(t)

			o := placed(callerID)
			if tt.repoErr != nil {
				o = models.Order{}
			}

			f.repo.EXPECT().Order(gomock.Any(), testOrderID).Return(o, tt.repoErr)

			resp, err := f.svc.GetOrder(tt.ctx(t), &ordersv1.GetOrderRequest{OrderId: testOrderID})
			wantOutcome(t, "GetOrder", err, tt.outcome)

			if diff := cmp.Diff(tt.want, resp.GetOrder(), protocmp.Transform()); diff != "" {
				t.Errorf("GetOrder() order (-want +got):\n%s", diff)
			}
		})
	}
}

// ordersOf returns n orders of userID, newest first, as the repository
// would.
func ordersOf(t *testing.T, userID string, n int) []models.Order {
	t.Helper()

	out := make([]models.Order, n)
	for i := range out {
		id, err := typeid.WithPrefix("order")
		if err != nil {
			t.Fatalf("typeid.WithPrefix(order) = %v", err)
		}

		out[n-1-i] = placed(userID)
		out[n-1-i].ID = id.String()
	}

	return out
}

func protoOrders(orders []models.Order) []*ordersv1.Order {
	var out []*ordersv1.Order
	for _, o := range orders {
		out = append(out, protoOrder(o))
	}

	return out
}

func TestListOrders(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name      string
		size      int32
		wantLimit int32
		rows      int // rows the repository returns
		wantRows  int // orders in the response
		wantNext  bool
	}{
		{name: "default size, one page", wantLimit: 21, rows: 3, wantRows: 3},
		{name: "default size, full page", wantLimit: 21, rows: 20, wantRows: 20},
		{name: "default size, more follow", wantLimit: 21, rows: 21, wantRows: 20, wantNext: true},
		{name: "size 2, more follow", size: 2, wantLimit: 3, rows: 3, wantRows: 2, wantNext: true},
		{name: "size 2, exactly", size: 2, wantLimit: 3, rows: 2, wantRows: 2},
		{name: "none", size: 5, wantLimit: 6},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := newFixture(t)
			rows := ordersOf(t, callerID, tt.rows)
			f.repo.EXPECT().Orders(gomock.Any(), callerID, "", tt.wantLimit).Return(rows, nil)

			resp, err := f.svc.ListOrders(asUser(t, callerID), &ordersv1.ListOrdersRequest{PageSize: tt.size})
			if err != nil {
				t.Fatalf("ListOrders(size %d) = %v", tt.size, err)
			}

			if diff := cmp.Diff(protoOrders(rows[:tt.wantRows]), resp.GetOrders(), protocmp.Transform()); diff != "" {
				t.Errorf("ListOrders(size %d) orders (-want +got):\n%s", tt.size, diff)
			}

			if got := resp.GetNextPageToken() != ""; got != tt.wantNext {
				t.Errorf("ListOrders(size %d) next page token = %q, want one: %t", tt.size, resp.GetNextPageToken(), tt.wantNext)
			}
		})
	}
}

// TestListOrdersNextPage checks the next page token leads the next call
// past the last order returned, for the caller, admin or not.
func TestListOrdersNextPage(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		ctx    func(t *testing.T) context.Context
		userID string
	}{
		{name: "user", ctx: func(t *testing.T) context.Context { return asUser(t, callerID) }, userID: callerID},
		{name: "admin lists its own", ctx: asAdmin, userID: adminID},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := newFixture(t)
			rows := ordersOf(t, tt.userID, 5)

			gomock.InOrder(
				f.repo.EXPECT().Orders(gomock.Any(), tt.userID, "", int32(3)).Return(rows[:3], nil),
				f.repo.EXPECT().Orders(gomock.Any(), tt.userID, rows[1].ID, int32(3)).Return(rows[2:], nil),
			)

			first, err := f.svc.ListOrders(tt.ctx(t), &ordersv1.ListOrdersRequest{PageSize: 2})
			if err != nil || first.GetNextPageToken() == "" {
				t.Fatalf("ListOrders(size 2) = %v, %v; want a next page token", first, err)
			}

			second, err := f.svc.ListOrders(tt.ctx(t), &ordersv1.ListOrdersRequest{PageSize: 2, PageToken: first.GetNextPageToken()})
			if err != nil {
				t.Fatalf("ListOrders(size 2, %q) = %v", first.GetNextPageToken(), err)
			}

			if diff := cmp.Diff(protoOrders(rows[2:4]), second.GetOrders(), protocmp.Transform()); diff != "" {
				t.Errorf("second page (-want +got):\n%s", diff)
			}

			if second.GetNextPageToken() == "" {
				t.Errorf("second page has no next page token, want one (the repository returned size+1 rows)")
			}
		})
	}
}

func TestListOrdersRejectsForeignTokens(t *testing.T) {
	t.Parallel()

	userID, err := typeid.WithPrefix("user")
	if err != nil {
		t.Fatalf("typeid.WithPrefix(user) = %v", err)
	}

	tests := []struct {
		name  string
		token string
	}{
		{name: "not base64", token: "!!not a token!!"},
		{name: "padded base64", token: base64.URLEncoding.EncodeToString([]byte(testOrderID))},
		{name: "not a TypeID", token: base64.RawURLEncoding.EncodeToString([]byte("order_nope"))},
		{name: "a user ID", token: base64.RawURLEncoding.EncodeToString([]byte(userID.String()))},
		{name: "a bare ID", token: base64.RawURLEncoding.EncodeToString([]byte(testOrderID[len("order_"):]))},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := newFixture(t)

			_, err := f.svc.ListOrders(asUser(t, callerID), &ordersv1.ListOrdersRequest{PageToken: tt.token})
			wantOutcome(t, fmt.Sprintf("ListOrders(token %q)", tt.token), err, invalid)

			var de *errors.DomainError
			if !stderrors.As(err, &de) || len(de.Fields) != 1 || de.Fields[0].Field != "page_token" {
				t.Errorf("ListOrders(token %q) error = %#v, want one violation on page_token", tt.token, err)
			}
		})
	}
}

func TestListOrdersStoreFails(t *testing.T) {
	t.Parallel()

	f := newFixture(t)
	f.repo.EXPECT().Orders(gomock.Any(), callerID, "", int32(21)).Return(nil, errStore)

	resp, err := f.svc.ListOrders(asUser(t, callerID), &ordersv1.ListOrdersRequest{})
	wantOutcome(t, "ListOrders", err, failedAsIs)

	if resp != nil {
		t.Errorf("ListOrders() = %v, want no response", resp)
	}
}

func TestCancelOrder(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		ctx  func(t *testing.T) context.Context
	}{
		{name: "owner", ctx: func(t *testing.T) context.Context { return asUser(t, callerID) }},
		{name: "admin", ctx: asAdmin},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := newFixture(t)
			f.expectTx()
			gomock.InOrder(
				f.tx.EXPECT().LockOrder(gomock.Any(), testOrderID).Return(placed(callerID), nil),
				f.tx.EXPECT().CancelOrder(gomock.Any(), testOrderID, "changed my mind", testNow),
				f.expectPublish(nil),
			)

			resp, err := f.svc.CancelOrder(tt.ctx(t), &ordersv1.CancelOrderRequest{OrderId: testOrderID, Reason: "changed my mind"})
			if err != nil {
				t.Fatalf("CancelOrder() = %v", err)
			}

			want := placed(callerID)
			want.Status, want.CancelReason, want.UpdatedAt = models.StatusCancelled, "changed my mind", testNow

			if diff := cmp.Diff(protoOrder(want), resp.GetOrder(), protocmp.Transform()); diff != "" {
				t.Errorf("CancelOrder() order (-want +got):\n%s", diff)
			}

			f.txs.WantCommitted(t, true)
			f.txs.WantPublished(t, orderevents.OrderCancelled{OrderID: testOrderID, UserID: callerID, Reason: "changed my mind"})
		})
	}
}

// TestCancelOrderRefuses checks a cancellation that may not happen writes
// nothing, publishes nothing and rolls back.
func TestCancelOrderRefuses(t *testing.T) {
	t.Parallel()

	cancelled := placed(callerID)
	cancelled.Status, cancelled.CancelReason = models.StatusCancelled, "earlier"

	tests := []struct {
		name    string
		caller  string
		order   models.Order
		lockErr error
		outcome outcome
	}{
		{name: "already cancelled", caller: callerID, order: cancelled, outcome: conflict},
		{name: "another user's", caller: otherID, order: placed(callerID), outcome: notFound},
		{name: "another user's, cancelled", caller: otherID, order: cancelled, outcome: notFound},
		{name: "missing", caller: callerID, lockErr: errors.NotFound("order not found"), outcome: notFound},
		{name: "store down", caller: callerID, lockErr: errStore, outcome: failedAsIs},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := newFixture(t)
			f.expectTx()
			f.tx.EXPECT().LockOrder(gomock.Any(), testOrderID).Return(tt.order, tt.lockErr)

			resp, err := f.svc.CancelOrder(asUser(t, tt.caller), &ordersv1.CancelOrderRequest{OrderId: testOrderID, Reason: "x"})
			wantOutcome(t, "CancelOrder", err, tt.outcome)

			if resp != nil {
				t.Errorf("CancelOrder() = %v, want no response", resp)
			}

			f.txs.WantCommitted(t, false)
			f.txs.WantPublished(t)
		})
	}
}

func TestCancelOrderPublishFails(t *testing.T) {
	t.Parallel()

	f := newFixture(t)
	f.expectTx()
	gomock.InOrder(
		f.tx.EXPECT().LockOrder(gomock.Any(), testOrderID).Return(placed(callerID), nil),
		f.tx.EXPECT().CancelOrder(gomock.Any(), testOrderID, "", testNow),
		f.expectPublish(errStore),
	)

	_, err := f.svc.CancelOrder(asUser(t, callerID), &ordersv1.CancelOrderRequest{OrderId: testOrderID})
	wantOutcome(t, "CancelOrder", err, failedAsIs)
	f.txs.WantCommitted(t, false)
}

// TestNewWallClock checks a service without a clock stamps orders with
// the current time, in UTC and at PostgreSQL's microsecond precision.
func TestNewWallClock(t *testing.T) {
	t.Parallel()

	ctrl := gomock.NewController(t)
	repo, tx := mocks.NewMockRepository(ctrl), mocks.NewMockRepository(ctrl)
	svc := service.New(repo, &fakeUsers{id: callerID}, &fakeFlags{}, nil)

	var stored models.Order

	repo.EXPECT().WithTx(gomock.Any(), gomock.Any()).DoAndReturn(
		func(_ context.Context, fn func(repository.Repository) error) error { return fn(tx) })
	tx.EXPECT().CreateOrder(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, o models.Order) error {
		stored = o

		return nil
	})
	tx.EXPECT().Publish(gomock.Any(), gomock.Any())

	before := time.Now().Truncate(time.Microsecond)

	if _, err := svc.CreateOrder(asUser(t, callerID), createRequest()); err != nil {
		t.Fatalf("CreateOrder() = %v", err)
	}

	c := stored.CreatedAt
	if c.Location() != time.UTC || c.Before(before) || c.After(time.Now()) || c.Nanosecond()%1000 != 0 || !stored.UpdatedAt.Equal(c) {
		t.Errorf("stored order created %v, updated %v; want the current time in UTC, in microseconds", c, stored.UpdatedAt)
	}
}
