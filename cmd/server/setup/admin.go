package setup

import (
	"net/http"
	"net/http/pprof"

	"github.com/modulith/modulith/cmd/server/health"
	"github.com/modulith/modulith/internal/websocket"
)

// AdminDeps are what the admin listener serves.
type AdminDeps struct {
	Health  *health.Checker
	Metrics http.Handler
	// WebSocket, when set, serves /healthz/ws.
	WebSocket *websocket.Hub
	// Pprof serves the runtime profiles at /debug/pprof/ (PPROF_ENABLED).
	Pprof bool
}

// AdminHandler serves the operational endpoints, which must not be public:
// /metrics, /healthz/ws, the runtime profiles when enabled, and the probes
// too, so that one port answers everything an operator asks. It listens on
// ADMIN_BIND_HOST:ADMIN_PORT (loopback in prod), apart from the API.
func AdminHandler(d AdminDeps) http.Handler {
	mux := http.NewServeMux()
	d.Health.Register(mux)
	mux.Handle("GET /metrics", d.Metrics)

	if d.WebSocket != nil {
		mux.Handle("GET /healthz/ws", websocket.StatsHandler(d.WebSocket))
	}

	if d.Pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}

	return mux
}
