package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestThrowawayCluster starts a real cluster from this machine's PostgreSQL
// binaries on a free port, the way up does when nothing answers and no
// Docker engine does, and takes it through reset, status and down.
func TestThrowawayCluster(t *testing.T) {
	bins, err := findBinaries(exec.LookPath, binGlobs)
	if err != nil {
		t.Fatalf("findBinaries() = %v: this test needs the PostgreSQL server binaries "+
			"(apt install postgresql, brew install postgresql@16)", err)
	}

	tg, err := parseTarget(fmt.Sprintf("postgres://postgres@127.0.0.1:%d/devdb_test?sslmode=disable", freePort(t)))
	if err != nil {
		t.Fatal(err)
	}

	var stdout bytes.Buffer

	d := &devdb{
		stdout:   &stdout,
		stderr:   io.Discard,
		target:   tg,
		source:   "the test",
		dataDir:  reachableTempDir(t),
		euid:     os.Geteuid(),
		docker:   func(context.Context) bool { return false },
		findBins: func() (binaries, error) { return bins, nil },
	}

	t.Cleanup(func() { stopImmediately(t, d, bins) })

	ctx := t.Context()

	step := func(name string, f func(context.Context) error, want ...string) {
		t.Helper()
		stdout.Reset()

		if err := f(ctx); err != nil {
			t.Fatalf("%s: %v", name, err)
		}

		t.Logf("%s:\n%s", name, stdout.String())

		for _, w := range want {
			if !strings.Contains(stdout.String(), w) {
				t.Fatalf("%s printed %q, want it to contain %q", name, stdout.String(), w)
			}
		}
	}

	step("up", d.up, "creating a throwaway PostgreSQL", "(initdb, first time only", "started a throwaway PostgreSQL", `created database "devdb_test"`)
	selectOne(t, tg)
	execSQL(t, tg, "CREATE TABLE marker (id int)")

	step("reset", d.reset, `PostgreSQL answers at postgres://postgres@127.0.0.1`, `dropped and recreated database "devdb_test"`)

	if got := querySQL(t, tg, "SELECT to_regclass('marker') IS NULL"); !got {
		t.Errorf("after reset, table marker still exists")
	}

	step("status", d.status, "started by devdb: the throwaway cluster")
	step("down", d.down, "stopped the throwaway PostgreSQL")

	if err := ping(ctx, tg.dsn()); err == nil || serverAnswered(err) {
		t.Fatalf("after down, ping() = %v, want no answer", err)
	}

	step("up again", d.up, "starting the throwaway PostgreSQL", "started a throwaway PostgreSQL")
	step("up while running", d.up, `(database "devdb_test" ready)`)
	selectOne(t, tg)
	step("down again", d.down, "stopped the throwaway PostgreSQL")
	step("down when stopped", d.down, "nothing to stop")
}

// freePort returns a TCP port on 127.0.0.1 that nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()

	var lc net.ListenConfig

	l, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}

	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		t.Fatalf("listener address %v is not TCP", l.Addr())
	}

	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	return addr.Port
}

// reachableTempDir returns a new directory right below the system temporary
// directory, so that the postgres OS user, which runs the cluster when the
// test runs as root, can reach it: t.TempDir nests it in a directory only
// the current user may enter.
func reachableTempDir(t *testing.T) string {
	t.Helper()

	dir, err := os.MkdirTemp("", "devdb-test-")
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Error(err)
		}
	})

	return dir
}

// stopImmediately stops the cluster if a failed test left it running.
func stopImmediately(t *testing.T, d *devdb, bins binaries) {
	t.Helper()

	c, err := d.cluster()
	if err != nil {
		t.Error(err)

		return
	}

	if _, ok := c.running(); ok {
		if err := c.run(context.Background(), bins.path("pg_ctl"), "-D", c.dataDir(), "-m", "immediate", "stop"); err != nil {
			t.Error(err)
		}
	}
}

func selectOne(t *testing.T, tg target) {
	t.Helper()

	var one int
	if err := withConn(t, tg, func(conn *pgx.Conn) error {
		return conn.QueryRow(t.Context(), "SELECT 1").Scan(&one)
	}); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v; want 1, nil", one, err)
	}
}

func execSQL(t *testing.T, tg target, sql string) {
	t.Helper()

	if err := withConn(t, tg, func(conn *pgx.Conn) error {
		_, err := conn.Exec(t.Context(), sql)

		return err
	}); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func querySQL(t *testing.T, tg target, sql string) bool {
	t.Helper()

	var got bool

	if err := withConn(t, tg, func(conn *pgx.Conn) error {
		return conn.QueryRow(t.Context(), sql).Scan(&got)
	}); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}

	return got
}

func withConn(t *testing.T, tg target, f func(*pgx.Conn) error) error {
	t.Helper()

	conn, err := pgx.Connect(t.Context(), tg.dsn())
	if err != nil {
		return err
	}

	defer func() {
		if err := conn.Close(context.Background()); err != nil {
			t.Error(err)
		}
	}()

	return f(conn)
}
