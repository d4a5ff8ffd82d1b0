package middleware

import (
	stderrors "errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// BodyReadTimeout gives each request d to deliver its whole body, counted
// from when its handlers start: a client that trickles its body (one byte
// every few seconds, as a slowloris attack does) hits the connection's
// read deadline, its body reads fail with an error that wraps
// os.ErrDeadlineExceeded, which BodyLimit answers with 408, and the
// goroutine serving it is freed. The deadline is set per request through
// http.ResponseController and lifted as soon as the body has been read, so
// a handler that runs longer than d after reading its body is not cut, and
// requests without a body (WebSocket upgrades among them: they are
// hijacked and live as long as their connection) are left alone. d ≤ 0
// disables it.
func BodyReadTimeout(d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if d <= 0 {
			return next
		}

		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body == nil || r.Body == http.NoBody || isWebSocketUpgrade(r) {
				serve(next, w, r)

				return
			}

			rc := http.NewResponseController(w)
			if err := rc.SetReadDeadline(time.Now().Add(d)); err == nil {
				r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc, timeout: d}
			}

			serve(next, w, r)
		})
	}
}

// deadlineBody is a request body read under a connection read deadline,
// which it lifts at the end of the body.
type deadlineBody struct {
	io.ReadCloser

	rc      *http.ResponseController
	timeout time.Duration
	done    bool
}

// Read reads the body; at its end it lifts the read deadline (net/http's
// background read of the idle connection must not inherit it), and a read
// cut by the deadline fails naming the bound.
func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)

	switch {
	case err == nil:
		return n, nil
	case stderrors.Is(err, io.EOF):
		b.lift()

		return n, io.EOF
	case isDeadline(err) && !b.done:
		return n, fmt.Errorf("request body not received within %v: %w", b.timeout, err)
	default:
		return n, fmt.Errorf("read request body: %w", err)
	}
}

func (b *deadlineBody) lift() {
	if !b.done {
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
}

// isDeadline reports a read cut by a connection deadline.
func isDeadline(err error) bool { return stderrors.Is(err, os.ErrDeadlineExceeded) }
