package interceptor_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"

	"github.com/modulith/modulith/internal/interceptor"
)

type traceKey struct{}

// trail returns the names ctx's calls passed through, in order.
func trail(ctx context.Context) []string {
	names, _ := ctx.Value(traceKey{}).([]string)

	return names
}

func through(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, traceKey{}, append(append([]string(nil), trail(ctx)...), name))
}

// recordingUnary records its name in the context on the way in and in log
// on the way out.
func recordingUnary(name string, log *[]string) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		*log = append(*log, "in "+name)
		resp, err := handler(through(ctx, name), req)
		*log = append(*log, "out "+name)

		return resp, err
	}
}

func TestChainUnaryRunsFirstOutermost(t *testing.T) {
	var log []string

	chain := interceptor.ChainUnary(recordingUnary("a", &log), recordingUnary("b", &log), recordingUnary("c", &log))

	resp, err := chain(t.Context(), "req", getProfileInfo, func(ctx context.Context, _ any) (any, error) {
		log = append(log, "handler")

		return trail(ctx), nil
	})
	if err != nil {
		t.Fatalf("chain() = %v", err)
	}

	want := []string{"in a", "in b", "in c", "handler", "out c", "out b", "out a"}
	if diff := cmp.Diff(want, log); diff != "" {
		t.Errorf("call order (-want +got):\n%s", diff)
	}

	if diff := cmp.Diff([]string{"a", "b", "c"}, resp); diff != "" {
		t.Errorf("contexts reaching the handler (-want +got):\n%s", diff)
	}
}

func TestChainUnaryEmpty(t *testing.T) {
	resp, err := interceptor.ChainUnary()(t.Context(), "req", getProfileInfo, okHandler)
	if resp != "ok" || err != nil {
		t.Errorf("empty chain = %v, %v; want the handler's ok, nil", resp, err)
	}
}
