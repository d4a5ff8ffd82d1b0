package bench

import (
	"context"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/modulith/modulith/internal/migration"
	"github.com/modulith/modulith/internal/registry"
	"github.com/modulith/modulith/modules/auth"
)

// The echo module's name and methods: Echo needs an authenticated caller,
// PublicEcho is listed in PublicEndpoints.
const (
	echoModuleName   = "echo"
	echoMethod       = "/bench.v1.EchoService/Echo"
	publicEchoMethod = "/bench.v1.EchoService/PublicEcho"
)

// echoModule serves bench.v1.EchoService, declared by hand rather than
// generated: both methods return their request.
type echoModule struct{}

var _ registry.PublicEndpointer = echoModule{}

func (echoModule) Name() string { return echoModuleName }

func (echoModule) Initialize(*registry.Registry) error { return nil }

func (m echoModule) RegisterGRPC(s grpc.ServiceRegistrar) { s.RegisterService(&echoService, m) }

func (echoModule) RegisterGateway(context.Context, *runtime.ServeMux, grpc.ClientConnInterface) error {
	return nil
}

func (echoModule) PublicEndpoints() []string { return []string{publicEchoMethod} }

var echoService = grpc.ServiceDesc{
	ServiceName: "bench.v1.EchoService",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{
		{MethodName: "Echo", Handler: echoHandler(echoMethod)},
		{MethodName: "PublicEcho", Handler: echoHandler(publicEchoMethod)},
	},
	Metadata: "bench/modulecall_helpers_test.go",
}

// echoHandler is what protoc-gen-go-grpc writes for a unary method, with
// an implementation that returns the request.
func echoHandler(fullMethod string) grpc.MethodHandler {
	return func(srv any, ctx context.Context, dec func(any) error, intercept grpc.UnaryServerInterceptor) (any, error) {
		in := new(wrapperspb.StringValue)
		if err := dec(in); err != nil {
			return nil, err
		}

		impl := func(_ context.Context, req any) (any, error) { return req, nil }
		if intercept == nil {
			return impl(ctx, in)
		}

		return intercept(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: fullMethod}, impl)
	}
}

// echoMigrations are the schemas the benchmark's server needs: the event
// bus's and auth's (echo has none).
func echoMigrations(b *testing.B) []migration.Source {
	b.Helper()

	reg := registry.New(registry.Deps{})
	if err := reg.Register(auth.New(), echoModule{}); err != nil {
		b.Fatal(err)
	}

	return reg.MigrationSources()
}
