package bench

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/modulith/modulith/internal/apiversion"
	"github.com/modulith/modulith/internal/migration"
	"github.com/modulith/modulith/internal/registry"
	"github.com/modulith/modulith/modules/auth"
)

// The echo module's name and methods: Echo needs an authenticated caller,
// PublicEcho is public.
const (
	echoModuleName   = "echo"
	echoMethod       = "/echo.v1.EchoService/Echo"
	publicEchoMethod = "/echo.v1.EchoService/PublicEcho"
)

// echoModule serves echo.v1.EchoService, declared by hand rather than
// generated: both methods return their request.
type echoModule struct{}

var _ registry.Module = echoModule{}

func (echoModule) Name() string { return echoModuleName }

func (m echoModule) Init(h registry.Host) error {
	h.Serve(apiversion.API{
		Service:      &echoService,
		RegisterGRPC: func(s grpc.ServiceRegistrar) { s.RegisterService(&echoService, m) },
	})
	h.Public(publicEchoMethod)

	return nil
}

var echoService = grpc.ServiceDesc{
	ServiceName: "echo.v1.EchoService",
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
// bus's, the scheduler's and auth's (echo has none).
func echoMigrations() []migration.Source {
	return registry.MigrationSources([]registry.Module{auth.Module{}, echoModule{}})
}
