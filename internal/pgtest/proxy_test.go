package pgtest

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestTCPProxySimulatesDatabaseOutage(t *testing.T) {
	t.Parallel()

	db := NewDatabase(t)
	proxy, dsn := NewDatabaseProxy(t, db.DSN)

	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("connect through the proxy: %v", err)
	}

	t.Cleanup(func() { _ = conn.Close(context.Background()) })

	pool, err := pgxpool.New(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(pool.Close)

	if err := ping(t, conn, pool); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}

	proxy.Break()

	if err := conn.Ping(t.Context()); err == nil {
		t.Error("Ping on a connection opened before Break succeeded, want it cut")
	}

	if err := pool.Ping(t.Context()); err == nil {
		t.Error("pool Ping after Break succeeded, want no connection possible")
	}

	if _, err := dial(t, dsn); err == nil {
		t.Error("connect after Break succeeded, want it refused")
	}

	proxy.Restore()

	fresh, err := dial(t, dsn)
	if err != nil {
		t.Fatalf("connect after Restore: %v", err)
	}

	t.Cleanup(func() { _ = fresh.Close(context.Background()) })

	if err := ping(t, fresh, pool); err != nil {
		t.Errorf("after Restore: %v", err)
	}
}

// dial opens a connection, giving up after a few seconds.
func dial(t *testing.T, dsn string) (*pgx.Conn, error) {
	t.Helper()

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()

	return pgx.Connect(ctx, dsn)
}

func ping(t *testing.T, conn *pgx.Conn, pool *pgxpool.Pool) error {
	t.Helper()

	var one int
	if err := conn.QueryRow(t.Context(), "SELECT 1").Scan(&one); err != nil {
		return err
	}

	return pool.Ping(t.Context())
}

func TestNewDatabaseProxyRewritesDSN(t *testing.T) {
	t.Parallel()

	const dsn = "postgres://app@db.invalid/orders?sslmode=disable"

	proxy, proxied := NewDatabaseProxy(t, dsn)

	got, err := url.Parse(proxied)
	if err != nil {
		t.Fatal(err)
	}

	if got.Host != proxy.Addr() || got.User.String() != "app" || got.Path != "/orders" || got.RawQuery != "sslmode=disable" {
		t.Errorf("NewDatabaseProxy(%q) DSN = %q, want the same URL at %s", dsn, proxied, proxy.Addr())
	}

	if proxy.target != "db.invalid:5432" {
		t.Errorf("proxy target = %q, want db.invalid:5432 (default port)", proxy.target)
	}
}
