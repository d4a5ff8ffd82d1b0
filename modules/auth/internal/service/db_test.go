package service_test

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/internal/events"
	"github.com/modulith/modulith/internal/migration"
	"github.com/modulith/modulith/internal/notifier"
	"github.com/modulith/modulith/internal/pgtest"
	"github.com/modulith/modulith/internal/reqmeta"
	"github.com/modulith/modulith/internal/secrets"
	"github.com/modulith/modulith/modules/auth/internal/repository"
	"github.com/modulith/modulith/modules/auth/internal/service"
	"github.com/modulith/modulith/modules/auth/resources"
)

// dbFixture is a service on a real, migrated PostgreSQL database of the
// test's own, on a clock the test moves; it keeps the last code it sent.
type dbFixture struct {
	svc   *service.Service
	clock *clock
	sent  *sentCodes
	db    *pgtest.Database
	// cfg and deps made svc: another replica of the service is made with
	// them too.
	cfg  service.Config
	deps service.Deps
}

// newDBFixture builds a service with testConfig (changed by opts) on a
// fresh database; its events stay in the outbox.
func newDBFixture(t testing.TB, opts ...func(*service.Config, *service.Deps)) *dbFixture {
	t.Helper()

	db := pgtest.NewDatabase(t,
		migration.Source{Module: events.SchemaName, Migrations: events.Migrations()},
		migration.Source{Module: "auth", Migrations: resources.Migrations()},
	)

	bus, err := events.New(db.Pool, events.Config{
		Transport: events.TransportPostgres, MaxAttempts: 10, BackoffBase: time.Second, BackoffMax: time.Minute,
		Retention: time.Hour, Workers: 1, BatchSize: 32, PollInterval: time.Second, HandlerTimeout: time.Minute,
	}, secrets.Fixed(bytes.Repeat([]byte{0x42}, 32)), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("events.New() = %v", err)
	}

	f := &dbFixture{clock: &clock{now: testNow}, sent: &sentCodes{}, db: db}
	cfg := testConfig()
	deps := service.Deps{
		Repo:     capturing{Repository: repository.New(db.Pool, bus), sent: f.sent},
		Tokens:   &fakeTokens{},
		Delivery: fakeDelivery{notifier.ChannelEmail: true, notifier.ChannelSMS: true},
		Logger:   slog.New(slog.DiscardHandler), CodeKey: keyring{current: testCodeKey()}, RefreshKey: keyring{current: testRefreshKey()}, Now: f.clock.Now,
	}

	for _, opt := range opts {
		opt(&cfg, &deps)
	}

	if f.svc, err = service.New(cfg, deps); err != nil {
		t.Fatalf("New(%+v) = %v", cfg, err)
	}

	f.cfg, f.deps = cfg, deps

	return f
}

// clock is a settable clock, safe for concurrent use.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()

	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()

	c.now = c.now.Add(d)
}

// sentCodes holds the last code published.
type sentCodes struct {
	mu   sync.Mutex
	code string
}

func (s *sentCodes) last() string {
	s.mu.Lock()
	defer s.mu.Unlock()

	return s.code
}

// capturing is a repository that notes the code of each event it
// publishes (as the notifier would receive it), then publishes it.
type capturing struct {
	repository.Repository

	sent *sentCodes
}

func (c capturing) WithTx(ctx context.Context, fn func(tx repository.Repository) error) error {
	return c.Repository.WithTx(ctx, func(tx repository.Repository) error {
		return fn(capturing{Repository: tx, sent: c.sent})
	})
}

func (c capturing) Publish(ctx context.Context, p events.Payload) error {
	if err := c.Repository.Publish(ctx, p); err != nil {
		return err
	}

	if code := codeOf(p); code != "" {
		c.sent.mu.Lock()
		defer c.sent.mu.Unlock()

		c.sent.code = code
	}

	return nil
}

// fromIP returns a request context from client address ip.
func fromIP(t testing.TB, ip string) context.Context {
	t.Helper()

	return reqmeta.WithUserAgent(reqmeta.WithClientIP(t.Context(), ip), testUserAgent)
}

// signIn requests a code for ana@example.com from ip and completes
// sign-in with it.
func (f *dbFixture) signIn(t *testing.T, ip string) *authv1.CompleteLoginResponse {
	t.Helper()

	const email = "ana@example.com"

	if _, err := f.svc.RequestLogin(fromIP(t, ip), loginByEmail(email)); err != nil {
		t.Fatalf("RequestLogin(%s) from %s = %v", email, ip, err)
	}

	resp, err := f.svc.CompleteLogin(fromIP(t, ip), completeByEmail(email, f.sent.last()))
	if err != nil {
		t.Fatalf("CompleteLogin(%s) from %s = %v", email, ip, err)
	}

	return resp
}
