package graphql

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	domain "github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/reqmeta"
)

func TestPresenterGivesTheDomainCode(t *testing.T) {
	t.Parallel()

	present := presenter(slog.New(slog.DiscardHandler))
	path := ast.Path{ast.PathName("createOrder")}

	// What a resolver returns: the gRPC status of the module's error,
	// which gqlgen wraps with the field's path.
	wrap := func(err error) error { return &gqlerror.Error{Err: err, Message: err.Error(), Path: path} }

	validation := domain.ToGRPC(domain.Validation("invalid request", domain.WithField("currency", "must be 3 capital letters")))
	got := present(t.Context(), wrap(validation))

	if got.Message != "invalid request" || got.Extensions["code"] != domain.CodeValidationFailed || got.Path.String() != "createOrder" {
		t.Errorf("validation error = %+v, want its message, VALIDATION_FAILED and the path", got)
	}

	if details := fmt.Sprint(got.Extensions["details"]); !strings.Contains(details, "currency") {
		t.Errorf("details = %s, want the field", details)
	}

	if got := present(t.Context(), wrap(status.Error(codes.NotFound, "[NOT_FOUND] order not found"))); got.Extensions["code"] != domain.CodeNotFound || got.Message != "order not found" {
		t.Errorf("not found = %+v", got)
	}

	// A bug's details never reach the client.
	got = present(t.Context(), wrap(errors.New("pq: secret table exploded")))
	if got.Extensions["code"] != domain.CodeInternal || strings.Contains(got.Message, "secret") {
		t.Errorf("internal error = %+v, want INTERNAL and no cause", got)
	}

	// Errors of the query itself are gqlgen's, with their own codes.
	own := gqlerror.Errorf("Cannot query field")
	own.Extensions = map[string]any{"code": "GRAPHQL_VALIDATION_FAILED"}

	if got := present(t.Context(), own); got != own {
		t.Errorf("validation of the query = %+v, want it unchanged", got)
	}
}

func TestOutgoingCarriesWhatTheGatewayForwards(t *testing.T) {
	t.Parallel()

	ctx := reqmeta.WithClientIP(reqmeta.WithRequestID(t.Context(), "req-1"), "192.0.2.1")
	md, _ := metadata.FromOutgoingContext(outgoing(ctx, "Bearer tok"))

	for key, want := range map[string]string{"authorization": "Bearer tok", reqmeta.RequestIDHeader: "req-1", reqmeta.ClientIPHeader: "192.0.2.1"} {
		if got := md.Get(key); len(got) != 1 || got[0] != want {
			t.Errorf("metadata %s = %v, want %s", key, got, want)
		}
	}

	md, _ = metadata.FromOutgoingContext(outgoing(ctx, ""))
	if got := md.Get("authorization"); len(got) != 0 {
		t.Errorf("authorization without a token = %v, want none", got)
	}
}

func TestConnOfAnAbsentModuleAnswersUnimplemented(t *testing.T) {
	t.Parallel()

	d := NewDeps(func(module string) (grpc.ClientConnInterface, error) {
		return nil, fmt.Errorf("module %q is neither here nor remote", module)
	})

	err := d.Conn("payments").Invoke(context.Background(), "/payments.v1.PaymentService/Get", nil, nil)
	if status.Code(err) != codes.Unimplemented || !strings.Contains(err.Error(), "payments") {
		t.Errorf("Invoke() = %v, want Unimplemented naming the module", err)
	}

	if _, err := d.Conn("payments").NewStream(context.Background(), nil, "/x"); status.Code(err) != codes.Unimplemented {
		t.Errorf("NewStream() = %v, want Unimplemented", err)
	}
}
