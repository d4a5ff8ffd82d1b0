package graphql

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Deps is what the modules' resolvers get.
type Deps struct {
	conns func(module string) (grpc.ClientConnInterface, error)
}

// NewDeps returns the resolvers' dependencies: conns connects to a
// module's gRPC API, in process or over the network (registry.Registry's
// Client).
func NewDeps(conns func(module string) (grpc.ClientConnInterface, error)) Deps {
	return Deps{conns: conns}
}

// Conn returns the connection to module's gRPC API, for its generated
// client. When this process can reach no such module (a service that runs
// another module alone), every call answers Unimplemented, naming it.
func (d Deps) Conn(module string) grpc.ClientConnInterface {
	conn, err := d.conns(module)
	if err != nil {
		return absent{status.Error(codes.Unimplemented, fmt.Sprintf("module %s is not served by this process", module))}
	}

	return conn
}

// absent is the connection to a module this process cannot reach.
type absent struct{ err error }

func (a absent) Invoke(context.Context, string, any, any, ...grpc.CallOption) error { return a.err }

func (a absent) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, a.err
}
