package health_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modulith/modulith/cmd/server/health"
)

// pinger answers Ping with err, or blocks until the context ends.
type pinger struct {
	err   error
	block bool
}

func (p pinger) Ping(ctx context.Context) error {
	if p.block {
		<-ctx.Done()

		return ctx.Err()
	}

	return p.err
}

func modules(results map[string]error) func(context.Context) map[string]error {
	return func(context.Context) map[string]error { return results }
}

func serve(t *testing.T, c *health.Checker, path string) (int, health.Response, http.Header) {
	t.Helper()

	mux := http.NewServeMux()
	c.Register(mux)

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil))

	var body health.Response
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("GET %s body %q: %v", path, rec.Body.String(), err)
	}

	return rec.Code, body, rec.Header()
}

func newChecker(p health.Pinger, m map[string]error) *health.Checker {
	return health.New(p, modules(m), slog.New(slog.DiscardHandler))
}

func TestLiveness(t *testing.T) {
	// Liveness does not depend on the database or the modules.
	c := newChecker(pinger{err: fmt.Errorf("down")}, map[string]error{"auth": fmt.Errorf("down")})
	c.ShutDown()

	for _, path := range []string{"/livez", "/healthz"} {
		t.Run(path, func(t *testing.T) {
			code, body, header := serve(t, c, path)
			if code != http.StatusOK {
				t.Errorf("GET %s = %d, want 200", path, code)
			}

			if diff := cmp.Diff(health.Response{Status: "alive"}, body); diff != "" {
				t.Errorf("GET %s (-want +got):\n%s", path, diff)
			}

			checkHeaders(t, header)
		})
	}
}

func checkHeaders(t *testing.T, header http.Header) {
	t.Helper()

	if header.Get("Content-Type") != "application/json" || header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers = %v, want JSON, no-store", header)
	}
}

func TestReadiness(t *testing.T) {
	down := fmt.Errorf("down")

	tests := []struct {
		name     string
		db       health.Pinger
		modules  map[string]error
		wantCode int
		want     health.Response
	}{
		{
			name: "all healthy", db: pinger{}, modules: map[string]error{"auth": nil, "billing": nil},
			wantCode: http.StatusOK,
			want:     health.Response{Status: "ready", Checks: map[string]string{"database": "healthy", "modules": "healthy"}},
		},
		{
			name: "no module checks", db: pinger{}, wantCode: http.StatusOK,
			want: health.Response{Status: "ready", Checks: map[string]string{"database": "healthy", "modules": "healthy"}},
		},
		{
			name: "database down", db: pinger{err: down}, modules: map[string]error{"auth": nil},
			wantCode: http.StatusServiceUnavailable,
			want:     health.Response{Status: "not_ready", Checks: map[string]string{"database": "unhealthy", "modules": "healthy"}},
		},
		{
			name: "module down", db: pinger{}, modules: map[string]error{"auth": nil, "billing": down},
			wantCode: http.StatusServiceUnavailable,
			want: health.Response{Status: "not_ready", Checks: map[string]string{
				"database": "healthy", "modules": "unhealthy: billing",
			}},
		},
		{
			name: "everything down", db: pinger{err: down}, modules: map[string]error{"zeta": down, "auth": down, "billing": nil},
			wantCode: http.StatusServiceUnavailable,
			want: health.Response{Status: "not_ready", Checks: map[string]string{
				"database": "unhealthy", "modules": "unhealthy: auth, zeta",
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body, header := serve(t, newChecker(tt.db, tt.modules), "/readyz")
			if code != tt.wantCode {
				t.Errorf("GET /readyz = %d, want %d", code, tt.wantCode)
			}

			if diff := cmp.Diff(tt.want, body); diff != "" {
				t.Errorf("GET /readyz (-want +got):\n%s", diff)
			}

			checkHeaders(t, header)

			if got, want := newChecker(tt.db, tt.modules).Ready(t.Context()), tt.wantCode == http.StatusOK; got != want {
				t.Errorf("Ready() = %v, want %v, as /readyz answers", got, want)
			}
		})
	}
}

func TestReadinessAfterShutDown(t *testing.T) {
	c := newChecker(pinger{}, map[string]error{"auth": nil})

	if code, _, _ := serve(t, c, "/readyz"); code != http.StatusOK {
		t.Fatalf("GET /readyz before ShutDown = %d, want 200", code)
	}

	c.ShutDown()

	code, body, _ := serve(t, c, "/readyz")
	if code != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz after ShutDown = %d, want 503", code)
	}

	if diff := cmp.Diff(health.Response{Status: "shutting_down"}, body); diff != "" {
		t.Errorf("GET /readyz after ShutDown (-want +got):\n%s", diff)
	}

	if c.Ready(t.Context()) {
		t.Error("Ready() after ShutDown = true, want false")
	}
}

func TestReadinessBoundsThePing(t *testing.T) {
	c := newChecker(pinger{block: true}, nil)

	start := time.Now()
	code, body, _ := serve(t, c, "/readyz")
	elapsed := time.Since(start)

	if code != http.StatusServiceUnavailable || body.Checks["database"] != "unhealthy" {
		t.Errorf("GET /readyz with a hanging database = %d %+v, want 503 database unhealthy", code, body)
	}

	// The bound is 2s; allow for a slow machine, but not for no bound at all.
	if elapsed < time.Second || elapsed > 10*time.Second {
		t.Errorf("GET /readyz took %v, want about 2s", elapsed)
	}
}

func TestReadinessPassesContextToModules(t *testing.T) {
	var deadline bool

	c := health.New(pinger{}, func(ctx context.Context) map[string]error {
		_, deadline = ctx.Deadline()

		return nil
	}, slog.New(slog.DiscardHandler))

	serve(t, c, "/readyz")

	if !deadline {
		t.Error("module checks ran without a deadline")
	}
}

func TestProbesAreGETOnly(t *testing.T) {
	mux := http.NewServeMux()
	newChecker(pinger{}, nil).Register(mux)

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/readyz", nil))

	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /readyz = %d, want 405", rec.Code)
	}
}
