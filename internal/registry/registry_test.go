package registry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"

	"github.com/modulith/modulith/internal/admin"
	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/authz"
	"github.com/modulith/modulith/internal/config"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/migration"
	"github.com/modulith/modulith/internal/registry"
	"github.com/modulith/modulith/internal/scheduler"
)

// journal records, in order, what the registry asked the fake modules to do.
type journal struct {
	mu      sync.Mutex
	entries []string
}

func (j *journal) add(entry string) {
	j.mu.Lock()
	defer j.mu.Unlock()

	j.entries = append(j.entries, entry)
}

func (j *journal) list() []string {
	j.mu.Lock()
	defer j.mu.Unlock()

	return append([]string(nil), j.entries...)
}

// module is a fake Module with none of the optional interfaces.
type module struct {
	name       string
	j          *journal
	initErr    error
	gatewayErr error
	gotReg     *registry.Registry
}

func (m *module) Name() string { return m.name }

func (m *module) Initialize(r *registry.Registry) error {
	m.j.add("init " + m.name)
	m.gotReg = r

	return m.initErr
}

func (m *module) RegisterGRPC(grpc.ServiceRegistrar) { m.j.add("grpc " + m.name) }

func (m *module) RegisterGateway(context.Context, *runtime.ServeMux, grpc.ClientConnInterface) error {
	m.j.add("gateway " + m.name)

	return m.gatewayErr
}

// lifecycle is a module with Start and Close.
type lifecycle struct {
	*module

	startErr, closeErr error
	closeCtxErr        error
}

func (m *lifecycle) Start(context.Context) error {
	m.j.add("start " + m.name)

	return m.startErr
}

func (m *lifecycle) Close(ctx context.Context) error {
	m.j.add("close " + m.name)
	m.closeCtxErr = ctx.Err()

	return m.closeErr
}

// closer is a module with Close but no Start: it holds resources from
// Initialize.
type closer struct {
	*module
}

func (m *closer) Close(context.Context) error {
	m.j.add("close " + m.name)

	return nil
}

// checked is a module with a health check.
type checked struct {
	*module

	err error
}

func (m *checked) HealthCheck(context.Context) error { return m.err }

// withFiles is a module with migrations and seeds (nil = none).
type withFiles struct {
	*module

	migrations, seeds fs.FS
}

func (m *withFiles) Migrations() fs.FS { return m.migrations }

func (m *withFiles) Seeds() fs.FS { return m.seeds }

// migrator is a module with migrations only.
type migrator struct {
	*module

	migrations fs.FS
}

func (m *migrator) Migrations() fs.FS { return m.migrations }

// seeder is a module with seeds only.
type seeder struct {
	*module

	seeds fs.FS
}

func (m *seeder) Seeds() fs.FS { return m.seeds }

// public is a module with public endpoints.
type public struct {
	*module

	methods []string
}

func (m *public) PublicEndpoints() []string { return m.methods }

// tasker is a module with admin tasks.
type tasker struct {
	*module

	tasks []admin.Task
}

func (m *tasker) AdminTasks() []admin.Task { return m.tasks }

// fakes returns a function that builds plain fake modules sharing one journal.
func fakes() (func(name string) *module, *journal) {
	j := &journal{}

	return func(name string) *module { return &module{name: name, j: j} }, j
}

func newRegistry(t *testing.T, modules ...registry.Module) *registry.Registry {
	t.Helper()

	r := registry.New(registry.Deps{})
	if err := r.Register(modules...); err != nil {
		t.Fatalf("Register() = %v", err)
	}

	return r
}

func names(modules []registry.Module) []string {
	out := make([]string, 0, len(modules))
	for _, m := range modules {
		out = append(out, m.Name())
	}

	return out
}

func TestRegisterValidatesNames(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"auth", true},
		{"a", true},
		{"order_items2", true},
		{"a" + strings.Repeat("b", 30), true},
		{"a" + strings.Repeat("b", 31), false},
		{"", false},
		{"Auth", false},
		{"1auth", false},
		{"_auth", false},
		{"auth-x", false},
		{"auth.x", false},
		{"auth x", false},
		{"auth\n", false},
		{"ñ", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mod, _ := fakes()

			err := registry.New(registry.Deps{}).Register(mod(tt.name))
			if (err == nil) != tt.ok {
				t.Errorf("Register(%q) = %v, want ok %t", tt.name, err, tt.ok)
			}
		})
	}
}

func TestRegisterRejectsDuplicates(t *testing.T) {
	mod, _ := fakes()

	r := registry.New(registry.Deps{})
	if err := r.Register(mod("a"), mod("b")); err != nil {
		t.Fatal(err)
	}

	if err := r.Register(mod("c"), mod("a")); err == nil || !strings.Contains(err.Error(), `"a"`) {
		t.Errorf("Register(a again) = %v, want an error naming a", err)
	}

	if err := registry.New(registry.Deps{}).Register(mod("x"), mod("x")); err == nil {
		t.Errorf("Register(x, x) = nil, want an error")
	}
}

func TestModulesInOrder(t *testing.T) {
	mod, _ := fakes()
	r := newRegistry(t, mod("b"), mod("a"), mod("c"))

	got := r.Modules()
	if diff := cmp.Diff([]string{"b", "a", "c"}, names(got)); diff != "" {
		t.Errorf("Modules() mismatch (-want +got):\n%s", diff)
	}

	got[0] = mod("z")

	if first := r.Modules()[0].Name(); first != "b" {
		t.Errorf("changing the slice Modules() returned changed the registry: first = %q", first)
	}
}

func TestInitializeAllInOrder(t *testing.T) {
	mod, j := fakes()
	a, b := mod("a"), mod("b")
	r := newRegistry(t, a, b)

	if err := r.InitializeAll(); err != nil {
		t.Fatalf("InitializeAll() = %v", err)
	}

	if diff := cmp.Diff([]string{"init a", "init b"}, j.list()); diff != "" {
		t.Errorf("InitializeAll() calls mismatch (-want +got):\n%s", diff)
	}

	if a.gotReg != r || b.gotReg != r {
		t.Errorf("Initialize got registry %p and %p, want %p", a.gotReg, b.gotReg, r)
	}
}

func TestInitializeAllOnce(t *testing.T) {
	mod, j := fakes()
	r := newRegistry(t, mod("a"))

	if r.Initialized() {
		t.Fatal("Initialized() = true before InitializeAll")
	}

	if err := r.InitializeAll(); err != nil || !r.Initialized() {
		t.Fatalf("InitializeAll() = %v, Initialized() = %t; want nil, true", err, r.Initialized())
	}

	if err := r.InitializeAll(); err == nil {
		t.Error("second InitializeAll() = nil, want an error")
	}

	if diff := cmp.Diff([]string{"init a"}, j.list()); diff != "" {
		t.Errorf("modules initialized again (-want +got):\n%s", diff)
	}
}

func TestInitializeAllStopsAtTheFirstError(t *testing.T) {
	mod, j := fakes()
	errInit := errors.New("bad config")
	b := mod("b")
	b.initErr = errInit
	r := newRegistry(t, mod("a"), b, mod("c"))

	err := r.InitializeAll()
	if !errors.Is(err, errInit) || !strings.Contains(err.Error(), "b") {
		t.Errorf("InitializeAll() = %v, want it to wrap %v and name module b", err, errInit)
	}

	if diff := cmp.Diff([]string{"init a", "init b"}, j.list()); diff != "" {
		t.Errorf("InitializeAll() calls mismatch (-want +got):\n%s", diff)
	}

	if r.Initialized() {
		t.Error("Initialized() = true after a failed InitializeAll")
	}
}

func TestRegisterGRPCAndGateway(t *testing.T) {
	mod, j := fakes()
	errGateway := errors.New("bad route")
	b := mod("b")
	b.gatewayErr = errGateway
	r := newRegistry(t, mod("a"), b, mod("c"))

	r.RegisterGRPC(nil)

	if err := r.RegisterGateway(t.Context(), runtime.NewServeMux(), nil); !errors.Is(err, errGateway) {
		t.Errorf("RegisterGateway() = %v, want it to wrap %v", err, errGateway)
	}

	want := []string{"grpc a", "grpc b", "grpc c", "gateway a", "gateway b"}
	if diff := cmp.Diff(want, j.list()); diff != "" {
		t.Errorf("calls mismatch (-want +got):\n%s", diff)
	}
}

func TestStartAllAndCloseAllInOrder(t *testing.T) {
	mod, j := fakes()
	r := newRegistry(t, &lifecycle{module: mod("a")}, mod("b"), &lifecycle{module: mod("c")})

	if err := r.StartAll(t.Context()); err != nil {
		t.Fatalf("StartAll() = %v", err)
	}

	if err := r.CloseAll(t.Context()); err != nil {
		t.Fatalf("CloseAll() = %v", err)
	}

	// Closing twice closes nothing more.
	if err := r.CloseAll(t.Context()); err != nil {
		t.Fatalf("second CloseAll() = %v", err)
	}

	if diff := cmp.Diff([]string{"start a", "start c", "close c", "close a"}, j.list()); diff != "" {
		t.Errorf("calls mismatch (-want +got):\n%s", diff)
	}
}

func TestCloseAllClosesModulesWithoutStart(t *testing.T) {
	mod, j := fakes()
	r := newRegistry(t, &closer{module: mod("a")}, &lifecycle{module: mod("b")}, &closer{module: mod("c")})

	if err := r.StartAll(t.Context()); err != nil {
		t.Fatal(err)
	}

	if err := r.CloseAll(t.Context()); err != nil {
		t.Fatal(err)
	}

	if diff := cmp.Diff([]string{"start b", "close c", "close b", "close a"}, j.list()); diff != "" {
		t.Errorf("calls mismatch (-want +got):\n%s", diff)
	}
}

func TestStartAllFailureClosesOnlyModulesBeforeIt(t *testing.T) {
	mod, j := fakes()
	errStart := errors.New("port in use")
	r := newRegistry(t, &closer{module: mod("a")}, &lifecycle{module: mod("b"), startErr: errStart}, &closer{module: mod("c")})

	if err := r.StartAll(t.Context()); !errors.Is(err, errStart) {
		t.Fatalf("StartAll() = %v, want %v", err, errStart)
	}

	// b failed to start, so it has nothing to close; c was never reached.
	if diff := cmp.Diff([]string{"start b", "close a"}, j.list()); diff != "" {
		t.Errorf("calls mismatch (-want +got):\n%s", diff)
	}
}

func TestCloseAllBeforeStartAll(t *testing.T) {
	mod, j := fakes()
	r := newRegistry(t, &lifecycle{module: mod("a")})

	if err := r.CloseAll(t.Context()); err != nil || len(j.list()) != 0 {
		t.Errorf("CloseAll() before StartAll = %v, calls %q; want nil and none", err, j.list())
	}
}

func TestStartAllClosesStartedModulesOnFailure(t *testing.T) {
	mod, j := fakes()
	errStart := errors.New("port in use")
	errClose := errors.New("flush failed")
	a := &lifecycle{module: mod("a"), closeErr: errClose}
	b := &lifecycle{module: mod("b")}
	r := newRegistry(t, a, b, &lifecycle{module: mod("c"), startErr: errStart}, &lifecycle{module: mod("d")})

	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	err := r.StartAll(ctx)
	if !errors.Is(err, errStart) || !errors.Is(err, errClose) {
		t.Errorf("StartAll() = %v, want it to join %v and %v", err, errStart, errClose)
	}

	want := []string{"start a", "start b", "start c", "close b", "close a"}
	if diff := cmp.Diff(want, j.list()); diff != "" {
		t.Errorf("calls mismatch (-want +got):\n%s", diff)
	}

	// Cleanup must run even though the start context is done.
	if a.closeCtxErr != nil || b.closeCtxErr != nil {
		t.Errorf("Close got a done context (%v, %v), want a live one", a.closeCtxErr, b.closeCtxErr)
	}

	if err := r.CloseAll(t.Context()); err != nil || len(j.list()) != len(want) {
		t.Errorf("CloseAll() after a failed StartAll closed again: %v, %q", err, j.list())
	}
}

func TestCloseAllJoinsErrors(t *testing.T) {
	mod, j := fakes()
	errA, errC := errors.New("a failed"), errors.New("c failed")
	r := newRegistry(t,
		&lifecycle{module: mod("a"), closeErr: errA},
		&lifecycle{module: mod("b")},
		&lifecycle{module: mod("c"), closeErr: errC},
	)

	if err := r.StartAll(t.Context()); err != nil {
		t.Fatal(err)
	}

	err := r.CloseAll(t.Context())
	if !errors.Is(err, errA) || !errors.Is(err, errC) {
		t.Errorf("CloseAll() = %v, want both %v and %v", err, errA, errC)
	}

	want := []string{"start a", "start b", "start c", "close c", "close b", "close a"}
	if diff := cmp.Diff(want, j.list()); diff != "" {
		t.Errorf("calls mismatch (-want +got):\n%s", diff)
	}
}

func TestHealthCheckAll(t *testing.T) {
	mod, _ := fakes()
	errDown := errors.New("down")
	r := newRegistry(t, &checked{module: mod("a")}, mod("b"), &checked{module: mod("c"), err: errDown})

	got := r.HealthCheckAll(t.Context())
	if diff := cmp.Diff(map[string]error{"a": nil, "c": errDown}, got, cmp.Comparer(errors.Is)); diff != "" {
		t.Errorf("HealthCheckAll() mismatch (-want +got):\n%s", diff)
	}
}

func TestPublicEndpoints(t *testing.T) {
	mod, _ := fakes()
	r := newRegistry(t,
		&public{module: mod("auth"), methods: []string{"/auth.v1.Auth/Login", "/auth.v1.Auth/Refresh"}},
		mod("users"),
		&public{module: mod("status"), methods: []string{"/status.v1.Status/Get", "/auth.v1.Auth/Login"}},
		&public{module: mod("none")},
	)

	want := map[string]bool{"/auth.v1.Auth/Login": true, "/auth.v1.Auth/Refresh": true, "/status.v1.Status/Get": true}
	if diff := cmp.Diff(want, r.PublicEndpoints()); diff != "" {
		t.Errorf("PublicEndpoints() mismatch (-want +got):\n%s", diff)
	}

	if got := newRegistry(t).PublicEndpoints(); got == nil || len(got) != 0 {
		t.Errorf("PublicEndpoints() of no modules = %v, want an empty, usable map", got)
	}
}

func TestMigrationSources(t *testing.T) {
	mod, _ := fakes()
	mA := fstest.MapFS{"1_init.up.sql": {Data: []byte("create table a ();")}}
	sC := fstest.MapFS{"dev.sql": {Data: []byte("insert into c values ();")}}
	mD := fstest.MapFS{"1_init.up.sql": {Data: []byte("create table d ();")}}
	sD := fstest.MapFS{"dev.sql": {Data: []byte("insert into d values ();")}}

	r := newRegistry(t,
		&migrator{module: mod("a"), migrations: mA},
		mod("b"),
		&seeder{module: mod("c"), seeds: sC},
		&withFiles{module: mod("d"), migrations: mD, seeds: sD},
		&withFiles{module: mod("e")},
		&migrator{module: mod("f")},
	)

	got := r.MigrationSources()
	if len(got) < 2 || got[0].Module != events.SchemaName || got[0].Migrations == nil ||
		got[1].Module != scheduler.SchemaName || got[1].Migrations == nil {
		t.Fatalf("MigrationSources() = %+v, want the event bus's schema first, then the scheduler's", got)
	}

	want := []migration.Source{
		{Module: "a", Migrations: mA},
		{Module: "c", Seeds: sC},
		{Module: "d", Migrations: mD, Seeds: sD},
	}
	if diff := cmp.Diff(want, got[2:]); diff != "" {
		t.Errorf("MigrationSources() of modules mismatch (-want +got):\n%s", diff)
	}
}

func TestRegisterRefusesPlatformSchemaNames(t *testing.T) {
	mod, _ := fakes()
	r := registry.New(registry.Deps{})

	for _, schema := range []string{events.SchemaName, scheduler.SchemaName} {
		if err := r.Register(mod(schema)); err == nil {
			t.Errorf("Register(module %q) = nil, want an error: the platform owns that schema", schema)
		}
	}
}

func TestAdminTasks(t *testing.T) {
	mod, _ := fakes()
	noop := func(context.Context) error { return nil }
	t1 := admin.Func{TaskName: "t1", Run: noop}
	t2 := admin.Func{TaskName: "t2", Run: noop}
	t3 := admin.Func{TaskName: "t3", Run: noop}

	r := newRegistry(t,
		&tasker{module: mod("a"), tasks: []admin.Task{t1, t2}},
		mod("b"),
		&tasker{module: mod("c"), tasks: []admin.Task{t3}},
	)

	var got []string
	for _, task := range r.AdminTasks() {
		got = append(got, task.Name())
	}

	if diff := cmp.Diff([]string{"t1", "t2", "t3"}, got); diff != "" {
		t.Errorf("AdminTasks() mismatch (-want +got):\n%s", diff)
	}

	if _, err := admin.NewRunner(r.AdminTasks()...); err != nil {
		t.Errorf("NewRunner(AdminTasks()) = %v", err)
	}
}

func TestLoadConfigWithoutLayers(t *testing.T) {
	var dst struct {
		Limit int `env:"ORDERS_LIMIT" default:"5"`
	}

	if err := registry.New(registry.Deps{}).LoadConfig("orders", &dst); err == nil {
		t.Errorf("LoadConfig() without layers = nil, want an error")
	}
}

func TestLoadConfig(t *testing.T) {
	layers, err := config.NewLayers(config.Files{}, func(key string) string {
		return map[string]string{"ORDERS_LIMIT": "7"}[key]
	})
	if err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer

	r := registry.New(registry.Deps{Layers: layers, Logger: slog.New(slog.NewJSONHandler(&buf, nil))})

	var dst struct {
		Limit int    `env:"ORDERS_LIMIT" default:"5"`
		Name  string `env:"ORDERS_NAME" default:"shop"`
	}
	if err := r.LoadConfig("orders", &dst); err != nil {
		t.Fatalf("LoadConfig() = %v", err)
	}

	if dst.Limit != 7 || dst.Name != "shop" {
		t.Errorf("LoadConfig() = %+v, want Limit 7 (env) and Name shop (default)", dst)
	}

	if !strings.Contains(buf.String(), `"module":"orders"`) || !strings.Contains(buf.String(), "ORDERS_LIMIT") {
		t.Errorf("LoadConfig() log = %q, want the values logged by module orders", buf.String())
	}

	var bad struct {
		Limit int `env:"ORDERS_LIMIT" default:"5"`
		Bad   int `env:"ORDERS_BAD" default:"not a number"`
	}

	var keyErr *config.KeyError
	if err := r.LoadConfig("orders", &bad); !errors.As(err, &keyErr) {
		t.Errorf("LoadConfig(bad default) = %v, want a *config.KeyError", err)
	}
}

type sessions struct{}

func (sessions) CheckSession(context.Context, string, string) (string, error) { return "user", nil }

func TestProvideSessionChecker(t *testing.T) {
	r := registry.New(registry.Deps{})
	if r.SessionChecker() != nil {
		t.Errorf("SessionChecker() = %v before ProvideSessionChecker, want nil", r.SessionChecker())
	}

	var c authn.SessionChecker = sessions{}

	r.ProvideSessionChecker(c)

	if r.SessionChecker() != c {
		t.Errorf("SessionChecker() = %v, want the provided checker", r.SessionChecker())
	}
}

func TestNewDefaults(t *testing.T) {
	r := registry.New(registry.Deps{})
	if r.Policy() == nil || r.Policy().Permissions(authz.RoleAdmin) == nil {
		t.Errorf("New(no policy).Policy() = %v, want the built-in policy", r.Policy())
	}

	r.Logger("orders").Info("discarded") // must not panic without a logger

	if r.Config() != nil || r.DB() != nil || r.Bus() != nil || r.Notifier() != nil || r.Tokens() != nil {
		t.Errorf("New(no deps) accessors are not nil")
	}
}

func TestAccessorsReturnTheDeps(t *testing.T) {
	policy := authz.NewPolicy()
	cfg := &config.Config{ServiceName: "svc"}

	tokens, err := authn.NewTokens(authn.TokenConfig{Secret: bytes.Repeat([]byte("k"), 32), Issuer: "i", Audience: "a"})
	if err != nil {
		t.Fatal(err)
	}

	r := registry.New(registry.Deps{Policy: policy, Config: cfg, Tokens: tokens})
	if r.Policy() != policy || r.Config() != cfg || r.Tokens() != tokens {
		t.Errorf("accessors do not return the given deps")
	}
}

func TestLoggerNamesTheModule(t *testing.T) {
	var buf bytes.Buffer

	r := registry.New(registry.Deps{Logger: slog.New(slog.NewJSONHandler(&buf, nil))})
	r.Logger("orders").Info("hello")

	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("log line %q: %v", buf.String(), err)
	}

	if line["module"] != "orders" || line["msg"] != "hello" {
		t.Errorf("Logger(orders) line = %v, want module orders", line)
	}
}
