package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/modulith/modulith/internal/middleware"
)

func TestChainFirstIsOutermost(t *testing.T) {
	var calls []string

	mw := func(name string) func(http.Handler) http.Handler {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls = append(calls, name+" in")

				next.ServeHTTP(w, r)

				calls = append(calls, name+" out")
			})
		}
	}
	h := middleware.Chain(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		calls = append(calls, "handler")
	}), mw("a"), mw("b"), mw("c"))

	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil))

	want := []string{"a in", "b in", "c in", "handler", "c out", "b out", "a out"}
	if diff := cmp.Diff(want, calls); diff != "" {
		t.Errorf("call order (-want +got):\n%s", diff)
	}
}

func TestChainWithoutMiddlewares(t *testing.T) {
	called := false
	h := middleware.Chain(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))

	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil))

	if !called {
		t.Error("Chain(h) did not call h")
	}
}
