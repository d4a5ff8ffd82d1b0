package errors_test

import (
	"context"
	stderrors "errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/modulith/modulith/internal/errors"
)

// allTypes lists every error type with its gRPC code and HTTP status.
var allTypes = []struct {
	typ  errors.Type
	grpc codes.Code
	http int
}{
	{errors.TypeNotFound, codes.NotFound, http.StatusNotFound},
	{errors.TypeAlreadyExists, codes.AlreadyExists, http.StatusConflict},
	{errors.TypeValidation, codes.InvalidArgument, http.StatusBadRequest},
	{errors.TypeUnauthorized, codes.Unauthenticated, http.StatusUnauthorized},
	{errors.TypeForbidden, codes.PermissionDenied, http.StatusForbidden},
	{errors.TypeConflict, codes.AlreadyExists, http.StatusConflict},
	{errors.TypeRateLimited, codes.ResourceExhausted, http.StatusTooManyRequests},
	{errors.TypeUnavailable, codes.Unavailable, http.StatusServiceUnavailable},
	{errors.TypeTimeout, codes.DeadlineExceeded, http.StatusGatewayTimeout},
	{errors.TypeInternal, codes.Internal, http.StatusInternalServerError},
}

func TestTypeTables(t *testing.T) {
	for _, tt := range allTypes {
		t.Run(string(tt.typ), func(t *testing.T) {
			st := status.Convert(errors.ToGRPC(errors.New(tt.typ, "m")))
			if st.Code() != tt.grpc {
				t.Errorf("ToGRPC(New(%s)) code = %s, want %s", tt.typ, st.Code(), tt.grpc)
			}

			if got := errors.HTTPStatus(tt.typ); got != tt.http {
				t.Errorf("HTTPStatus(%s) = %d, want %d", tt.typ, got, tt.http)
			}

			// The HTTP table promises to match what the gateway derives
			// from the gRPC code.
			if got := runtime.HTTPStatusFromCode(tt.grpc); got != tt.http {
				t.Errorf("HTTPStatus(%s) = %d, but the gateway maps gRPC %s to %d", tt.typ, tt.http, tt.grpc, got)
			}
		})
	}
}

func TestHTTPStatusOfUnknownTypeIsInternal(t *testing.T) {
	if got := errors.HTTPStatus("bogus"); got != http.StatusInternalServerError {
		t.Errorf("HTTPStatus(%q) = %d, want 500", "bogus", got)
	}
}

// TestToGRPCNeverReturnsOKForAnError is a failing test for a bug in
// grpc.go: Status looks the gRPC code up in grpcCode without a default, so a
// DomainError whose Type is not in the table (a zero DomainError, or
// New("bogus", ...)) gets codes.OK and ToGRPC returns nil: the error is
// swallowed and the client sees success. HTTPStatus falls back to 500; the
// gRPC table should fall back to codes.Internal the same way.
func TestToGRPCNeverReturnsOKForAnError(t *testing.T) {
	for _, de := range []*errors.DomainError{{}, errors.New("bogus", "m")} {
		got := errors.ToGRPC(de)
		if got == nil {
			t.Errorf("ToGRPC(%#v) = nil, want a non-nil status error (codes.Internal)", de)
			continue
		}

		if c := status.Code(got); c != codes.Internal {
			t.Errorf("ToGRPC(%#v) code = %s, want Internal", de, c)
		}
	}
}

func TestToDomain(t *testing.T) {
	de := errors.NotFound("order not found")
	unknown := fmt.Errorf("dial tcp 10.0.0.7:5432: password authentication failed")

	tests := []struct {
		name     string
		err      error
		wantType errors.Type
		wantCode errors.Code
		wantMsg  string
	}{
		{"domain error", de, errors.TypeNotFound, errors.CodeNotFound, "order not found"},
		{"wrapped domain error", fmt.Errorf("x: %w", de), errors.TypeNotFound, errors.CodeNotFound, "order not found"},
		{"deadline", context.DeadlineExceeded, errors.TypeTimeout, errors.CodeTimeout, "request timed out"},
		{"wrapped deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), errors.TypeTimeout, errors.CodeTimeout, "request timed out"},
		{"canceled", context.Canceled, errors.TypeUnavailable, errors.CodeUnavailable, "request canceled"},
		{"unknown", unknown, errors.TypeInternal, errors.CodeInternal, "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := errors.ToDomain(tt.err)
			if got.Type != tt.wantType || got.Code != tt.wantCode || got.Message != tt.wantMsg {
				t.Errorf("ToDomain(%v) = {%s %s %q}, want {%s %s %q}",
					tt.err, got.Type, got.Code, got.Message, tt.wantType, tt.wantCode, tt.wantMsg)
			}

			// Either the domain error came from the input's chain, or it
			// wraps the input as its logged cause.
			if !stderrors.Is(tt.err, got) && !stderrors.Is(got, tt.err) {
				t.Errorf("ToDomain(%v) = %v, unrelated to its input", tt.err, got)
			}
		})
	}
}

func TestToDomainReturnsTheSameDomainError(t *testing.T) {
	de := errors.NotFound("order not found")
	if got := errors.ToDomain(fmt.Errorf("x: %w", de)); got != de {
		t.Errorf("ToDomain(wrapped de) = %p, want the same pointer %p", got, de)
	}
}

func TestToGRPCMessage(t *testing.T) {
	causeText := "dial tcp 10.0.0.7:5432: authentication failed for user app"

	tests := []struct {
		name     string
		err      error
		wantCode codes.Code
		wantMsg  string
	}{
		{
			"domain error with cause",
			errors.NotFound("order not found", errors.WithCause(fmt.Errorf("%s", causeText))),
			codes.NotFound, "[NOT_FOUND] order not found",
		},
		{
			"wrapped domain error",
			fmt.Errorf("get order: %w", errors.WithCode(errors.CodeAuthTokenExpired, "access token expired")),
			codes.Unauthenticated, "[AUTH_TOKEN_EXPIRED] access token expired",
		},
		{"internal with cause", errors.Internal("internal error", fmt.Errorf("%s", causeText)), codes.Internal, "[INTERNAL] internal error"},
		{"unknown error", fmt.Errorf("%s", causeText), codes.Internal, "[INTERNAL] internal error"},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), codes.DeadlineExceeded, "[TIMEOUT] request timed out"},
		{"canceled", context.Canceled, codes.Unavailable, "[UNAVAILABLE] request canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, ok := status.FromError(errors.ToGRPC(tt.err))
			if !ok {
				t.Fatalf("ToGRPC(%v) is not a status error", tt.err)
			}

			if st.Code() != tt.wantCode || st.Message() != tt.wantMsg {
				t.Errorf("ToGRPC(%v) = %s %q, want %s %q", tt.err, st.Code(), st.Message(), tt.wantCode, tt.wantMsg)
			}

			for _, d := range st.Proto().GetDetails() {
				if strings.Contains(string(d.GetValue()), "password") {
					t.Errorf("ToGRPC(%v) detail %s leaks the cause", tt.err, d.GetTypeUrl())
				}
			}
		})
	}
}

func TestToGRPCNil(t *testing.T) {
	if got := errors.ToGRPC(nil); got != nil {
		t.Errorf("ToGRPC(nil) = %v, want nil", got)
	}
}

func TestToGRPCPassesStatusErrorsThrough(t *testing.T) {
	plain := status.Error(codes.FailedPrecondition, "not ready")
	wrapped := fmt.Errorf("call inventory: %w", plain)

	for _, err := range []error{plain, wrapped} {
		// errors.Is compares a wrapping error by identity and a status
		// error by its proto: either way the error comes back unchanged.
		if got := errors.ToGRPC(err); !stderrors.Is(got, err) {
			t.Errorf("ToGRPC(%v) = %v, want the same error back", err, got)
		}
	}
}

func TestStatusDetails(t *testing.T) {
	de := errors.RateLimited("slow down", 1500*time.Millisecond,
		errors.WithDetail("limit", "10/min"),
		errors.WithField("email", "too many attempts"),
		errors.WithField("ip", "blocked"),
	)

	want := []any{
		&errdetails.ErrorInfo{Reason: "RATE_LIMITED", Domain: "modulith", Metadata: map[string]string{"limit": "10/min"}},
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
			{Field: "email", Description: "too many attempts"},
			{Field: "ip", Description: "blocked"},
		}},
		&errdetails.RetryInfo{RetryDelay: durationpb.New(1500 * time.Millisecond)},
	}

	st := status.Convert(errors.ToGRPC(de))
	if diff := cmp.Diff(want, st.Details(), protocmp.Transform()); diff != "" {
		t.Errorf("ToGRPC(%v) details mismatch (-want +got):\n%s", de, diff)
	}
}

func TestStatusDetailsMinimal(t *testing.T) {
	de := errors.NotFound("gone")
	want := []any{&errdetails.ErrorInfo{Reason: "NOT_FOUND", Domain: errors.Domain}}

	if diff := cmp.Diff(want, errors.Status(de).Details(), protocmp.Transform()); diff != "" {
		t.Errorf("Status(%v) details mismatch (-want +got):\n%s", de, diff)
	}
}

func TestFromGRPCRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		de   *errors.DomainError
	}{
		{"not found", errors.NotFound("order not found")},
		{"custom code", errors.WithCode(errors.CodeAuthTokenReused, "refresh token reused")},
		{"details", errors.Forbidden("no", errors.WithDetail("permission", "orders:write"), errors.WithDetail("k", "v"))},
		{"fields", errors.Validation("invalid", errors.WithField("email", "required"), errors.WithField("age", "too low"))},
		{"retry after", errors.RateLimited("slow down", 2500*time.Millisecond, errors.WithDetail("limit", "5"))},
		{"message with brackets", errors.Validation("[x] y")},
		{"internal", errors.Internal("internal error", nil)},
		{"timeout", errors.Timeout("too slow")},
		{"unavailable", errors.Unavailable("down")},
		{"already exists", errors.AlreadyExists("dup")},
		{"unauthorized", errors.Unauthorized("who")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			grpcErr := errors.ToGRPC(tt.de)

			var got *errors.DomainError
			if !stderrors.As(errors.FromGRPC(grpcErr), &got) {
				t.Fatalf("FromGRPC(ToGRPC(%v)) is not a *DomainError", tt.de)
			}

			if diff := cmp.Diff(tt.de, got, ignoreCause); diff != "" {
				t.Errorf("FromGRPC(ToGRPC(%v)) mismatch (-want +got):\n%s", tt.de, diff)
			}

			if !stderrors.Is(got, grpcErr) {
				t.Errorf("FromGRPC result does not wrap the status error")
			}
		})
	}
}

// TestFromGRPCKeepsConflictType is a failing test for a bug in grpc.go:
// TypeConflict and TypeAlreadyExists share codes.AlreadyExists, and FromGRPC
// takes the type from the gRPC code (typeOfGRPC) even when the ErrorInfo names
// a well-known code. Conflict("x") comes back as Type already_exists with Code
// CONFLICT, so IsType(err, TypeConflict) is false after one network hop.
// Expected: the type of a well-known ErrorInfo reason (typeOfCode) wins.
func TestFromGRPCKeepsConflictType(t *testing.T) {
	de := errors.Conflict("version mismatch")

	var got *errors.DomainError
	if !stderrors.As(errors.FromGRPC(errors.ToGRPC(de)), &got) {
		t.Fatalf("FromGRPC(ToGRPC(%v)) is not a *DomainError", de)
	}

	if diff := cmp.Diff(de, got, ignoreCause); diff != "" {
		t.Errorf("FromGRPC(ToGRPC(%v)) mismatch (-want +got):\n%s", de, diff)
	}
}

func TestFromGRPCWithoutErrorInfo(t *testing.T) {
	tests := []struct {
		code codes.Code
		want errors.Type
	}{
		{codes.NotFound, errors.TypeNotFound},
		{codes.AlreadyExists, errors.TypeAlreadyExists},
		{codes.InvalidArgument, errors.TypeValidation},
		{codes.Unauthenticated, errors.TypeUnauthorized},
		{codes.PermissionDenied, errors.TypeForbidden},
		{codes.ResourceExhausted, errors.TypeRateLimited},
		{codes.Unavailable, errors.TypeUnavailable},
		{codes.DeadlineExceeded, errors.TypeTimeout},
		{codes.FailedPrecondition, errors.TypeConflict},
		{codes.Aborted, errors.TypeConflict},
		{codes.Internal, errors.TypeInternal},
		{codes.Unknown, errors.TypeInternal},
		{codes.Unimplemented, errors.TypeInternal},
		{codes.DataLoss, errors.TypeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.code.String(), func(t *testing.T) {
			var got *errors.DomainError
			if !stderrors.As(errors.FromGRPC(status.Error(tt.code, "from elsewhere")), &got) {
				t.Fatalf("FromGRPC(status %s) is not a *DomainError", tt.code)
			}

			want := errors.New(tt.want, "from elsewhere")
			if diff := cmp.Diff(want, got, ignoreCause); diff != "" {
				t.Errorf("FromGRPC(status %s) mismatch (-want +got):\n%s", tt.code, diff)
			}
		})
	}
}

func TestFromGRPCIgnoresErrorInfoOfOtherDomains(t *testing.T) {
	st, err := status.New(codes.NotFound, "[NOPE] missing").WithDetails(
		&errdetails.ErrorInfo{Reason: "NOPE", Domain: "example.com", Metadata: map[string]string{"a": "b"}})
	if err != nil {
		t.Fatal(err)
	}

	var got *errors.DomainError
	if !stderrors.As(errors.FromGRPC(st.Err()), &got) {
		t.Fatalf("FromGRPC(%v) is not a *DomainError", st.Err())
	}

	want := errors.NotFound("missing")
	if diff := cmp.Diff(want, got, ignoreCause); diff != "" {
		t.Errorf("FromGRPC(foreign ErrorInfo) mismatch (-want +got):\n%s", diff)
	}
}

func TestFromGRPCLeavesOtherErrorsUnchanged(t *testing.T) {
	plain := fmt.Errorf("not a status")

	if got := errors.FromGRPC(plain); !stderrors.Is(got, plain) || errors.IsType(got, errors.TypeInternal) {
		t.Errorf("FromGRPC(%v) = %v, want it unchanged", plain, got)
	}

	if got := errors.FromGRPC(nil); got != nil {
		t.Errorf("FromGRPC(nil) = %v, want nil", got)
	}
}
