package routepolicy

import (
	"context"
	"sync"

	"github.com/modulith/modulith/internal/inproc"
)

// scope is the policy's state for one HTTP request: the rate-limit rules
// already charged, the decisions to report in its headers, and the first
// gRPC method it called (its route, for Cache-Control). Its calls may run
// on other goroutines (GraphQL resolves fields concurrently).
type scope struct {
	mu      sync.Mutex
	charged map[string]bool
	results []result
	method  string
}

type scopeKey struct{}

func withScope(ctx context.Context, s *scope) context.Context {
	return context.WithValue(ctx, scopeKey{}, s)
}

func scopeOf(ctx context.Context) *scope {
	if ctx == nil {
		return nil
	}

	s, _ := ctx.Value(scopeKey{}).(*scope)

	return s
}

// Operation returns ctx as the context of a request of its own, unless it
// already belongs to one: what each GraphQL operation over a WebSocket is.
func Operation(ctx context.Context) context.Context {
	if scopeOf(ctx) != nil {
		return ctx
	}

	return withScope(ctx, &scope{})
}

// charge reports whether pattern is charged for the first time in s, and
// marks it charged.
func (s *scope) charge(pattern string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()

	if s.charged[pattern] {
		return false
	}

	if s.charged == nil {
		s.charged = map[string]bool{}
	}

	s.charged[pattern] = true

	return true
}

func (s *scope) record(r result) {
	s.mu.Lock()
	defer s.mu.Unlock()

	s.results = append(s.results, r)
}

// refusal returns the refused result of pattern, if it was refused.
func (s *scope) refusal(pattern string) (result, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()

	for _, r := range s.results {
		if r.rule == pattern && !r.Allowed {
			return r, true
		}
	}

	return result{}, false
}

func (s *scope) recorded() []result {
	s.mu.Lock()
	defer s.mu.Unlock()

	return append([]result(nil), s.results...)
}

func (s *scope) called(method string) {
	s.mu.Lock()
	defer s.mu.Unlock()

	if s.method == "" {
		s.method = method
	}
}

func (s *scope) route() string {
	s.mu.Lock()
	defer s.mu.Unlock()

	return s.method
}

// callScope tells whether a gRPC call is a client's and returns the scope
// of its HTTP request, if it came from one. A call through the in-process
// channel is a client's only when the context it was made with carries a
// scope: the HTTP request's, not a module's serving a call (the channel
// hides the server's values from the calls it makes).
func callScope(ctx context.Context, inProcess bool) (s *scope, client bool) {
	if !inProcess {
		return nil, true
	}

	s = scopeOf(inproc.ClientContext(ctx))

	return s, s != nil
}
