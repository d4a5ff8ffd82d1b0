package middleware_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/modulith/modulith/internal/middleware"

	"github.com/modulith/modulith/internal/telemetry/logtest"
)

// loggedRoute serves a request for path through mws and h and returns the
// route AccessLog logged.
func loggedRoute(t *testing.T, h http.Handler, path string, mws ...func(http.Handler) http.Handler) string {
	t.Helper()

	logger, logs := logtest.New(slog.LevelDebug)
	mws = append([]func(http.Handler) http.Handler{middleware.AccessLog(logger, middleware.LoggingConfig{})}, mws...)

	middleware.Chain(h, mws...).ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil))

	records := logs.Records()
	if len(records) != 1 {
		t.Fatalf("logged %d records, want 1", len(records))
	}

	route, _ := logtest.Attrs(records[0])["route"].(string)

	return route
}

func TestRouteFromServeMux(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/items/{id}", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("/docs/", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("/v1/named/{id}", func(_ http.ResponseWriter, r *http.Request) {
		middleware.SetRoute(r.Context(), "/v1/named/{name_id}")
	})

	between := []func(http.Handler) http.Handler{
		middleware.SecurityHeaders(middleware.SecurityConfig{}),
		middleware.CORS(middleware.CORSConfig{}),
		middleware.BodyLimit(1 << 20),
		middleware.Timeout(time.Minute),
	}

	tests := []struct {
		name string
		path string
		mws  []func(http.Handler) http.Handler
		want string
	}{
		{name: "method pattern", path: "/v1/items/42", want: "/v1/items/{id}"},
		{name: "prefix pattern", path: "/docs/index.html", want: "/docs/"},
		{name: "no match", path: "/nope", want: middleware.Unmatched},
		{name: "handler's route wins", path: "/v1/named/7", want: "/v1/named/{name_id}"},
		{name: "through the stack", path: "/v1/items/42", mws: between, want: "/v1/items/{id}"},
		{name: "no match through the stack", path: "/nope", mws: between, want: middleware.Unmatched},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := loggedRoute(t, mux, tt.path, tt.mws...); got != tt.want {
				t.Errorf("route of %s = %q, want %q", tt.path, got, tt.want)
			}
		})
	}
}

func TestRouteWithoutMux(t *testing.T) {
	h := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})

	if got := loggedRoute(t, h, "/v1/items/42"); got != middleware.Unmatched {
		t.Errorf("route = %q, want %q", got, middleware.Unmatched)
	}
}

func TestRouteVisibleToHandlers(t *testing.T) {
	var before, after string

	h := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		before = middleware.Route(r.Context())
		middleware.SetRoute(r.Context(), "/v1/items/{id}")
		after = middleware.Route(r.Context())
	})

	loggedRoute(t, h, "/v1/items/42")

	if before != "" || after != "/v1/items/{id}" {
		t.Errorf("Route before and after SetRoute = %q, %q; want \"\", %q", before, after, "/v1/items/{id}")
	}
}

func TestRouteOutsideARequest(t *testing.T) {
	ctx := context.Background()
	middleware.SetRoute(ctx, "/v1/items/{id}")

	if got := middleware.Route(ctx); got != "" {
		t.Errorf("Route(background) = %q, want \"\"", got)
	}
}
