package interceptor_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"buf.build/go/protovalidate"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	authv1 "github.com/modulith/modulith/gen/go/auth/v1"
	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/interceptor"

	"github.com/modulith/modulith/internal/telemetry/logtest"
)

func newValidator(t *testing.T) protovalidate.Validator {
	t.Helper()

	v, err := protovalidate.New()
	if err != nil {
		t.Fatalf("protovalidate.New() = %v", err)
	}

	return v
}

// validated runs req through Errors and Validation, as the server chain does,
// and reports whether the handler ran.
func validated(t *testing.T, v protovalidate.Validator, req any) (bool, error) {
	t.Helper()

	logger, _ := logtest.New(slog.LevelDebug)
	chain := interceptor.ChainUnary(interceptor.Errors(logger), interceptor.Validation(v))
	called := false

	_, err := chain(t.Context(), req, getProfileInfo, func(context.Context, any) (any, error) {
		called = true

		return nil, nil
	})

	return called, err
}

func TestValidationRejectsInvalidRequests(t *testing.T) {
	v := newValidator(t)

	tests := []struct {
		name       string
		req        proto.Message
		wantFields []string
	}{
		{
			name:       "invalid email",
			req:        &authv1.RequestLoginRequest{Identity: &authv1.RequestLoginRequest_Email{Email: "not-an-email"}},
			wantFields: []string{"email"},
		},
		{
			name:       "invalid phone",
			req:        &authv1.RequestLoginRequest{Identity: &authv1.RequestLoginRequest_Phone{Phone: "0123"}},
			wantFields: []string{"phone"},
		},
		{name: "missing oneof", req: &authv1.RequestLoginRequest{}, wantFields: []string{"identity"}},
		{
			name: "bad code and email",
			req: &authv1.CompleteLoginRequest{
				Identity: &authv1.CompleteLoginRequest_Email{Email: "x"}, Code: "12ab",
			},
			wantFields: []string{"email", "code"},
		},
		{name: "empty refresh token", req: &authv1.RefreshTokenRequest{}, wantFields: []string{"refresh_token"}},
		{name: "bad session ID", req: &authv1.RevokeSessionRequest{SessionId: "sess_x"}, wantFields: []string{"session_id"}},
		{
			name:       "empty display name",
			req:        &authv1.UpdateProfileRequest{DisplayName: proto.String("")},
			wantFields: []string{"display_name"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called, err := validated(t, v, tt.req)
			if called {
				t.Error("the handler ran on an invalid request")
			}

			checkValidationStatus(t, err, tt.wantFields)
		})
	}
}

func checkValidationStatus(t *testing.T, err error, wantFields []string) {
	t.Helper()

	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument || !strings.HasPrefix(st.Message(), "[VALIDATION_FAILED] invalid request") {
		t.Errorf("error = %v, want InvalidArgument [VALIDATION_FAILED]", err)
	}

	var (
		reason string
		fields []string
	)

	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			reason = d.GetReason()
		case *errdetails.BadRequest:
			for _, f := range d.GetFieldViolations() {
				fields = append(fields, f.GetField())

				if f.GetDescription() == "" {
					t.Errorf("violation of %s has no description", f.GetField())
				}
			}
		}
	}

	if reason != string(errors.CodeValidationFailed) {
		t.Errorf("ErrorInfo reason = %q, want %s", reason, errors.CodeValidationFailed)
	}

	if diff := cmp.Diff(wantFields, fields); diff != "" {
		t.Errorf("violated fields (-want +got):\n%s", diff)
	}
}

func TestValidationPassesValidRequests(t *testing.T) {
	v := newValidator(t)

	tests := []struct {
		name string
		req  any
	}{
		{name: "email", req: &authv1.RequestLoginRequest{Identity: &authv1.RequestLoginRequest_Email{Email: "ada@example.com"}}},
		{name: "phone", req: &authv1.RequestLoginRequest{Identity: &authv1.RequestLoginRequest_Phone{Phone: "+14155550100"}}},
		{
			name: "complete login",
			req:  &authv1.CompleteLoginRequest{Identity: &authv1.CompleteLoginRequest_Email{Email: "a@b.co"}, Code: "123456"},
		},
		{name: "no rules", req: &authv1.GetProfileRequest{}},
		{name: "unset optional", req: &authv1.UpdateProfileRequest{}},
		{name: "not a proto message", req: "plain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called, err := validated(t, v, tt.req)
			if !called || err != nil {
				t.Errorf("Validation(%v): handler ran %t, error %v; want it run without error", tt.req, called, err)
			}
		})
	}
}

func TestValidationReturnsDomainError(t *testing.T) {
	v := newValidator(t)

	_, err := interceptor.Validation(v)(t.Context(), &authv1.RequestLoginRequest{}, getProfileInfo, okHandler)
	if !errors.IsType(err, errors.TypeValidation) || !errors.HasCode(err, errors.CodeValidationFailed) {
		t.Errorf("Validation(missing oneof) = %v, want a validation domain error", err)
	}
}
