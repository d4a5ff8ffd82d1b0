package routepolicy

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/reqmeta"
)

// Middleware marks each HTTP request as a client's, so that the gRPC calls
// it makes through the in-process channel are charged (once per rule), and
// writes the RateLimit headers of what they were charged on its response.
// Requests to the paths in charged are not gRPC methods: it charges them
// itself, to the rule of their path, and answers 429 when over the limit.
// WebSocket upgrades get no scope: each operation on a socket is its own
// request (Operation).
//
// It must run after ClientIP, which names the client.
func (p *Policy) Middleware(charged ...string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := &scope{}
			hw := &headerWriter{ResponseWriter: w, scope: s}

			if slices.Contains(charged, r.URL.Path) && !p.chargeEdge(hw, r, s) {
				return
			}

			if r.Header.Get("Upgrade") != "" {
				hw.writeHeaders()
				next.ServeHTTP(w, r)

				return
			}

			next.ServeHTTP(hw, r.WithContext(withScope(r.Context(), s)))
		})
	}
}

// chargeEdge charges r to the rule of its path; false when it answered
// 429 instead.
func (p *Policy) chargeEdge(w *headerWriter, r *http.Request, s *scope) bool {
	_, _, err := p.limit(r.Context(), s, r.URL.Path, p.httpCaller(r))
	if err == nil {
		return true
	}

	de := errors.ToDomain(err)
	errors.WriteHTTP(w, errors.HTTPStatus(de.Type), de)

	return false
}

// httpCaller is the rate-limit key of the caller of r before any gRPC call
// has authenticated it: the subject of a valid bearer token (signature
// and expiry; the session is checked by the call), else the client's IP
// address. A forged token names nobody.
func (p *Policy) httpCaller(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if ok && strings.EqualFold(scheme, "bearer") && p.tokens != nil {
		if claims, err := p.tokens.ParseAccess(strings.TrimSpace(token)); err == nil {
			return "user:" + claims.Subject
		}
	}

	return "ip:" + reqmeta.ClientIP(r.Context())
}

// headerWriter adds the RateLimit headers of its request's scope to the
// response when its header is written, and Retry-After to a refusal.
type headerWriter struct {
	http.ResponseWriter

	scope *scope
	done  bool
}

func (w *headerWriter) writeHeaders() {
	if w.done {
		return
	}

	w.done = true

	rs := w.scope.recorded()
	if len(rs) == 0 {
		return
	}

	h := w.Header()
	h.Set("RateLimit-Policy", policyHeader(rs))
	h.Set("RateLimit", rateLimitHeader(rs))

	if d := retryAfter(rs); d > 0 && h.Get("Retry-After") == "" {
		h.Set("Retry-After", strconv.FormatInt(seconds(d), 10))
	}
}

// WriteHeader writes the RateLimit headers first.
func (w *headerWriter) WriteHeader(code int) {
	if code >= 200 || code == http.StatusSwitchingProtocols {
		w.writeHeaders()
	}

	w.ResponseWriter.WriteHeader(code)
}

// Write writes the RateLimit headers first if the header is not written.
func (w *headerWriter) Write(b []byte) (int, error) {
	w.writeHeaders()

	n, err := w.ResponseWriter.Write(b)
	if err != nil {
		return n, fmt.Errorf("write response: %w", err)
	}

	return n, nil
}

// Unwrap gives http.ResponseController the writer beneath (Flush,
// deadlines).
func (w *headerWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush writes the headers and flushes what the response wrote so far.
func (w *headerWriter) Flush() {
	w.writeHeaders()

	_ = http.NewResponseController(w.ResponseWriter).Flush()
}
