package registry_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"
	"google.golang.org/grpc"

	"github.com/modulith/modulith/internal/admin"
	"github.com/modulith/modulith/internal/apiversion"
	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/authz"
	"github.com/modulith/modulith/internal/config"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/feature"
	"github.com/modulith/modulith/internal/migration"
	"github.com/modulith/modulith/internal/notifier"
	"github.com/modulith/modulith/internal/registry"
	"github.com/modulith/modulith/internal/scheduler"
	"github.com/modulith/modulith/internal/secrets"
	"github.com/modulith/modulith/internal/websocket"
)

// journal records, in order, what the registry asked the fake modules to
// do. Init runs the modules one after the other, so it needs no lock.
type journal struct{ entries []string }

func (j *journal) add(entry string) { j.entries = append(j.entries, entry) }

// fake is a module with none of the optional interfaces: Init records its
// name and runs init, if any, with the host.
type fake struct {
	name string
	j    *journal
	init func(h registry.Host) error
}

func (m *fake) Name() string { return m.name }

func (m *fake) Init(h registry.Host) error {
	m.j.add("init " + m.name)

	if m.init == nil {
		return nil
	}

	return m.init(h)
}

// remote is a Remote module: InitRemote records its name and runs
// initRemote, if any, with the remote host.
type remote struct {
	*fake

	initRemote func(h registry.RemoteHost) error
}

func (m *remote) InitRemote(h registry.RemoteHost) error {
	m.j.add("remote " + m.name)

	if m.initRemote == nil {
		return nil
	}

	return m.initRemote(h)
}

// migrator is a module with migrations only.
type migrator struct {
	*fake

	migrations fs.FS
}

func (m *migrator) Migrations() fs.FS { return m.migrations }

// seeder is a module with seeds only.
type seeder struct {
	*fake

	seeds fs.FS
}

func (m *seeder) Seeds() fs.FS { return m.seeds }

// withFiles is a module with migrations and seeds (nil = none).
type withFiles struct {
	*fake

	migrations, seeds fs.FS
}

func (m *withFiles) Migrations() fs.FS { return m.migrations }

func (m *withFiles) Seeds() fs.FS { return m.seeds }

// fakes returns a function that builds fake modules sharing one journal.
func fakes() (func(name string) *fake, *journal) {
	j := &journal{}

	return func(name string) *fake { return &fake{name: name, j: j} }, j
}

// hostOf initializes, on a registry of deps, one module named name whose
// Init runs init, and returns the registry and Init's error.
func hostOf(deps registry.Deps, name string, init func(h registry.Host) error) (*registry.Registry, error) {
	mod, _ := fakes()
	m := mod(name)
	m.init = init
	r := registry.New(deps)

	return r, r.Init(&fakeConn{}, m)
}

func names(modules []registry.Module) []string {
	out := make([]string, 0, len(modules))
	for _, m := range modules {
		out = append(out, m.Name())
	}

	return out
}

func TestInitInOrder(t *testing.T) {
	t.Parallel()

	mod, j := fakes()
	r := registry.New(registry.Deps{})

	if err := r.Init(&fakeConn{}, mod("b"), mod("a"), mod("c")); err != nil {
		t.Fatalf("Init() = %v", err)
	}

	if diff := cmp.Diff([]string{"init b", "init a", "init c"}, j.entries); diff != "" {
		t.Errorf("Init() calls mismatch (-want +got):\n%s", diff)
	}

	got := r.Modules()
	if diff := cmp.Diff([]string{"b", "a", "c"}, names(got)); diff != "" {
		t.Errorf("Modules() mismatch (-want +got):\n%s", diff)
	}

	got[0] = mod("z")

	if first := r.Modules()[0].Name(); first != "b" {
		t.Errorf("changing the slice Modules() returned changed the registry: first = %q", first)
	}
}

// TestInitRemote checks that a module REMOTE_MODULES names gets
// InitRemote, with the connection to its process, instead of Init; and
// that one that is not a Remote is not initialized at all.
func TestInitRemote(t *testing.T) {
	t.Parallel()

	mod, j := fakes()
	conn, other := &fakeConn{}, &fakeConn{}

	var gotConn grpc.ClientConnInterface

	b := &remote{fake: mod("b"), initRemote: func(h registry.RemoteHost) error {
		gotConn = h.Conn()

		return nil
	}}
	r := registry.New(registry.Deps{Remote: map[string]grpc.ClientConnInterface{"b": conn, "c": other}})

	if err := r.Init(&fakeConn{}, mod("a"), b, mod("c"), mod("d")); err != nil {
		t.Fatalf("Init() = %v", err)
	}

	if diff := cmp.Diff([]string{"init a", "remote b", "init d"}, j.entries); diff != "" {
		t.Errorf("Init() calls mismatch (-want +got):\n%s", diff)
	}

	if gotConn != conn {
		t.Errorf("InitRemote got Conn() = %p, want the REMOTE_MODULES connection %p", gotConn, conn)
	}

	if diff := cmp.Diff([]string{"a", "d"}, names(r.Modules())); diff != "" {
		t.Errorf("Modules() mismatch (-want +got):\n%s", diff)
	}
}

// TestInitLocalRemoteModule checks that a Remote module that runs in this
// process gets Init, not InitRemote.
func TestInitLocalRemoteModule(t *testing.T) {
	t.Parallel()

	mod, j := fakes()

	if err := registry.New(registry.Deps{}).Init(&fakeConn{}, &remote{fake: mod("a")}); err != nil {
		t.Fatalf("Init() = %v", err)
	}

	if diff := cmp.Diff([]string{"init a"}, j.entries); diff != "" {
		t.Errorf("Init() calls mismatch (-want +got):\n%s", diff)
	}
}

func TestInitRefusesNames(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name  string
		names []string
		ok    bool
	}{
		{name: "valid", names: []string{"auth", "a", "order_items2", "a" + strings.Repeat("b", 30)}, ok: true},
		{name: "too long", names: []string{"auth", "a" + strings.Repeat("b", 31)}},
		{name: "empty", names: []string{"auth", ""}},
		{name: "upper case", names: []string{"auth", "Auth"}},
		{name: "leading digit", names: []string{"auth", "1auth"}},
		{name: "leading underscore", names: []string{"auth", "_auth"}},
		{name: "dash", names: []string{"auth", "auth-x"}},
		{name: "dot", names: []string{"auth", "auth.x"}},
		{name: "space", names: []string{"auth", "auth x"}},
		{name: "newline", names: []string{"auth", "auth\n"}},
		{name: "not ASCII", names: []string{"auth", "ñ"}},
		{name: "duplicate", names: []string{"auth", "orders", "auth"}},
		{name: "events schema", names: []string{"auth", events.SchemaName}},
		{name: "scheduler schema", names: []string{"auth", scheduler.SchemaName}},
		{name: "feature flags schema", names: []string{"auth", feature.SchemaName}},
		// A module named after the first word of a platform setting would
		// read it through its own section (JWT_SECRET for "jwt").
		{name: "JWT settings", names: []string{"auth", "jwt"}},
		{name: "database settings", names: []string{"auth", "db"}},
		{name: "SMTP settings", names: []string{"auth", "smtp"}},
		{name: "NATS settings", names: []string{"auth", "nats"}},
		{name: "WebSocket settings", names: []string{"auth", "ws"}},
		{name: "websocket section", names: []string{"auth", "websocket"}},
		{name: "worker section", names: []string{"auth", "worker"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			mod, j := fakes()

			var modules []registry.Module
			for _, name := range tt.names {
				modules = append(modules, mod(name))
			}

			err := registry.New(registry.Deps{}).Init(&fakeConn{}, modules...)
			if (err == nil) != tt.ok {
				t.Fatalf("Init(%q) = %v, want ok %t", tt.names, err, tt.ok)
			}

			// The names are checked before any module is built.
			if !tt.ok && len(j.entries) != 0 {
				t.Errorf("Init(%q) initialized %q before refusing the names, want none", tt.names, j.entries)
			}
		})
	}
}

// TestRegisterAfterInitPanics: the servers read what modules registered
// without locks, so a module that kept its host and registers after Init
// is stopped loudly, whatever it registers.
func TestRegisterAfterInitPanics(t *testing.T) {
	t.Parallel()

	registrations := map[string]func(h registry.Host){
		"Serve":           func(h registry.Host) { h.Serve() },
		"Public":          func(h registry.Host) { h.Public() },
		"Grant":           func(h registry.Host) { h.Grant("user") },
		"Realtime":        func(h registry.Host) { h.Realtime() },
		"Tasks":           func(h registry.Host) { h.Tasks() },
		"ProvideSessions": func(h registry.Host) { h.ProvideSessions(nil) },
	}
	for name, register := range registrations {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			var kept registry.Host

			if _, err := hostOf(registry.Deps{}, "auth", func(h registry.Host) error {
				kept = h

				return nil
			}); err != nil {
				t.Fatal(err)
			}

			defer func() {
				if p := recover(); p == nil || !strings.Contains(fmt.Sprint(p), name) {
					t.Errorf("%s after Init: recovered %v, want a panic naming %s", name, p, name)
				}
			}()

			register(kept)
		})
	}
}

func TestInitTwice(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		channel grpc.ClientConnInterface
	}{
		{name: "with a channel", channel: &fakeConn{}},
		{name: "without a channel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			mod, j := fakes()
			r := registry.New(registry.Deps{})

			if err := r.Init(tt.channel, mod("a")); err != nil {
				t.Fatalf("Init() = %v", err)
			}

			if err := r.Init(tt.channel, mod("b")); err == nil {
				t.Error("second Init() = nil, want an error")
			}

			if diff := cmp.Diff([]string{"init a"}, j.entries); diff != "" {
				t.Errorf("modules initialized again (-want +got):\n%s", diff)
			}
		})
	}
}

// TestInitAfterRefusedNames checks that Init does not run again even when
// the first call refused the names.
func TestInitAfterRefusedNames(t *testing.T) {
	t.Parallel()

	mod, j := fakes()
	r := registry.New(registry.Deps{})

	if err := r.Init(&fakeConn{}, mod("a"), mod("a")); err == nil {
		t.Fatal("Init(a, a) = nil, want an error")
	}

	if err := r.Init(&fakeConn{}, mod("a")); err == nil {
		t.Error("Init() after a failed Init = nil, want an error")
	}

	if len(j.entries) != 0 {
		t.Errorf("Init() calls = %q, want none", j.entries)
	}
}

func TestInitStopsAtTheFirstError(t *testing.T) {
	t.Parallel()

	errInit := errors.New("bad config")

	tests := []struct {
		name   string
		remote bool // REMOTE_MODULES names the failing module
		failed func(m *fake) registry.Module
		want   []string
	}{
		{
			name: "Init",
			failed: func(m *fake) registry.Module {
				m.init = func(registry.Host) error { return errInit }

				return m
			},
			want: []string{"init a", "init broken"},
		},
		{
			name: "InitRemote", remote: true,
			failed: func(m *fake) registry.Module {
				return &remote{fake: m, initRemote: func(registry.RemoteHost) error { return errInit }}
			},
			want: []string{"init a", "remote broken"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			mod, j := fakes()

			var deps registry.Deps
			if tt.remote {
				deps.Remote = map[string]grpc.ClientConnInterface{"broken": &fakeConn{}}
			}

			err := registry.New(deps).Init(&fakeConn{}, mod("a"), tt.failed(mod("broken")), mod("c"))
			if !errors.Is(err, errInit) || !strings.Contains(err.Error(), "broken") {
				t.Errorf("Init() = %v, want it to wrap %v and name module broken", err, errInit)
			}

			if diff := cmp.Diff(tt.want, j.entries); diff != "" {
				t.Errorf("Init() calls mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// registrar is a grpc.ServiceRegistrar that records the services
// registered on it.
type registrar struct{ services []string }

func (r *registrar) RegisterService(desc *grpc.ServiceDesc, _ any) {
	r.services = append(r.services, desc.ServiceName)
}

// gateways records the REST handlers registered and the connection they
// were given.
type gateways struct {
	services []string
	conns    []grpc.ClientConnInterface
}

// api returns an API of service that registers on a registrar and, when
// gw is not nil, records its gateway in gw.
func api(service string, gw *gateways) apiversion.API {
	a := apiversion.API{
		Service:      &grpc.ServiceDesc{ServiceName: service},
		RegisterGRPC: func(s grpc.ServiceRegistrar) { s.RegisterService(&grpc.ServiceDesc{ServiceName: service}, nil) },
	}
	if gw != nil {
		a.RegisterGateway = func(_ context.Context, _ *runtime.ServeMux, conn grpc.ClientConnInterface) error {
			gw.services = append(gw.services, service)
			gw.conns = append(gw.conns, conn)

			return nil
		}
	}

	return a
}

func TestServe(t *testing.T) {
	t.Parallel()

	mod, _ := fakes()
	gw := &gateways{}
	auth, orders := mod("auth"), mod("orders")
	auth.init = func(h registry.Host) error {
		h.Serve(api("auth.v1.AuthService", gw), api("auth.v2.AuthService", gw))

		return nil
	}
	orders.init = func(h registry.Host) error {
		h.Serve(api("orders.v1.OrderService", nil))

		return nil
	}

	r := registry.New(registry.Deps{})
	if err := r.Init(&fakeConn{}, auth, orders); err != nil {
		t.Fatalf("Init() = %v", err)
	}

	s := &registrar{}
	r.RegisterGRPC(s)

	want := []string{"auth.v1.AuthService", "auth.v2.AuthService", "orders.v1.OrderService"}
	if diff := cmp.Diff(want, s.services); diff != "" {
		t.Errorf("RegisterGRPC() services mismatch (-want +got):\n%s", diff)
	}

	conn := &fakeConn{}
	if err := r.RegisterGateway(t.Context(), runtime.NewServeMux(), conn); err != nil {
		t.Fatalf("RegisterGateway() = %v", err)
	}

	// orders' API has no REST bindings.
	if diff := cmp.Diff([]string{"auth.v1.AuthService", "auth.v2.AuthService"}, gw.services); diff != "" {
		t.Errorf("RegisterGateway() services mismatch (-want +got):\n%s", diff)
	}

	for _, got := range gw.conns {
		if got != conn {
			t.Errorf("RegisterGateway() handed the handlers %p, want the connection it was given %p", got, conn)
		}
	}
}

// TestServeRemote checks that a remote module's APIs reach the gateway
// over the module's own connection, and never the gRPC server; and that
// a remote module cannot route another module's service.
func TestServeRemote(t *testing.T) {
	t.Parallel()

	mod, _ := fakes()
	gw := &gateways{}
	orders := mod("orders")
	orders.init = func(h registry.Host) error {
		h.Serve(api("orders.v1.OrderService", gw))

		return nil
	}

	auth := &remote{fake: mod("auth"), initRemote: func(h registry.RemoteHost) error {
		h.Serve(api("auth.v1.AuthService", gw))

		return nil
	}}

	authConn, local := &fakeConn{}, &fakeConn{}

	r := registry.New(registry.Deps{Remote: map[string]grpc.ClientConnInterface{"auth": authConn}})
	if err := r.Init(local, auth, orders); err != nil {
		t.Fatalf("Init() = %v", err)
	}

	s := &registrar{}
	r.RegisterGRPC(s)

	if diff := cmp.Diff([]string{"orders.v1.OrderService"}, s.services); diff != "" {
		t.Errorf("RegisterGRPC() services mismatch (-want +got):\n%s", diff)
	}

	if err := r.RegisterGateway(t.Context(), runtime.NewServeMux(), local); err != nil {
		t.Fatalf("RegisterGateway() = %v", err)
	}

	if diff := cmp.Diff([]string{"orders.v1.OrderService", "auth.v1.AuthService"}, gw.services); diff != "" {
		t.Errorf("RegisterGateway() services mismatch (-want +got):\n%s", diff)
	}

	if len(gw.conns) == 2 && (gw.conns[0] != local || gw.conns[1] != authConn) {
		t.Errorf("RegisterGateway() handed the handlers %p and %p, want the local channel %p, then auth's connection %p",
			gw.conns[0], gw.conns[1], local, authConn)
	}

	bad := &remote{fake: mod("auth"), initRemote: func(h registry.RemoteHost) error {
		h.Serve(api("orders.v1.OrderService", nil))

		return nil
	}}

	err := registry.New(registry.Deps{Remote: map[string]grpc.ClientConnInterface{"auth": authConn}}).Init(local, bad)
	if err == nil || !strings.Contains(err.Error(), "orders.v1.OrderService") {
		t.Errorf("Init(remote auth serving orders.v1.OrderService) = %v, want an error naming the service", err)
	}
}

func TestServeRefusesAnotherModulesService(t *testing.T) {
	t.Parallel()

	for _, service := range []string{"orders.v1.OrderService", "authx.v1.AuthService", "v1.AuthService", "auth"} {
		t.Run(service, func(t *testing.T) {
			t.Parallel()

			r, err := hostOf(registry.Deps{}, "auth", func(h registry.Host) error {
				h.Serve(api("auth.v1.AuthService", nil), api(service, nil))

				return nil
			})
			if err == nil || !strings.Contains(err.Error(), "auth") || !strings.Contains(err.Error(), service) {
				t.Errorf("Init(auth serving %s) = %v, want an error naming the module and the service", service, err)
			}

			s := &registrar{}
			r.RegisterGRPC(s)

			if diff := cmp.Diff([]string{"auth.v1.AuthService"}, s.services); diff != "" {
				t.Errorf("RegisterGRPC() services mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPublic(t *testing.T) {
	t.Parallel()

	const (
		login   = "/auth.v1.AuthService/RequestLogin"
		refresh = "/auth.v2.AuthService/RefreshToken"
		status  = "/status.v1.StatusService/Get"
	)

	mod, _ := fakes()
	auth, statusMod, users := mod("auth"), mod("status"), mod("users")
	auth.init = func(h registry.Host) error {
		h.Public(login, refresh)

		return nil
	}
	statusMod.init = func(h registry.Host) error {
		h.Public(status)

		return nil
	}

	r := registry.New(registry.Deps{})
	if err := r.Init(&fakeConn{}, auth, users, statusMod); err != nil {
		t.Fatalf("Init() = %v", err)
	}

	tests := map[string]bool{
		login: true, refresh: true, status: true,
		"/auth.v1.AuthService/GetProfile": false, "/auth.v1.AuthService/RequestLogin/": false, "": false,
	}
	for method, want := range tests {
		if got := r.IsPublic(method); got != want {
			t.Errorf("IsPublic(%q) = %t, want %t", method, got, want)
		}
	}
}

func TestPublicRefusesAnotherModulesMethod(t *testing.T) {
	t.Parallel()

	const own = "/auth.v1.AuthService/RequestLogin"

	for _, method := range []string{
		"/orders.v1.OrderService/ListOrders", "/authx.v1.AuthService/RequestLogin", "auth.v1.AuthService/RequestLogin",
	} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()

			r, err := hostOf(registry.Deps{}, "auth", func(h registry.Host) error {
				h.Public(own, method)

				return nil
			})
			if err == nil || !strings.Contains(err.Error(), "auth") || !strings.Contains(err.Error(), method) {
				t.Errorf("Init(auth making %s public) = %v, want an error naming the module and the method", method, err)
			}

			if r.IsPublic(method) || !r.IsPublic(own) {
				t.Errorf("IsPublic(%q), IsPublic(%q) = %t, %t; want false, true", method, own, r.IsPublic(method), r.IsPublic(own))
			}
		})
	}
}

func TestGrant(t *testing.T) {
	t.Parallel()

	mod, _ := fakes()
	a, b := mod("a"), mod("b")
	a.init = func(h registry.Host) error {
		h.Grant(authz.RoleUser, "a:read")
		h.Grant("clerk", "a:read", "a:write")

		return nil
	}
	b.init = func(h registry.Host) error {
		h.Grant(authz.RoleUser, "b:read", "a:read")

		return nil
	}

	r := registry.New(registry.Deps{})
	if err := r.Init(&fakeConn{}, a, b); err != nil {
		t.Fatalf("Init() = %v", err)
	}

	user := append(authz.NewPolicy().Permissions(authz.RoleUser), "a:read", "b:read")

	tests := map[string][]string{
		authz.RoleUser:  user,
		"clerk":         {"a:read", "a:write"},
		authz.RoleAdmin: {authz.Wildcard},
		"nobody":        nil,
	}
	for role, want := range tests {
		if diff := cmp.Diff(want, r.Permissions(role)); diff != "" {
			t.Errorf("Permissions(%q) mismatch (-want +got):\n%s", role, diff)
		}
	}

	// Each registry has its own policy.
	if got := registry.New(registry.Deps{}).Permissions("clerk"); got != nil {
		t.Errorf("Permissions(clerk) of another registry = %q, want nil", got)
	}
}

// Test payloads for WebSocket routes.
type (
	aHappened struct {
		UserID string `json:"user_id"`
	}
	bHappened struct {
		UserID string `json:"user_id"`
	}
	cHappened struct {
		SessionID string `json:"session_id"`
	}
)

func (aHappened) EventName() string { return "a.happened" }
func (aHappened) EventVersion() int { return 1 }
func (bHappened) EventName() string { return "b.happened" }
func (bHappened) EventVersion() int { return 1 }
func (cHappened) EventName() string { return "c.happened" }
func (cHappened) EventVersion() int { return 1 }

func TestRealtimeAndTasksInModuleOrder(t *testing.T) {
	t.Parallel()

	noop := func(context.Context) error { return nil }
	mod, _ := fakes()
	a, b, c := mod("a"), mod("b"), mod("c")
	a.init = func(h registry.Host) error {
		h.Realtime(websocket.ToUser(func(e aHappened) string { return e.UserID }))
		h.Tasks(admin.Func{TaskName: "t1", Run: noop}, admin.Func{TaskName: "t2", Run: noop})
		h.Realtime(websocket.ToEveryone[bHappened]())

		return nil
	}
	c.init = func(h registry.Host) error {
		h.Tasks(admin.Func{TaskName: "t3", Run: noop})
		h.Realtime(websocket.EndSession(func(e cHappened) string { return e.SessionID }))

		return nil
	}

	r := registry.New(registry.Deps{})
	if err := r.Init(&fakeConn{}, a, b, c); err != nil {
		t.Fatalf("Init() = %v", err)
	}

	var routes []string
	for _, route := range r.RealtimeRoutes() {
		routes = append(routes, route.Event())
	}

	if diff := cmp.Diff([]string{"a.happened", "b.happened", "c.happened"}, routes); diff != "" {
		t.Errorf("RealtimeRoutes() mismatch (-want +got):\n%s", diff)
	}

	var tasks []string
	for _, task := range r.AdminTasks() {
		tasks = append(tasks, task.Name())
	}

	if diff := cmp.Diff([]string{"t1", "t2", "t3"}, tasks); diff != "" {
		t.Errorf("AdminTasks() mismatch (-want +got):\n%s", diff)
	}

	if _, err := admin.NewRunner(r.AdminTasks()...); err != nil {
		t.Errorf("NewRunner(AdminTasks()) = %v", err)
	}
}

func TestKey(t *testing.T) {
	t.Parallel()

	secret := []byte("platform-secret-0123456789abcdef0123456789")

	// keys returns the keys module derives for each purpose, on a registry
	// of its own.
	keys := func(module string, purposes ...string) [][]byte {
		var out [][]byte

		if _, err := hostOf(registry.Deps{Secret: secrets.Fixed(secret)}, module, func(h registry.Host) error {
			for _, p := range purposes {
				current, _ := h.Key(p).Keys()
				out = append(out, current)
			}

			return nil
		}); err != nil {
			t.Fatalf("Init() = %v", err)
		}

		return out
	}

	auth := keys("auth", "magic-codes/v1", "magic-codes/v2", "magic-codes/v1")
	orders := keys("orders", "magic-codes/v1")
	again := keys("auth", "magic-codes/v1")

	for i, k := range auth {
		if len(k) != 32 {
			t.Errorf("auth Key #%d has %d bytes, want 32", i, len(k))
		}

		if bytes.Contains(k, secret) || bytes.Equal(k, secret[:32]) {
			t.Errorf("auth Key #%d = %x holds the secret", i, k)
		}
	}

	checks := []struct {
		what string
		a, b []byte
		same bool
	}{
		{what: "the same purpose twice", a: auth[0], b: auth[2], same: true},
		{what: "another registry with the same secret", a: auth[0], b: again[0], same: true},
		{what: "another purpose", a: auth[0], b: auth[1]},
		{what: "another module", a: auth[0], b: orders[0]},
	}
	for _, c := range checks {
		if bytes.Equal(c.a, c.b) != c.same {
			t.Errorf("Key with %s: %x and %x, want equal %t", c.what, c.a, c.b, c.same)
		}
	}

	// The derivation the auth module used before the Host: hashes of codes
	// stored then still verify.
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("modulith/auth/magic-codes/v1"))

	if want := mac.Sum(nil); !bytes.Equal(auth[0], want) {
		t.Errorf("auth Key(magic-codes/v1) = %x, want HMAC-SHA256(secret, modulith/auth/magic-codes/v1) = %x", auth[0], want)
	}
}

// ordersConfig is a module's configuration, as a module declares it.
type ordersConfig struct {
	Limit int    `yaml:"limit" env:"ORDERS_LIMIT" default:"5"`
	Name  string `yaml:"name"  env:"ORDERS_NAME"  default:"shop"`
	Note  string `yaml:"note"  env:"ORDERS_NOTE"  default:"none"`
}

func TestConfig(t *testing.T) {
	t.Parallel()

	path := filepath.Join(t.TempDir(), "server.yaml")
	yaml := "limit: 1\nname: top\norders:\n  limit: 3\n  name: yaml\nauth:\n  note: auth's\n"

	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}

	env := map[string]string{"ORDERS_NAME": "env", "AUTH_NOTE": "auth's", "JWT_SECRET": "s"}

	layers, err := config.NewLayers(config.Files{YAML: path}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}

	var (
		buf bytes.Buffer
		got ordersConfig
	)

	deps := registry.Deps{Layers: layers, Logger: slog.New(slog.NewJSONHandler(&buf, nil))}
	if _, err := hostOf(deps, "orders", func(h registry.Host) error { return h.Config(&got) }); err != nil {
		t.Fatalf("Init(orders loading its config) = %v", err)
	}

	// The orders section (not the top level, not auth's), and ORDERS_…
	// over it.
	if diff := cmp.Diff(ordersConfig{Limit: 3, Name: "env", Note: "none"}, got); diff != "" {
		t.Errorf("Config() mismatch (-want +got):\n%s", diff)
	}

	var logged []map[string]any

	for line := range strings.Lines(buf.String()) {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}

		logged = append(logged, map[string]any{"module": entry["module"], "key": entry["key"], "source": entry["source"]})
	}

	want := []map[string]any{
		{"module": "orders", "key": "ORDERS_LIMIT", "source": "yaml"},
		{"module": "orders", "key": "ORDERS_NAME", "source": "env"},
		{"module": "orders", "key": "ORDERS_NOTE", "source": "default"},
	}
	if diff := cmp.Diff(want, logged); diff != "" {
		t.Errorf("Config() log mismatch (-want +got):\n%s", diff)
	}
}

func TestConfigRefusesOtherSettings(t *testing.T) {
	t.Parallel()

	layers, err := config.NewLayers(config.Files{}, func(k string) string {
		return map[string]string{"JWT_SECRET": "platform", "AUTH_PEPPER": "auth's"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		dst  any
		key  string
	}{
		{name: "platform secret", key: "JWT_SECRET", dst: &struct {
			Limit  int    `env:"ORDERS_LIMIT"`
			Secret string `env:"JWT_SECRET"`
		}{}},
		{name: "another module's", key: "AUTH_PEPPER", dst: &struct {
			Pepper string `env:"AUTH_PEPPER"`
		}{}},
		{name: "name without separator", key: "ORDERSX", dst: &struct {
			X string `env:"ORDERSX"`
		}{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			_, err := hostOf(registry.Deps{Layers: layers}, "orders", func(h registry.Host) error { return h.Config(tt.dst) })

			var keyErr *config.KeyError
			if !errors.As(err, &keyErr) || keyErr.Key != tt.key || !strings.Contains(err.Error(), "orders") {
				t.Errorf("Init(orders loading %s) = %v, want a *config.KeyError for %s naming module orders", tt.key, err, tt.key)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()

	layers, err := config.NewLayers(config.Files{}, nil)
	if err != nil {
		t.Fatal(err)
	}

	var bad struct {
		Limit int `env:"ORDERS_LIMIT" default:"not a number"`
	}

	_, err = hostOf(registry.Deps{Layers: layers}, "orders", func(h registry.Host) error { return h.Config(&bad) })

	var keyErr *config.KeyError
	if !errors.As(err, &keyErr) || keyErr.Key != "ORDERS_LIMIT" {
		t.Errorf("Config(bad default) = %v, want a *config.KeyError for ORDERS_LIMIT", err)
	}

	var cfg ordersConfig

	if _, err := hostOf(registry.Deps{}, "orders", func(h registry.Host) error { return h.Config(&cfg) }); err == nil {
		t.Error("Config() without layers = nil, want an error")
	}
}

// bus is a registry.Bus that does nothing.
type bus struct{}

func (bus) Subscribe(string, string, events.Handler) error { return nil }

func (bus) Publish(context.Context, pgx.Tx, events.Payload) error { return nil }

func TestHostHandsOutTheDeps(t *testing.T) {
	t.Parallel()

	tokens, err := authn.NewTokens(authn.TokenConfig{Secret: secrets.Fixed(bytes.Repeat([]byte("k"), 32)), Issuer: "i", Audience: "a"})
	if err != nil {
		t.Fatal(err)
	}

	// The pool connects lazily: to nothing, as nothing here queries.
	pool, err := pgxpool.New(t.Context(), "postgres://nobody@127.0.0.1:1/none")
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(pool.Close)

	deps := registry.Deps{DB: pool, Bus: &bus{}, Notifier: notifier.New(nil, nil), Tokens: tokens}

	var got registry.Deps

	if _, err := hostOf(deps, "orders", func(h registry.Host) error {
		got = registry.Deps{DB: h.DB(), Bus: h.Bus(), Notifier: h.Notifier(), Tokens: h.Tokens()}

		return nil
	}); err != nil {
		t.Fatal(err)
	}

	if got.DB != deps.DB || got.Bus != deps.Bus || got.Notifier != deps.Notifier || got.Tokens != deps.Tokens {
		t.Errorf("Host gave %+v, want the registry's deps %+v", got, deps)
	}
}

func TestLoggerNamesTheModule(t *testing.T) {
	t.Parallel()

	var buf bytes.Buffer

	if _, err := hostOf(registry.Deps{Logger: slog.New(slog.NewJSONHandler(&buf, nil))}, "orders", func(h registry.Host) error {
		h.Logger().Info("hello")

		return nil
	}); err != nil {
		t.Fatal(err)
	}

	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("log line %q: %v", buf.String(), err)
	}

	if line["module"] != "orders" || line["msg"] != "hello" {
		t.Errorf("Logger() line = %v, want module orders", line)
	}

	// Without a logger, logs are discarded.
	if _, err := hostOf(registry.Deps{}, "orders", func(h registry.Host) error {
		h.Logger().Info("discarded")

		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestMigrationSources(t *testing.T) {
	t.Parallel()

	mod, j := fakes()
	mA := fstest.MapFS{"1_init.up.sql": {Data: []byte("create table a ();")}}
	sC := fstest.MapFS{"dev.sql": {Data: []byte("insert into c values ();")}}
	mD := fstest.MapFS{"1_init.up.sql": {Data: []byte("create table d ();")}}
	sD := fstest.MapFS{"dev.sql": {Data: []byte("insert into d values ();")}}

	got := registry.MigrationSources([]registry.Module{
		&migrator{fake: mod("a"), migrations: mA},
		mod("b"),
		&seeder{fake: mod("c"), seeds: sC},
		&withFiles{fake: mod("d"), migrations: mD, seeds: sD},
		&withFiles{fake: mod("e")},
		&migrator{fake: mod("f")},
	})

	platform := []string{events.SchemaName, scheduler.SchemaName, feature.SchemaName}
	for i, name := range platform {
		if len(got) <= i || got[i].Module != name || got[i].Migrations == nil {
			t.Fatalf("MigrationSources() = %+v, want the platform's schemas %v first", got, platform)
		}
	}

	want := []migration.Source{
		{Module: "a", Migrations: mA},
		{Module: "c", Seeds: sC},
		{Module: "d", Migrations: mD, Seeds: sD},
	}
	if diff := cmp.Diff(want, got[3:]); diff != "" {
		t.Errorf("MigrationSources() of modules mismatch (-want +got):\n%s", diff)
	}

	if len(j.entries) != 0 {
		t.Errorf("MigrationSources() initialized %q, want no module built", j.entries)
	}

	if got := registry.MigrationSources(nil); len(got) != 3 {
		t.Errorf("MigrationSources(no modules) = %+v, want the platform's three schemas", got)
	}
}

// flagClients records the namespaces it hands clients for.
type flagClients struct {
	api        *openfeature.EvaluationAPI
	namespaces []string
}

func (f *flagClients) Client(module string) *openfeature.Client {
	f.namespaces = append(f.namespaces, module)

	return f.api.NewClient(openfeature.WithDomain(module))
}

// TestHostFlags: a module gets the flags client of its own namespace; with
// no flags service, a client whose every flag is the code's default.
func TestHostFlags(t *testing.T) {
	t.Parallel()

	clients := &flagClients{api: isolated.NewAPI()}

	var got *openfeature.Client

	if _, err := hostOf(registry.Deps{Flags: clients}, "orders", func(h registry.Host) error {
		got = h.Flags()

		return nil
	}); err != nil {
		t.Fatal(err)
	}

	if diff := cmp.Diff([]string{"orders"}, clients.namespaces); diff != "" || got.Metadata().Domain() != "orders" {
		t.Errorf("Host.Flags() asked for namespaces %v and gave domain %q, want orders", clients.namespaces, got.Metadata().Domain())
	}

	if _, err := hostOf(registry.Deps{}, "orders", func(h registry.Host) error {
		got = h.Flags()

		return nil
	}); err != nil {
		t.Fatal(err)
	}

	if v := got.Boolean(t.Context(), "orders.create_enabled", true, openfeature.EvaluationContext{}); !v {
		t.Error("Host.Flags() without a flags service evaluated false, want the default true")
	}
}

// TestServePlatform: the platform's APIs are served beside the modules',
// on the gRPC server and the gateway, whatever their package.
func TestServePlatform(t *testing.T) {
	t.Parallel()

	gw := &gateways{}

	r, err := hostOf(registry.Deps{}, "orders", func(h registry.Host) error {
		h.Serve(api("orders.v1.OrderService", nil))

		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	r.ServePlatform(api("feature.v1.FlagService", gw))

	s := &registrar{}
	r.RegisterGRPC(s)

	if diff := cmp.Diff([]string{"orders.v1.OrderService", "feature.v1.FlagService"}, s.services); diff != "" {
		t.Errorf("RegisterGRPC() services mismatch (-want +got):\n%s", diff)
	}

	if err := r.RegisterGateway(t.Context(), runtime.NewServeMux(), &fakeConn{}); err != nil {
		t.Fatal(err)
	}

	if diff := cmp.Diff([]string{"feature.v1.FlagService"}, gw.services); diff != "" {
		t.Errorf("RegisterGateway() services mismatch (-want +got):\n%s", diff)
	}
}
