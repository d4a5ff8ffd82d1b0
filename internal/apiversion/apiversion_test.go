package apiversion_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/wrapperspb"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/internal/apiversion"
)

// registrar records the services registered on it.
type registrar struct{ names []string }

func (r *registrar) RegisterService(desc *grpc.ServiceDesc, _ any) {
	r.names = append(r.names, desc.ServiceName)
}

// fakeDesc is a service of another version with a unary and a stream method.
var fakeDesc = grpc.ServiceDesc{
	ServiceName: "auth.v2.AuthService",
	Methods:     []grpc.MethodDesc{{MethodName: "RequestLogin"}},
	Streams:     []grpc.StreamDesc{{StreamName: "Watch"}},
}

func apis(gatewayErr error) []apiversion.API {
	return []apiversion.API{
		{
			Service: &authv1.AuthService_ServiceDesc,
			RegisterGRPC: func(s grpc.ServiceRegistrar) {
				authv1.RegisterAuthServiceServer(s, authv1.UnimplementedAuthServiceServer{})
			},
			RegisterGateway: func(ctx context.Context, mux *runtime.ServeMux, conn grpc.ClientConnInterface) error {
				return authv1.RegisterAuthServiceHandlerClient(ctx, mux, authv1.NewAuthServiceClient(conn))
			},
		},
		{
			Service:      &fakeDesc,
			RegisterGRPC: func(s grpc.ServiceRegistrar) { s.RegisterService(&fakeDesc, nil) },
			RegisterGateway: func(context.Context, *runtime.ServeMux, grpc.ClientConnInterface) error {
				return gatewayErr
			},
		},
		{
			// No HTTP bindings: no gateway.
			Service: &grpc.ServiceDesc{ServiceName: "auth.v2.Internal"},
			RegisterGRPC: func(s grpc.ServiceRegistrar) {
				s.RegisterService(&grpc.ServiceDesc{ServiceName: "auth.v2.Internal"}, nil)
			},
		},
	}
}

func TestRegisterGRPCRegistersEveryVersion(t *testing.T) {
	var r registrar

	apiversion.RegisterGRPC(&r, apis(nil))

	want := []string{"auth.v1.AuthService", "auth.v2.AuthService", "auth.v2.Internal"}
	if diff := cmp.Diff(want, r.names); diff != "" {
		t.Errorf("registered services mismatch (-want +got):\n%s", diff)
	}
}

// unavailable is a connection whose every call fails with Unavailable.
type unavailable struct{ grpc.ClientConnInterface }

func (unavailable) Invoke(context.Context, string, any, any, ...grpc.CallOption) error {
	return status.Error(codes.Unavailable, "down")
}

func TestRegisterGateway(t *testing.T) {
	mux := runtime.NewServeMux()

	if err := apiversion.RegisterGateway(t.Context(), mux, unavailable{}, apis(nil)); err != nil {
		t.Fatalf("RegisterGateway() = %v, want nil", err)
	}

	// The v1 handlers are on the mux and call through conn.
	for path, want := range map[string]int{
		"/v1/auth/login/request": http.StatusServiceUnavailable,
		"/v9/auth/login/request": http.StatusNotFound,
	} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodPost, path, strings.NewReader("{}")))

		if rec.Code != want {
			t.Errorf("POST %s = %d, want %d", path, rec.Code, want)
		}
	}
}

func TestRegisterGatewayNamesTheFailingService(t *testing.T) {
	cause := errors.New("boom")

	err := apiversion.RegisterGateway(t.Context(), runtime.NewServeMux(), nil, apis(cause))
	if !errors.Is(err, cause) {
		t.Fatalf("RegisterGateway() = %v, want %v", err, cause)
	}

	if got, want := err.Error(), "register gateway of auth.v2.AuthService: boom"; got != want {
		t.Errorf("RegisterGateway() = %q, want %q", got, want)
	}
}

func TestFullMethods(t *testing.T) {
	got := apiversion.FullMethods(apis(nil), "RequestLogin", "Watch", "Missing")
	want := []string{
		authv1.AuthService_RequestLogin_FullMethodName,
		"/auth.v2.AuthService/RequestLogin",
		"/auth.v2.AuthService/Watch",
	}

	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FullMethods() mismatch (-want +got):\n%s", diff)
	}
}

// The tests below stand two wire-compatible versions of a message with
// types that exist: RequestLoginRequest's email is field 1, a string, as
// is StringValue's value; BytesValue's value is field 1 too, as bytes.

func TestConvert(t *testing.T) {
	got, err := apiversion.Convert[wrapperspb.StringValue](&authv1.RequestLoginRequest{
		Identity: &authv1.RequestLoginRequest_Email{Email: "ada@example.com"},
	})
	if err != nil {
		t.Fatalf("Convert() error = %v", err)
	}

	if diff := cmp.Diff(wrapperspb.String("ada@example.com"), got, protocmp.Transform()); diff != "" {
		t.Errorf("Convert() mismatch (-want +got):\n%s", diff)
	}
}

func TestConvertKeepsUnknownFields(t *testing.T) {
	// Field 2 (phone) does not exist in StringValue: it survives a round trip.
	in := &authv1.RequestLoginRequest{Identity: &authv1.RequestLoginRequest_Phone{Phone: "+14155550100"}}

	mid, err := apiversion.Convert[wrapperspb.StringValue](in)
	if err != nil {
		t.Fatalf("Convert() error = %v", err)
	}

	back, err := apiversion.Convert[authv1.RequestLoginRequest](mid)
	if err != nil {
		t.Fatalf("Convert() back error = %v", err)
	}

	if diff := cmp.Diff(in, back, protocmp.Transform()); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", diff)
	}
}

func TestConvertRejectsIncompatibleMessages(t *testing.T) {
	// Invalid UTF-8 is fine in bytes, not in a proto3 string.
	_, err := apiversion.Convert[wrapperspb.StringValue](wrapperspb.Bytes([]byte{0xff}))
	if err == nil {
		t.Fatal("Convert(invalid UTF-8 into string) = nil error, want an error")
	}

	if got, want := err.Error(), "convert google.protobuf.BytesValue to google.protobuf.StringValue: "; !strings.HasPrefix(got, want) {
		t.Errorf("Convert() error = %q, want prefix %q", got, want)
	}
}

func TestForward(t *testing.T) {
	var got *wrapperspb.StringValue

	// The "v1" handler takes and returns StringValue; the "v2" call uses BytesValue.
	handler := func(_ context.Context, req *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
		got = req

		return wrapperspb.String("hello " + req.GetValue()), nil
	}

	resp, err := apiversion.Forward[wrapperspb.BytesValue](t.Context(), wrapperspb.Bytes([]byte("ada")), handler)
	if err != nil {
		t.Fatalf("Forward() error = %v", err)
	}

	if got.GetValue() != "ada" {
		t.Errorf("handler got %q, want %q", got.GetValue(), "ada")
	}

	if string(resp.GetValue()) != "hello ada" {
		t.Errorf("Forward() = %q, want %q", resp.GetValue(), "hello ada")
	}
}

func TestForwardReturnsTheHandlersError(t *testing.T) {
	cause := errors.New("not found")
	handler := func(context.Context, *wrapperspb.StringValue) (*wrapperspb.StringValue, error) { return nil, cause }

	resp, err := apiversion.Forward[wrapperspb.BytesValue](t.Context(), wrapperspb.Bytes(nil), handler)
	if resp != nil || !errors.Is(err, cause) {
		t.Errorf("Forward() = %v, %v; want nil, %v", resp, err, cause)
	}
}

func TestForwardFailsOnIncompatibleMessages(t *testing.T) {
	called := false
	handler := func(context.Context, *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
		called = true

		return wrapperspb.String("x"), nil
	}

	if _, err := apiversion.Forward[wrapperspb.BytesValue](t.Context(), wrapperspb.Bytes([]byte{0xff}), handler); err == nil {
		t.Error("Forward(incompatible request) = nil error, want an error")
	}

	if called {
		t.Error("handler called with a request that did not convert")
	}

	badResponse := func(context.Context, *wrapperspb.BytesValue) (*wrapperspb.BytesValue, error) {
		return wrapperspb.Bytes([]byte{0xff}), nil
	}

	if _, err := apiversion.Forward[wrapperspb.StringValue](t.Context(), wrapperspb.String("x"), badResponse); err == nil {
		t.Error("Forward(incompatible response) = nil error, want an error")
	}
}
