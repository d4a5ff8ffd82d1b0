package middleware

import (
	"bytes"
	"context"
	stderrors "errors"
	"fmt"
	"maps"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/modulith/modulith/internal/errors"
)

// Timeout gives each request d to complete, like http.TimeoutHandler: the
// handler runs with a context deadline d away and writes into a buffer; if
// it finishes in time, its headers, status and body are copied to the
// client, else the client gets 504 with the platform's error body and the
// handler's later writes fail with http.ErrHandlerTimeout. A panic in the
// handler is re-raised on the serving goroutine, for Recovery, as an error
// that carries the handler goroutine's stack and unwraps to the panic value
// when that is an error.
//
// Because responses are buffered, handlers under Timeout cannot stream,
// flush, hijack the connection or set its deadlines, and 1xx responses are
// dropped. WebSocket upgrades (Upgrade:
// websocket) bypass it entirely: they live as long as the connection. A
// panic after the deadline, when the 504 has been sent, is lost, as in
// net/http. d ≤ 0 disables the timeout.
func Timeout(d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if d <= 0 {
			return next
		}

		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if isWebSocketUpgrade(r) {
				serve(next, w, r)

				return
			}

			serveWithTimeout(next, w, r, d)
		})
	}
}

func serveWithTimeout(next http.Handler, w http.ResponseWriter, r *http.Request, d time.Duration) {
	ctx, cancel := context.WithTimeout(r.Context(), d)
	defer cancel()

	r = r.WithContext(ctx)
	tw := &timeoutWriter{h: make(http.Header)}
	done := make(chan struct{})
	panicked := make(chan any, 1)

	go func() {
		defer func() {
			if p := recover(); p != nil {
				panicked <- withStack(p)
			}
		}()

		serve(next, tw, r)
		close(done)
	}()

	select {
	case p := <-panicked:
		panic(p)
	case <-done:
		tw.copyTo(w)
	case <-ctx.Done():
		tw.abandon(w, ctx.Err())
	}
}

// panicError is the panic of a handler Timeout ran, re-raised on the
// serving goroutine with the stack of the goroutine it happened on, which
// Recovery logs; the serving goroutine's own stack would only show Timeout.
type panicError struct {
	value any
	stack []byte
}

// withStack wraps a handler's panic value with its stack, except
// http.ErrAbortHandler, which net/http must see as it is.
func withStack(p any) any {
	if err, ok := p.(error); ok && stderrors.Is(err, http.ErrAbortHandler) {
		return p
	}

	return &panicError{value: p, stack: debug.Stack()}
}

// Error shows the panic and its stack, for net/http's own panic log when
// Recovery is not in the chain.
func (p *panicError) Error() string {
	return fmt.Sprintf("%v\n\nhandler goroutine stack:\n%s", p.value, p.stack)
}

// Unwrap returns the panic value when it is an error.
func (p *panicError) Unwrap() error {
	err, _ := p.value.(error)

	return err
}

// isWebSocketUpgrade reports whether r asks to switch to WebSocket.
func isWebSocketUpgrade(r *http.Request) bool {
	for _, v := range r.Header.Values("Upgrade") {
		for p := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(p), "websocket") {
				return true
			}
		}
	}

	return false
}

// timeoutWriter buffers a response until the handler finishes in time. Its
// mutex orders the handler's writes against the serving goroutine's copy
// or abandonment of the response.
type timeoutWriter struct {
	h    http.Header
	wbuf bytes.Buffer

	mu          sync.Mutex
	err         error
	wroteHeader bool
	code        int
}

// Header returns the handler's own header map, copied to the response when
// the handler finishes in time.
func (tw *timeoutWriter) Header() http.Header { return tw.h }

// Write buffers p; after the deadline it fails with http.ErrHandlerTimeout.
func (tw *timeoutWriter) Write(p []byte) (int, error) {
	tw.mu.Lock()
	defer tw.mu.Unlock()

	if tw.err != nil {
		return 0, tw.err
	}

	if !tw.wroteHeader {
		tw.writeHeaderLocked(http.StatusOK)
	}

	n, _ := tw.wbuf.Write(p) // bytes.Buffer.Write only fails by panicking

	return n, nil
}

// WriteHeader records the final status; 1xx responses cannot be buffered
// and are dropped.
func (tw *timeoutWriter) WriteHeader(code int) {
	tw.mu.Lock()
	defer tw.mu.Unlock()

	tw.writeHeaderLocked(code)
}

func (tw *timeoutWriter) writeHeaderLocked(code int) {
	if tw.err != nil || tw.wroteHeader || (code >= 100 && code < 200) {
		return
	}

	tw.wroteHeader = true
	tw.code = code
}

// copyTo sends the finished handler's response.
func (tw *timeoutWriter) copyTo(w http.ResponseWriter) {
	tw.mu.Lock()
	defer tw.mu.Unlock()

	maps.Copy(w.Header(), tw.h)

	if !tw.wroteHeader {
		tw.code = http.StatusOK
	}

	w.WriteHeader(tw.code)
	_, _ = w.Write(tw.wbuf.Bytes()) // the client left; nobody to tell
}

// abandon answers for a handler that is still running and makes its later
// writes fail.
func (tw *timeoutWriter) abandon(w http.ResponseWriter, cause error) {
	tw.mu.Lock()
	defer tw.mu.Unlock()

	if stderrors.Is(cause, context.DeadlineExceeded) {
		tw.err = http.ErrHandlerTimeout

		errors.WriteHTTP(w, http.StatusGatewayTimeout, errors.Timeout("request timed out"))

		return
	}

	// The client went away: the answer is for the logs and metrics only.
	tw.err = cause
	errors.WriteHTTP(w, 0, errors.ToDomain(cause))
}

// Deadline gives each request a context deadline d away and nothing else:
// no buffering, no extra goroutine. It suits handlers that already answer
// when their context ends, such as the REST gateway, whose in-process gRPC
// calls return DeadlineExceeded (504 TIMEOUT) the moment the deadline
// passes, whether or not the module's handler has finished. d ≤ 0 disables
// it.
func Deadline(d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if d <= 0 {
			return next
		}

		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), d)
			defer cancel()

			serve(next, w, r.WithContext(ctx))
		})
	}
}
