package observability

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// The OTLP protocols OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL may name.
const (
	ProtocolGRPC = "grpc"
	ProtocolHTTP = "http/protobuf"
)

// TraceExport is where spans go, as the OpenTelemetry environment
// variables ask; the zero value exports nothing.
type TraceExport struct {
	// Endpoint is OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else
	// OTEL_EXPORTER_OTLP_ENDPOINT: a URL (http:// is plaintext, https://
	// TLS) or host:port (TLS unless OTEL_EXPORTER_OTLP_INSECURE=true).
	Endpoint string
	// Protocol is ProtocolGRPC (the default, as before these variables
	// were honoured) or ProtocolHTTP.
	Protocol string
	// Sampler is OTEL_TRACES_SAMPLER ("" = parentbased_always_on) with
	// its OTEL_TRACES_SAMPLER_ARG, for the start-up log.
	Sampler string
}

// Enabled reports whether spans are exported.
func (e TraceExport) Enabled() bool { return e.Endpoint != "" }

// Target is the endpoint without user information, query or fragment, fit
// for a log line.
func (e TraceExport) Target() string {
	u, err := url.Parse(e.Endpoint)
	if err != nil || u.Host == "" {
		return e.Endpoint // host:port
	}

	return u.Scheme + "://" + u.Host + u.Path
}

// TraceExportFromEnv reads the OpenTelemetry variables that decide whether
// and how spans are exported, and checks those the SDK would otherwise
// ignore with a message on stderr, naming the variable. It reads the
// process environment, not getenv: the SDK and the exporters read their
// own variables (headers, TLS, timeouts, the sampler) from there, so the
// decision must too. Spans are exported only when an endpoint is set (the
// SDK's default, localhost:4317, would log failures on every machine
// without a collector) and OTEL_SDK_DISABLED is not true.
func TraceExportFromEnv() (TraceExport, error) {
	if err := checkSampler(os.Getenv("OTEL_TRACES_SAMPLER"), os.Getenv("OTEL_TRACES_SAMPLER_ARG")); err != nil {
		return TraceExport{}, err
	}

	disabled, err := sdkDisabled()

	endpoint := firstEnv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
	if err != nil || disabled || endpoint == "" {
		return TraceExport{}, err
	}

	protocol, err := protocolFromEnv()
	if err != nil {
		return TraceExport{}, err
	}

	sampler := strings.TrimSpace(os.Getenv("OTEL_TRACES_SAMPLER"))
	if sampler == "" {
		sampler = "parentbased_always_on"
	}

	if arg := strings.TrimSpace(os.Getenv("OTEL_TRACES_SAMPLER_ARG")); arg != "" {
		sampler += " " + arg
	}

	return TraceExport{Endpoint: endpoint, Protocol: protocol, Sampler: sampler}, nil
}

// sdkDisabled reads OTEL_SDK_DISABLED.
func sdkDisabled() (bool, error) {
	v := strings.TrimSpace(os.Getenv("OTEL_SDK_DISABLED"))
	if v == "" {
		return false, nil
	}

	disabled, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("OTEL_SDK_DISABLED: want true or false, got %q", v)
	}

	return disabled, nil
}

// protocolFromEnv reads the protocol, ProtocolGRPC by default.
func protocolFromEnv() (string, error) {
	switch protocol := firstEnv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"); protocol {
	case "":
		return ProtocolGRPC, nil
	case ProtocolGRPC, ProtocolHTTP:
		return protocol, nil
	default:
		return "", fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL: want %s or %s, got %q", ProtocolGRPC, ProtocolHTTP, protocol)
	}
}

// firstEnv returns the first of the variables that is set.
func firstEnv(keys ...string) string {
	for _, k := range keys {
		if v := strings.TrimSpace(os.Getenv(k)); v != "" {
			return v
		}
	}

	return ""
}

// checkSampler checks OTEL_TRACES_SAMPLER and its argument, which the SDK
// reads itself; it would fall back to its default on a typo.
func checkSampler(name, arg string) error {
	name = strings.ToLower(strings.TrimSpace(name))

	switch name {
	case "", "always_on", "always_off", "parentbased_always_on", "parentbased_always_off":
		return nil
	case "traceidratio", "parentbased_traceidratio":
	default:
		return fmt.Errorf("OTEL_TRACES_SAMPLER: unsupported sampler %q", name)
	}

	if arg = strings.TrimSpace(arg); arg == "" {
		return nil
	}

	ratio, err := strconv.ParseFloat(arg, 64)
	if err != nil || ratio < 0 || ratio > 1 {
		return fmt.Errorf("OTEL_TRACES_SAMPLER_ARG: want a ratio between 0 and 1, got %q", arg)
	}

	return nil
}

// NewTracerProvider returns a tracer provider that exports spans over OTLP
// as export says, sampling them as OTEL_TRACES_SAMPLER says (the SDK reads
// it; by default root spans are all sampled and children follow their
// parent). Without export nothing would read the spans, so none is
// recorded at all (idsOnly); they still carry trace and span IDs, which
// stamp the log lines of each request.
func NewTracerProvider(ctx context.Context, res *resource.Resource, export TraceExport) (TracerProvider, error) {
	if !export.Enabled() {
		return &idsOnly{}, nil
	}

	exporter, err := newExporter(ctx, export)
	if err != nil {
		return nil, err
	}

	return sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithBatcher(exporter)), nil
}

// newExporter builds the exporter of the protocol, which reads the
// OTEL_EXPORTER_OTLP_* variables itself. The specification asks for
// URLs; an endpoint given as host:port, which the exporters cannot parse
// as one, is passed to them as a host and port.
func newExporter(ctx context.Context, export TraceExport) (sdktrace.SpanExporter, error) {
	hostPort := !strings.Contains(export.Endpoint, "://")

	var (
		exporter sdktrace.SpanExporter
		err      error
	)

	switch export.Protocol {
	case ProtocolHTTP:
		var opts []otlptracehttp.Option
		if hostPort {
			opts = append(opts, otlptracehttp.WithEndpoint(export.Endpoint), otlptracehttp.WithURLPath("/v1/traces"))
		}

		exporter, err = otlptracehttp.New(ctx, opts...)
	default:
		var opts []otlptracegrpc.Option
		if hostPort {
			opts = append(opts, otlptracegrpc.WithEndpoint(export.Endpoint))
		}

		exporter, err = otlptracegrpc.New(ctx, opts...)
	}

	if err != nil {
		return nil, fmt.Errorf("create OTLP trace exporter (%s %s): %w", export.Protocol, export.Endpoint, err)
	}

	return exporter, nil
}
