// Package middleware is the HTTP middleware stack in front of the
// grpc-gateway mux, the OpenAPI document and the Swagger UI.
//
// Every middleware is a func(http.Handler) http.Handler, or a constructor
// returning one; Chain applies them so that the first listed is outermost.
// The intended order, outermost first, is
//
//	RequestID → ClientIP → Recovery → Tracing → Metrics → AccessLog →
//	SecurityHeaders → CORS → BodyLimit → Timeout → mux
//
// so that every log line and span carries the request ID and client IP, a
// panic anywhere below Recovery becomes a 500 that is still traced, counted
// and logged, and the observers see the final status, including the 403 of a
// rejected preflight, the 413 of an oversized body and the 504 of a timeout.
//
// The observers (Recovery, Tracing, Metrics, AccessLog) share one response
// writer wrapper that records status and size; it still offers
// http.Flusher, http.Hijacker and Unwrap, so http.ResponseController and
// WebSocket upgrades work through it. They label requests with the matched
// route pattern, never the raw path: the handler that knows the pattern (the
// grpc-gateway) calls SetRoute, and otherwise the pattern net/http's
// ServeMux matched is used, or "unmatched".
package middleware
