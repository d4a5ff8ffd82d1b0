package examples

import (
	"io"
	"net/http"
	"testing"

	"github.com/modulith/modulith/cmd/server/commands"
	"github.com/modulith/modulith/modules"
)

// TestOperationalEndpointsOnAdminListener: /metrics, /healthz/ws and the
// runtime profiles (PPROF_ENABLED: on in dev, off in prod, unless set)
// answer on the admin listener
// and not on the API port, where the probes stay; for the monolith and
// for a module served alone.
func TestOperationalEndpointsOnAdminListener(t *testing.T) {
	t.Parallel()

	monolith := startServer(t, nil)
	unprofiled := startServer(t, map[string]string{"PPROF_ENABLED": "false"})
	alone := runProgram(t, commands.Service("auth", modules.All()), harnessEnv(freshDSN(t)), newLogs())

	tests := []struct {
		name  string
		s     *server
		path  string
		api   int // status on the API port
		admin int // status on the admin listener
	}{
		{name: "metrics", s: monolith, path: "/metrics", api: http.StatusNotFound, admin: http.StatusOK},
		{name: "sockets", s: monolith, path: "/healthz/ws", api: http.StatusNotFound, admin: http.StatusOK},
		{name: "pprof disabled", s: unprofiled, path: "/debug/pprof/", api: http.StatusNotFound, admin: http.StatusNotFound},
		{name: "pprof on in dev", s: monolith, path: "/debug/pprof/", api: http.StatusNotFound, admin: http.StatusOK},
		{name: "pprof heap", s: monolith, path: "/debug/pprof/heap", api: http.StatusNotFound, admin: http.StatusOK},
		{name: "readiness", s: monolith, path: "/readyz", api: http.StatusOK, admin: http.StatusOK},
		{name: "liveness", s: monolith, path: "/livez", api: http.StatusOK, admin: http.StatusOK},
		{name: "module alone: metrics", s: alone.server, path: "/metrics", api: http.StatusNotFound, admin: http.StatusOK},
		{name: "module alone: readiness", s: alone.server, path: "/readyz", api: http.StatusOK, admin: http.StatusOK},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r := tt.s.do(t, http.MethodGet, tt.path, nil, ""); r.Status != tt.api {
				t.Errorf("API GET %s = %d, want %d", tt.path, r.Status, tt.api)
			}

			if r := tt.s.admin(t, tt.path); r.Status != tt.admin {
				t.Errorf("admin GET %s = %d, want %d", tt.path, r.Status, tt.admin)
			}
		})
	}
}

// admin sends GET path to the server's admin listener.
func (s *server) admin(t *testing.T, path string) response {
	t.Helper()

	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.Admin+path, nil)
	if err != nil {
		t.Fatal(err)
	}

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("admin GET %s: %v", path, err)
	}
	defer resp.Body.Close()

	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}

	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}
