package middleware

import (
	"context"
	"net/http"
	"strings"
	"sync"
)

// Unmatched is the route of a request no handler claimed a pattern for.
const Unmatched = "unmatched"

type routeKey struct{}

// routeHolder carries the route of one request. The handler that matches the
// request sets it, possibly on another goroutine (see Timeout); once the
// observers have read it, it is final, so that the log line, the metric and
// the span all carry the same route.
type routeHolder struct {
	mu    sync.Mutex
	route string
	final bool
}

// SetRoute records the route pattern that matched the request in ctx, such
// as "/v1/auth/sessions/{session_id}". It is meant for routers that know the
// pattern (the grpc-gateway); it does nothing outside an observed request or
// after the request has been reported.
func SetRoute(ctx context.Context, pattern string) {
	h, _ := ctx.Value(routeKey{}).(*routeHolder)
	if h == nil || pattern == "" {
		return
	}

	h.mu.Lock()
	defer h.mu.Unlock()

	if !h.final {
		h.route = pattern
	}
}

// Route returns the route recorded for the request in ctx: "" until a
// handler or the ServeMux has named it, Unmatched once the request has been
// reported without one.
func Route(ctx context.Context) string {
	h, _ := ctx.Value(routeKey{}).(*routeHolder)
	if h == nil {
		return ""
	}

	h.mu.Lock()
	defer h.mu.Unlock()

	return h.route
}

// withRouteHolder returns r with a route holder in its context, reusing the
// one an outer middleware put there.
func withRouteHolder(r *http.Request) (*http.Request, *routeHolder) {
	if h, ok := r.Context().Value(routeKey{}).(*routeHolder); ok {
		return r, h
	}

	h := &routeHolder{}

	return r.WithContext(context.WithValue(r.Context(), routeKey{}, h)), h
}

// resolve fixes the route after the handler has returned: the one set, else
// the ServeMux pattern matched on r, else Unmatched.
func (h *routeHolder) resolve(r *http.Request) string {
	h.mu.Lock()
	defer h.mu.Unlock()

	if h.route == "" {
		h.route = muxRoute(r)
	}

	if h.route == "" {
		h.route = Unmatched
	}

	h.final = true

	return h.route
}

// serve calls next and then records the pattern net/http's ServeMux matched,
// if no handler set a route. ServeMux sets Pattern on the very request it is
// given, which only the middleware that called it holds, so every middleware
// of this package that passes a request on does so through serve.
func serve(next http.Handler, w http.ResponseWriter, r *http.Request) {
	next.ServeHTTP(w, r)
	setRouteIfEmpty(r.Context(), muxRoute(r))
}

// setRouteIfEmpty is SetRoute that keeps a route already set.
func setRouteIfEmpty(ctx context.Context, route string) {
	h, _ := ctx.Value(routeKey{}).(*routeHolder)
	if h == nil || route == "" {
		return
	}

	h.mu.Lock()
	defer h.mu.Unlock()

	if h.route == "" && !h.final {
		h.route = route
	}
}

// muxRoute returns the path part of the ServeMux pattern matched on r:
// "GET /v1/users/{id}" becomes "/v1/users/{id}", since the method is
// recorded separately.
func muxRoute(r *http.Request) string {
	_, path, found := strings.Cut(r.Pattern, " ")
	if !found {
		return r.Pattern
	}

	return strings.TrimLeft(path, " \t")
}
