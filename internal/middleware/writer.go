package middleware

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
)

// responseWriter records the status and size of a response. One is shared
// by all middlewares of this package that need it: wrap returns the writer
// it is given when that is already a *responseWriter.
//
// It is used from the serving goroutine only, like any http.ResponseWriter.
type responseWriter struct {
	http.ResponseWriter

	status      int
	bytes       int64
	wroteHeader bool
	hijacked    bool
}

// wrap returns w as a *responseWriter, reusing it when it already is one.
func wrap(w http.ResponseWriter) *responseWriter {
	if rw, ok := w.(*responseWriter); ok {
		return rw
	}

	return &responseWriter{ResponseWriter: w}
}

// WriteHeader records the final status; informational 1xx statuses (other
// than 101, which ends HTTP on the connection) may precede it.
func (w *responseWriter) WriteHeader(code int) {
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(code)

		return
	}

	if !w.wroteHeader {
		w.wroteHeader = true
		w.status = code
	}

	w.ResponseWriter.WriteHeader(code)
}

// Write counts the bytes written; the first write implies status 200.
func (w *responseWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}

	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)

	if err != nil {
		return n, fmt.Errorf("write response: %w", err)
	}

	return n, nil
}

// Flush implements http.Flusher; flushing commits the headers.
func (w *responseWriter) Flush() {
	_ = w.FlushError()
}

// FlushError is what http.ResponseController.Flush calls: unlike Flush it
// reports when the underlying writer cannot flush.
func (w *responseWriter) FlushError() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}

	if err := http.NewResponseController(w.ResponseWriter).Flush(); err != nil {
		return fmt.Errorf("flush response: %w", err)
	}

	return nil
}

// Hijack implements http.Hijacker for WebSocket upgrades; the error wraps
// http.ErrNotSupported when the underlying writer cannot be hijacked.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, buf, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, fmt.Errorf("hijack connection: %w", err)
	}

	w.hijacked = true

	return conn, buf, nil
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *responseWriter) Unwrap() http.ResponseWriter {
	return w.ResponseWriter
}

// statusCode is the status the client got: the one written, 101 for a
// hijacked connection (the handler answers on the raw connection), else the
// 200 net/http sends for a handler that wrote nothing.
func (w *responseWriter) statusCode() int {
	switch {
	case w.wroteHeader:
		return w.status
	case w.hijacked:
		return http.StatusSwitchingProtocols
	default:
		return http.StatusOK
	}
}
