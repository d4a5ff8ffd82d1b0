package examples

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/modulith/modulith/internal/pgtest"
)

// outageWait is how long readiness may take to follow the database.
const outageWait = 10 * time.Second

// TestReadinessFollowsDatabase cuts the database off behind a proxy: the
// load balancer must stop sending traffic (/readyz 503, database
// "unhealthy") while the orchestrator must not restart the process
// (/livez 200), and once the database is back the same process serves
// again.
func TestReadinessFollowsDatabase(t *testing.T) {
	t.Parallel()

	db := pgtest.NewDatabase(t, migrationSources()...)
	proxy, dsn := pgtest.NewDatabaseProxy(t, db.DSN)
	s := runServer(t, harnessEnv(dsn))

	if r := s.do(t, http.MethodGet, "/readyz", nil, ""); r.Status != http.StatusOK {
		t.Fatalf("GET /readyz before the outage = %d %s, want 200", r.Status, r.Body)
	}

	proxy.Break()

	r := s.pollReadyz(t, http.StatusServiceUnavailable)
	if r.Status != http.StatusServiceUnavailable {
		t.Fatalf("GET /readyz during the outage = %d %s, want 503 within %v", r.Status, r.Body, outageWait)
	}

	checks, _ := r.JSON(t)["checks"].(map[string]any)
	if checks["database"] != "unhealthy" || checks["modules"] != "healthy" {
		t.Errorf("GET /readyz checks during the outage = %v, want database unhealthy, modules healthy", checks)
	}

	if r := s.do(t, http.MethodGet, "/livez", nil, ""); r.Status != http.StatusOK {
		t.Errorf("GET /livez during the outage = %d, want 200 (the process is fine)", r.Status)
	}

	proxy.Restore()

	if r := s.pollReadyz(t, http.StatusOK); r.Status != http.StatusOK {
		t.Fatalf("GET /readyz after the outage = %d %s, want 200 within %v", r.Status, r.Body, outageWait)
	}

	tok := s.login(t, "back@example.com")
	if r := s.do(t, http.MethodGet, "/v1/auth/profile", nil, tok.Access); r.Status != http.StatusOK {
		t.Errorf("GET /v1/auth/profile after the outage = %d %s, want 200", r.Status, r.Body)
	}

	checkOutageLogged(t, s.logs)
}

// checkOutageLogged checks that readiness logged the outage and that the
// process started once: it rode the outage out.
func checkOutageLogged(t *testing.T, l *logs) {
	t.Helper()

	if _, err := l.wait(logWait, msgPrefix("readiness: database unreachable")); err != nil {
		t.Error("no \"readiness: database unreachable\" warning logged during the outage")
	}

	starts := 0

	for _, line := range l.snapshot() {
		if line.Msg() == "server ready" {
			starts++
		}
	}

	if starts != 1 {
		t.Errorf("the log has %d \"server ready\" lines, want 1", starts)
	}
}

// TestHealthCommand runs `server health`, the image's HEALTHCHECK, against a
// running server: it succeeds while /readyz answers 200 and fails while the
// database is out of reach or when nothing listens.
func TestHealthCommand(t *testing.T) {
	t.Parallel()

	db := pgtest.NewDatabase(t, migrationSources()...)
	proxy, dsn := pgtest.NewDatabaseProxy(t, db.DSN)
	s := runServer(t, harnessEnv(dsn))

	u, err := url.Parse(s.HTTP)
	if err != nil {
		t.Fatal(err)
	}

	vars := map[string]string{"HTTP_PORT": u.Port(), "BIND_HOST": "0.0.0.0"}

	if out, err := runCommand(t, vars, "health"); err != nil || strings.TrimSpace(out) != "ready" {
		t.Fatalf("server health while ready = %q, %v; want \"ready\", nil", out, err)
	}

	proxy.Break()

	if r := s.pollReadyz(t, http.StatusServiceUnavailable); r.Status != http.StatusServiceUnavailable {
		t.Fatalf("GET /readyz during the outage = %d, want 503", r.Status)
	}

	if _, err := runCommand(t, vars, "health"); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("server health during the outage: error %v, want one naming 503", err)
	}

	proxy.Restore()

	if _, err := runCommand(t, map[string]string{"HTTP_PORT": freePorts(t, 1)[0]}, "health"); err == nil {
		t.Error("server health with nothing listening succeeded, want an error")
	}
}
