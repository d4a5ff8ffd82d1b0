// Package apiversion serves several versions of a module's API at once.
//
// A module lists its gRPC services, one API per service and version, and
// registers them all on the gRPC server and the REST gateway. The list is
// usually written by scripts/protoversion (modules/<name>/apis.go) from the
// versions found under proto/<name>/. A new version starts as a copy of the
// previous one, so it can serve its calls with the previous version's
// implementation until its messages change (Forward); see
// docs/API_VERSIONING.md.
package apiversion

import (
	"context"
	"fmt"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// API is one gRPC service of one version of a module's API.
type API struct {
	// Service describes the service, e.g. &authv1.AuthService_ServiceDesc.
	Service *grpc.ServiceDesc
	// RegisterGRPC registers the service's implementation on s.
	RegisterGRPC func(s grpc.ServiceRegistrar)
	// RegisterGateway registers the service's REST handlers on mux, calling
	// the service through conn. Nil when the service has no HTTP bindings.
	RegisterGateway func(ctx context.Context, mux *runtime.ServeMux, conn grpc.ClientConnInterface) error
}

// RegisterGRPC registers every API on s.
func RegisterGRPC(s grpc.ServiceRegistrar, apis []API) {
	for _, api := range apis {
		api.RegisterGRPC(s)
	}
}

// RegisterGateway registers the REST handlers of every API on mux.
func RegisterGateway(ctx context.Context, mux *runtime.ServeMux, conn grpc.ClientConnInterface, apis []API) error {
	for _, api := range apis {
		if api.RegisterGateway == nil {
			continue
		}

		if err := api.RegisterGateway(ctx, mux, conn); err != nil {
			return fmt.Errorf("register gateway of %s: %w", api.Service.ServiceName, err)
		}
	}

	return nil
}

// FullMethods returns the full gRPC names ("/auth.v2.AuthService/RequestLogin")
// of the named methods in every API that has them: a module names its public
// methods once for all its versions.
func FullMethods(apis []API, names ...string) []string {
	var out []string

	for _, api := range apis {
		for _, name := range names {
			if hasMethod(api.Service, name) {
				out = append(out, "/"+api.Service.ServiceName+"/"+name)
			}
		}
	}

	return out
}

func hasMethod(desc *grpc.ServiceDesc, name string) bool {
	for _, m := range desc.Methods {
		if m.MethodName == name {
			return true
		}
	}

	for _, s := range desc.Streams {
		if s.StreamName == name {
			return true
		}
	}

	return false
}

// Forward serves a unary call of one version with the handler of another:
// it converts the request to the handler's type, calls it, and converts the
// response to Resp. Conversions go through the wire format (Convert), so
// they are exact while the two versions' messages share field numbers and
// types. The handler's error is returned as it is, for the error
// interceptor to translate.
//
//	return apiversion.Forward[authv2.RequestLoginResponse](ctx, req, s.v1.RequestLogin)
func Forward[Resp any, PResp interface {
	*Resp
	proto.Message
}, Req any, PReq interface {
	*Req
	proto.Message
}, HResp proto.Message](
	ctx context.Context, req proto.Message, handler func(context.Context, PReq) (HResp, error),
) (PResp, error) {
	in, err := Convert[Req, PReq](req)
	if err != nil {
		return nil, err
	}

	out, err := handler(ctx, in)
	if err != nil {
		return nil, err
	}

	return Convert[Resp, PResp](out)
}

// Convert returns a new message of type T holding msg's fields, through the
// wire format: fields with the same number and a compatible type carry over,
// others are kept as unknown fields.
func Convert[T any, PT interface {
	*T
	proto.Message
}](msg proto.Message) (PT, error) {
	out := PT(new(T))

	b, err := proto.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("convert %s to %s: %w", name(msg), name(out), err)
	}

	if err := proto.Unmarshal(b, out); err != nil {
		return nil, fmt.Errorf("convert %s to %s: %w", name(msg), name(out), err)
	}

	return out, nil
}

func name(m proto.Message) string {
	return string(m.ProtoReflect().Descriptor().FullName())
}
