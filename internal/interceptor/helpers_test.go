package interceptor_test

import (
	"context"
	"log/slog"
	"net"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// getProfile is the full method most tests call.
const getProfile = "/auth.v1.AuthService/GetProfile"

var getProfileInfo = &grpc.UnaryServerInfo{FullMethod: getProfile}

// logRecorder is a slog.Handler that keeps every record, for assertions.
type logRecorder struct {
	mu      sync.Mutex
	level   slog.Level
	records []slog.Record
}

// newLogger returns a logger enabled from level and the records it writes.
func newLogger(level slog.Level) (*slog.Logger, *logRecorder) {
	rec := &logRecorder{level: level}

	return slog.New(rec), rec
}

func (h *logRecorder) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()

	h.records = append(h.records, r.Clone())

	return nil
}

func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }

func (h *logRecorder) WithGroup(string) slog.Handler { return h }

func (h *logRecorder) all() []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()

	return append([]slog.Record(nil), h.records...)
}

// attrs returns a record's attributes by key.
func attrs(r slog.Record) map[string]any {
	m := make(map[string]any, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.Any()

		return true
	})

	return m
}

// inprocAddr is the address the in-process channel gives its peer.
type inprocAddr struct{}

func (inprocAddr) Network() string { return "inproc" }
func (inprocAddr) String() string  { return "0" }

// withPeer returns ctx as seen by a server whose caller is at addr and sent
// the metadata key/value pairs kv.
func withPeer(ctx context.Context, addr net.Addr, kv ...string) context.Context {
	if addr != nil {
		ctx = peer.NewContext(ctx, &peer.Peer{Addr: addr})
	}

	return metadata.NewIncomingContext(ctx, metadata.Pairs(kv...))
}

func inproc(ctx context.Context, kv ...string) context.Context {
	return withPeer(ctx, inprocAddr{}, kv...)
}

func tcp(ctx context.Context, kv ...string) context.Context {
	return withPeer(ctx, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 50123}, kv...)
}

// fakeStream is a server stream that only has a context.
type fakeStream struct {
	grpc.ServerStream

	ctx context.Context
}

func (s *fakeStream) Context() context.Context { return s.ctx }

// okHandler answers every call with "ok".
func okHandler(context.Context, any) (any, error) { return "ok", nil }

// errHandler returns a handler that fails with err.
func errHandler(err error) grpc.UnaryHandler {
	return func(context.Context, any) (any, error) { return nil, err }
}
