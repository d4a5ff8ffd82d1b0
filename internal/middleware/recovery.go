package middleware

import (
	stderrors "errors"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/modulith/modulith/internal/errors"
)

// Recovery turns a panic in a handler into a logged error and a 500 with the
// platform's JSON error body, so one bad request does not take its
// connection down silently.
//
// http.ErrAbortHandler is re-panicked, as net/http expects, and so is any
// panic after the response has begun: its status and part of its body are
// already on the wire, and only aborting the connection tells the client the
// response is broken.
func Recovery(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rw := wrap(w)

			defer func() {
				p := recover()
				if p == nil {
					return
				}

				if err, ok := p.(error); ok && stderrors.Is(err, http.ErrAbortHandler) {
					panic(p)
				}

				value, stack := panicOrigin(p)
				logger.ErrorContext(r.Context(), "panic serving request",
					slog.Any("panic", value),
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
					slog.String("stack", string(stack)),
				)

				if rw.wroteHeader || rw.hijacked {
					panic(http.ErrAbortHandler)
				}

				errors.WriteHTTP(rw, http.StatusInternalServerError, errors.Internal("internal error", nil))
			}()

			serve(next, rw, r)
		})
	}
}

// panicOrigin returns the value and stack of the panic p, reaching through
// a panic Timeout carried over from the handler's goroutine.
func panicOrigin(p any) (any, []byte) {
	var gp *panicError
	if err, ok := p.(error); ok && stderrors.As(err, &gp) {
		return gp.value, gp.stack
	}

	return p, debug.Stack()
}
