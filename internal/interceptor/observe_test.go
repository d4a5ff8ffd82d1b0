package interceptor_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/interceptor"

	"github.com/modulith/modulith/internal/telemetry/logtest"
)

func newObserver(t *testing.T, level slog.Level) (*interceptor.Observer, *sdkmetric.ManualReader, *logtest.Recorder) {
	t.Helper()

	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))

	t.Cleanup(func() { _ = provider.Shutdown(context.Background()) })

	logger, logs := logtest.New(level)

	o, err := interceptor.NewObserver(logger, provider.Meter("test"))
	if err != nil {
		t.Fatalf("NewObserver() = %v", err)
	}

	return o, reader, logs
}

// series is one data point: its attributes and its count.
type series struct {
	Attrs map[string]string
	Count float64
}

// collect returns the data points of the counter and of the histogram.
func collect(t *testing.T, reader *sdkmetric.ManualReader) (handled, handling []series) {
	t.Helper()

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(t.Context(), &rm); err != nil {
		t.Fatalf("Collect() = %v", err)
	}

	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			handled = append(handled, counterSeries(m, "grpc.server.handled")...)
			handling = append(handling, histogramSeries(m, "grpc.server.handling", "s")...)
		}
	}

	return handled, handling
}

func counterSeries(m metricdata.Metrics, name string) []series {
	data, ok := m.Data.(metricdata.Sum[int64])
	if !ok || m.Name != name || !data.IsMonotonic {
		return nil
	}

	out := make([]series, 0, len(data.DataPoints))
	for _, dp := range data.DataPoints {
		out = append(out, series{Attrs: attrMap(dp.Attributes), Count: float64(dp.Value)})
	}

	return out
}

func histogramSeries(m metricdata.Metrics, name, unit string) []series {
	data, ok := m.Data.(metricdata.Histogram[float64])
	if !ok || m.Name != name || m.Unit != unit {
		return nil
	}

	out := make([]series, 0, len(data.DataPoints))
	for _, dp := range data.DataPoints {
		out = append(out, series{Attrs: attrMap(dp.Attributes), Count: float64(dp.Count)})
	}

	return out
}

func attrMap(set attribute.Set) map[string]string {
	m := make(map[string]string, set.Len())
	for _, kv := range set.ToSlice() {
		m[string(kv.Key)] = kv.Value.String()
	}

	return m
}

func labels(kind, code string) map[string]string {
	return map[string]string{
		"grpc_type": kind, "grpc_service": "auth.v1.AuthService", "grpc_method": "GetProfile", "grpc_code": code,
	}
}

func TestObserverRecordsMetrics(t *testing.T) {
	o, reader, _ := newObserver(t, slog.LevelDebug)
	unary := o.Unary()

	for _, h := range []grpc.UnaryHandler{okHandler, okHandler, errHandler(status.Error(codes.NotFound, "x"))} {
		_, _ = unary(tcp(t.Context()), "req", getProfileInfo, h)
	}

	_ = o.Stream()(nil, &fakeStream{ctx: t.Context()},
		&grpc.StreamServerInfo{FullMethod: getProfile, IsServerStream: true},
		func(any, grpc.ServerStream) error { return status.Error(codes.Internal, "x") })

	want := []series{
		{Attrs: labels("server_stream", "Internal"), Count: 1},
		{Attrs: labels("unary", "NotFound"), Count: 1},
		{Attrs: labels("unary", "OK"), Count: 2},
	}
	sortSeries := cmpopts.SortSlices(func(a, b series) bool { return seriesKey(a) < seriesKey(b) })

	handled, handling := collect(t, reader)
	if diff := cmp.Diff(want, handled, sortSeries); diff != "" {
		t.Errorf("grpc.server.handled (-want +got):\n%s", diff)
	}

	if diff := cmp.Diff(want, handling, sortSeries); diff != "" {
		t.Errorf("grpc.server.handling counts (-want +got):\n%s", diff)
	}
}

func seriesKey(s series) string { return s.Attrs["grpc_type"] + "/" + s.Attrs["grpc_code"] }

func TestObserverStreamTypes(t *testing.T) {
	tests := []struct {
		name         string
		client, serv bool
		want         string
	}{
		{name: "bidi", client: true, serv: true, want: "bidi_stream"},
		{name: "client", client: true, want: "client_stream"},
		{name: "server", serv: true, want: "server_stream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, reader, _ := newObserver(t, slog.LevelDebug)
			info := &grpc.StreamServerInfo{FullMethod: getProfile, IsClientStream: tt.client, IsServerStream: tt.serv}

			_ = o.Stream()(nil, &fakeStream{ctx: t.Context()}, info, func(any, grpc.ServerStream) error { return nil })

			handled, _ := collect(t, reader)
			if len(handled) != 1 || handled[0].Attrs["grpc_type"] != tt.want {
				t.Errorf("series = %v, want one with grpc_type %s", handled, tt.want)
			}
		})
	}
}

func TestObserverSplitsMethod(t *testing.T) {
	tests := []struct {
		method      string
		wantService string
		wantMethod  string
	}{
		{method: "/auth.v1.AuthService/GetProfile", wantService: "auth.v1.AuthService", wantMethod: "GetProfile"},
		{method: "noslash", wantService: "unknown", wantMethod: "noslash"},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			o, reader, _ := newObserver(t, slog.LevelDebug)

			_, _ = o.Unary()(t.Context(), "req", &grpc.UnaryServerInfo{FullMethod: tt.method}, okHandler)

			handled, _ := collect(t, reader)
			if len(handled) != 1 {
				t.Fatalf("series = %v, want one", handled)
			}

			got := [2]string{handled[0].Attrs["grpc_service"], handled[0].Attrs["grpc_method"]}
			if want := [2]string{tt.wantService, tt.wantMethod}; got != want {
				t.Errorf("service, method of %q = %v, want %v", tt.method, got, want)
			}
		})
	}
}

func TestObserverLogLevel(t *testing.T) {
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want slog.Level
	}{
		{name: "ok", ctx: tcp(t.Context()), want: slog.LevelInfo},
		{name: "ok in process", ctx: inproc(t.Context()), want: slog.LevelDebug},
		{name: "not found", ctx: tcp(t.Context()), err: status.Error(codes.NotFound, "x"), want: slog.LevelWarn},
		// The access log (REST) or the calling module's own line has it.
		{name: "not found in process", ctx: inproc(t.Context()), err: status.Error(codes.NotFound, "x"), want: slog.LevelDebug},
		{name: "invalid", ctx: tcp(t.Context()), err: status.Error(codes.InvalidArgument, "x"), want: slog.LevelWarn},
		{name: "internal", ctx: tcp(t.Context()), err: status.Error(codes.Internal, "x"), want: slog.LevelError},
		{name: "internal in process", ctx: inproc(t.Context()), err: status.Error(codes.Internal, "x"), want: slog.LevelError},
		{name: "unavailable", ctx: tcp(t.Context()), err: status.Error(codes.Unavailable, "x"), want: slog.LevelError},
		{name: "deadline", ctx: tcp(t.Context()), err: status.Error(codes.DeadlineExceeded, "x"), want: slog.LevelError},
		{name: "domain error not yet translated", ctx: tcp(t.Context()), err: errors.NotFound("x"), want: slog.LevelError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, _, logs := newObserver(t, slog.LevelDebug)

			_, _ = o.Unary()(tt.ctx, "req", getProfileInfo, errHandler(tt.err))

			records := logs.Records()
			if len(records) != 1 {
				t.Fatalf("logged %d records, want 1", len(records))
			}

			if records[0].Level != tt.want {
				t.Errorf("logged at %v, want %v", records[0].Level, tt.want)
			}

			a := logtest.Attrs(records[0])
			if a["method"] != getProfile || a["code"] != status.Code(tt.err).String() {
				t.Errorf("logged %v, want method %s and code %v", a, getProfile, status.Code(tt.err))
			}
		})
	}
}

func TestObserverSkipsDisabledLevels(t *testing.T) {
	o, reader, logs := newObserver(t, slog.LevelInfo)

	_, _ = o.Unary()(inproc(t.Context()), "req", getProfileInfo, okHandler)

	if n := len(logs.Records()); n != 0 {
		t.Errorf("logged %d records for an in-process OK call at info level, want none", n)
	}

	if handled, _ := collect(t, reader); len(handled) != 1 {
		t.Errorf("series = %v, want the call counted although not logged", handled)
	}
}
