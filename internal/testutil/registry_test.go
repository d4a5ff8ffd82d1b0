package testutil

import (
	"bytes"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/modulith/modulith/internal/authn"
	"github.com/modulith/modulith/internal/config"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/migration"
	"github.com/modulith/modulith/internal/notifier"
)

func TestRegistryBuilderDefaults(t *testing.T) {
	t.Parallel()

	pool := lazyPool(t)
	fake := &fakeModule{}
	reg := NewRegistryBuilder().WithDatabase(pool).WithModules(fake).Build(t)
	cfg, n, mods := reg.Config(), reg.Notifier(), reg.Modules()

	wants := []struct {
		want string
		ok   bool
	}{
		{"DB() is the pool given to WithDatabase", reg.DB() == pool},
		{"a dev configuration", cfg.IsDev()},
		{"a JWT secret of 32+ bytes", len(cfg.JWTSecret) >= 32},
		{"a bus and a policy", reg.Bus() != nil && reg.Policy() != nil},
		{"email and SMS deliverable (dev log providers)", n.CanDeliver(notifier.ChannelEmail) && n.CanDeliver(notifier.ChannelSMS)},
		{"the fake module", len(mods) == 1 && mods[0] == fake},
		{"modules not initialized yet", fake.inits == 0 && !reg.Initialized()},
	}
	for _, w := range wants {
		if !w.ok {
			t.Errorf("Build() registry: want %s", w.want)
		}
	}

	checkTokens(t, reg.Tokens())
}

// lazyPool returns a pool that connects lazily: to nothing, as nothing
// here reaches a server.
func lazyPool(t *testing.T) *pgxpool.Pool {
	t.Helper()

	pool, err := pgxpool.New(t.Context(), "postgres://nobody@127.0.0.1:1/none")
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(pool.Close)

	return pool
}

// checkTokens checks that tokens verify what they issue.
func checkTokens(t *testing.T, tokens *authn.Tokens) {
	t.Helper()

	token, _, err := tokens.IssueAccess("user_1", "sess_1", "user", time.Now(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}

	if claims, err := tokens.ParseAccess(token); err != nil || claims.Subject != "user_1" {
		t.Errorf("ParseAccess(IssueAccess(user_1)) = %v, %v", claims, err)
	}
}

func TestRegistryBuilderOptions(t *testing.T) {
	t.Parallel()

	cfg, _, _, err := config.Load(config.Files{}, func(k string) string {
		return map[string]string{"JWT_SECRET": strings.Repeat("k", 40), "SERVICE_NAME": "custom"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}

	bus, err := events.New(nil, eventsConfig(), []byte(cfg.JWTSecret), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}

	fake := &fakeModule{}

	reg := NewRegistryBuilder().WithConfig(cfg).WithBus(bus).WithModules(fake).
		WithEnv(map[string]string{"FAKE_GREETING": "bonjour"}).Build(t)
	if reg.Config() != cfg || reg.Bus() != bus {
		t.Error("Config() or Bus() is not what WithConfig and WithBus gave")
	}

	if err := reg.InitializeAll(); err != nil {
		t.Fatal(err)
	}

	if fake.cfg.Greeting != "bonjour" || !reg.Initialized() {
		t.Errorf("after InitializeAll: greeting %q, initialized %v; want bonjour (FAKE_GREETING), true",
			fake.cfg.Greeting, reg.Initialized())
	}
}

// eventsConfig is the default events configuration.
func eventsConfig() events.Config {
	return events.Config{
		Transport: events.TransportPostgres, Consume: true, MaxAttempts: 10, BackoffBase: time.Second,
		BackoffMax: 10 * time.Minute, Retention: 168 * time.Hour, Workers: 2, BatchSize: 32,
		PollInterval: time.Second, HandlerTimeout: 30 * time.Second,
	}
}

func TestRegistryBuilderNotifierDeliversCodes(t *testing.T) {
	t.Parallel()

	var out syncBuffer

	db := NewDatabase(t, migration.Source{Module: events.SchemaName, Migrations: events.Migrations()})
	reg := NewRegistryBuilder().WithDatabase(db.Pool).WithLogger(slog.New(slog.NewTextHandler(&out, nil))).Build(t)

	bus := reg.Bus()
	if bus == nil {
		t.Fatal("Bus() = nil with a database, want a durable bus")
	}

	StartBus(t, bus)

	payload, err := events.NewMagicCodeRequestedPayload(events.ChannelEmail, "ada@example.com", time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}

	e := events.Event{Name: events.MagicCodeRequestedEvent, Payload: payload, Secret: events.CodeSecret("123456")}
	if err := bus.Publish(t.Context(), e); err != nil {
		t.Fatal(err)
	}

	deadline := time.Now().Add(15 * time.Second)
	for got := out.String(); !strings.Contains(got, "to=ada@example.com") || !strings.Contains(got, "123456"); got = out.String() {
		if time.Now().After(deadline) {
			t.Fatalf("log after %s = %q, want the code logged by the dev email provider", events.MagicCodeRequestedEvent, got)
		}

		time.Sleep(20 * time.Millisecond)
	}
}

func TestRegistryBuilderWithoutDatabaseHasNoBus(t *testing.T) {
	t.Parallel()

	if bus := NewRegistryBuilder().Build(t).Bus(); bus != nil {
		t.Errorf("Bus() without a database = %v, want nil", bus)
	}
}

func TestRegistryBuilderFailsTest(t *testing.T) {
	t.Parallel()

	tests := map[string]*RegistryBuilder{
		"duplicate module": NewRegistryBuilder().WithModules(&fakeModule{}, &fakeModule{}),
		"short JWT secret": NewRegistryBuilder().WithEnv(map[string]string{"JWT_SECRET": "short"}),
		"bad environment":  NewRegistryBuilder().WithEnv(map[string]string{"ENV": "staging"}),
		"bad events configuration": NewRegistryBuilder().WithDatabase(lazyPool(t)).
			WithEnv(map[string]string{"EVENTS_WORKERS": "0"}),
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			if msg := fatalOf(t, func(tb testing.TB) { b.Build(tb) }); msg == "" {
				t.Error("Build succeeded, want the test failed")
			}
		})
	}
}

// fatalOf runs f with a testing.TB whose Fatal stops f's goroutine, and
// returns the fatal message ("" if f finished).
func fatalOf(t *testing.T, f func(testing.TB)) string {
	t.Helper()

	r := &fatalRecorder{TB: t}
	done := make(chan struct{})

	go func() {
		defer close(done)

		f(r)
	}()

	<-done

	return r.msg
}

type fatalRecorder struct {
	testing.TB

	msg string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatal(args ...any) {
	r.msg = fmt.Sprint(args...)

	runtime.Goexit()
}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)

	runtime.Goexit()
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()

	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()

	return b.buf.String()
}
