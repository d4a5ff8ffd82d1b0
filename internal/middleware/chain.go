package middleware

import "net/http"

// Chain wraps h in mws so that mws[0] is the outermost middleware: a request
// passes through mws[0], mws[1], …, and then reaches h.
func Chain(h http.Handler, mws ...func(http.Handler) http.Handler) http.Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}

	return h
}
