package middleware_test

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/modulith/modulith/internal/middleware"

	"github.com/modulith/modulith/internal/telemetry/logtest"
)

// fullStack wraps h in every middleware, in the documented order.
func fullStack(t *testing.T, h http.Handler, logger *slog.Logger) http.Handler {
	t.Helper()

	metrics, err := middleware.Metrics(sdkmetric.NewMeterProvider().Meter("test"))
	if err != nil {
		t.Fatalf("Metrics() error = %v", err)
	}

	return middleware.Chain(h,
		middleware.RequestID,
		middleware.ClientIP([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}),
		middleware.Recovery(logger),
		middleware.Tracing(sdktrace.NewTracerProvider(), propagation.TraceContext{}),
		metrics,
		middleware.AccessLog(logger, middleware.LoggingConfig{}),
		middleware.SecurityHeaders(middleware.SecurityConfig{}),
		middleware.CORS(middleware.CORSConfig{AllowedOrigins: []string{appOrigin}}),
		middleware.BodyLimit(1<<20),
		middleware.Timeout(time.Minute),
	)
}

func TestHijackThroughTheStack(t *testing.T) {
	logger, logs := logtest.New(slog.LevelDebug)
	served := make(chan struct{})
	stack := fullStack(t, upgradeHandler(t), logger)
	// The server does not track hijacked connections: learn from the
	// outermost handler when the stack, access log included, is done.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(served)

		stack.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	conn, err := (&net.Dialer{}).DialContext(t.Context(), "tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	_, err = io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}

	br := bufio.NewReader(conn)

	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}

	_ = resp.Body.Close()

	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Upgrade") != "websocket" {
		t.Errorf("response = %d, Upgrade %q; want 101, websocket", resp.StatusCode, resp.Header.Get("Upgrade"))
	}

	if got, _ := io.ReadAll(br); string(got) != "hello" {
		t.Errorf("read %q over the upgraded connection, want hello", got)
	}

	<-served

	records := logs.Records()
	if len(records) != 1 || logtest.Attrs(records[0])["status"] != int64(http.StatusSwitchingProtocols) {
		t.Errorf("access log = %v, want one line with status 101", records)
	}
}

// upgradeHandler hijacks the connection, switches protocols and says hello.
func upgradeHandler(t *testing.T) http.HandlerFunc {
	t.Helper()

	return func(w http.ResponseWriter, _ *http.Request) {
		hj, ok := w.(http.Hijacker)
		if !ok {
			t.Errorf("writer %T is not an http.Hijacker", w)

			return
		}

		conn, buf, err := hj.Hijack()
		if err != nil {
			t.Errorf("Hijack() error = %v", err)

			return
		}
		defer conn.Close()

		_, _ = buf.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nhello")
		_ = buf.Flush()
	}
}

func TestTimeoutWriterCannotFlush(t *testing.T) {
	h := middleware.Timeout(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		// The Timeout writer buffers the response: it cannot flush or be
		// hijacked, and says so.
		if _, ok := w.(http.Flusher); ok {
			t.Errorf("writer %T under Timeout is an http.Flusher", w)
		}

		if err := http.NewResponseController(w).Flush(); !errors.Is(err, http.ErrNotSupported) {
			t.Errorf("Flush() under Timeout = %v, want http.ErrNotSupported", err)
		}
	}))

	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil))
}

// streamingHandler writes its response in two flushed parts, after using
// the other features of http.ResponseController.
func streamingHandler(t *testing.T) http.HandlerFunc {
	t.Helper()

	return func(w http.ResponseWriter, _ *http.Request) {
		if _, ok := w.(http.Flusher); !ok {
			t.Errorf("writer %T is not an http.Flusher", w)
		}

		rc := http.NewResponseController(w)
		if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("SetWriteDeadline() error = %v", err)
		}

		if err := rc.EnableFullDuplex(); err != nil {
			t.Errorf("EnableFullDuplex() error = %v", err)
		}

		_, _ = w.Write([]byte("first "))

		if err := rc.Flush(); err != nil {
			t.Errorf("Flush() error = %v", err)
		}

		_, _ = w.Write([]byte("second"))
	}
}

func TestFlushThroughObservers(t *testing.T) {
	logger, logs := logtest.New(slog.LevelDebug)
	srv := httptest.NewServer(middleware.Chain(streamingHandler(t),
		middleware.Recovery(logger), middleware.AccessLog(logger, middleware.LoggingConfig{})))
	t.Cleanup(srv.Close)

	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}

	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}

	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()

	if string(body) != "first second" || !slices.Contains(resp.TransferEncoding, "chunked") {
		t.Errorf("response = %q %v, want a chunked %q", body, resp.TransferEncoding, "first second")
	}

	srv.Close()

	if a := logtest.Attrs(logs.Records()[0]); a["bytes"] != int64(len("first second")) || a["status"] != int64(http.StatusOK) {
		t.Errorf("logged status %v, bytes %v; want 200, %d", a["status"], a["bytes"], len("first second"))
	}
}

func TestWriterStatusAfterInformational(t *testing.T) {
	logger, logs := logtest.New(slog.LevelDebug)
	h := middleware.AccessLog(logger, middleware.LoggingConfig{})(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Link", "</app.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusAccepted)
	}))

	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil))

	if got := logtest.Attrs(logs.Records()[0])["status"]; got != int64(http.StatusAccepted) {
		t.Errorf("logged status = %v, want 202", got)
	}
}

func TestHijackNotSupported(t *testing.T) {
	h := middleware.Recovery(slog.New(slog.DiscardHandler))(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hj, ok := w.(http.Hijacker)
		if !ok {
			t.Fatalf("writer %T is not an http.Hijacker", w)
		}

		_, _, err := hj.Hijack()
		if !errors.Is(err, http.ErrNotSupported) {
			t.Errorf("Hijack() on a recorder = %v, want http.ErrNotSupported", err)
		}
	}))

	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil))
}
