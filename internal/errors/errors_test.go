package errors_test

import (
	stderrors "errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/modulith/modulith/internal/errors"
)

// errCause stands for a driver or dependency error a domain error wraps.
var errCause = errors.New(errors.TypeInternal, "connection reset")

// ignoreCause compares domain errors by their exported fields; the cause is
// checked with errors.Is where it matters.
var ignoreCause = cmpopts.IgnoreUnexported(errors.DomainError{})

func TestConstructorsSetTypeAndDefaultCode(t *testing.T) {
	tests := []struct {
		name     string
		err      *errors.DomainError
		wantType errors.Type
		wantCode errors.Code
	}{
		{"NotFound", errors.NotFound("m"), errors.TypeNotFound, errors.CodeNotFound},
		{"AlreadyExists", errors.AlreadyExists("m"), errors.TypeAlreadyExists, errors.CodeAlreadyExists},
		{"Validation", errors.Validation("m"), errors.TypeValidation, errors.CodeValidationFailed},
		{"Unauthorized", errors.Unauthorized("m"), errors.TypeUnauthorized, errors.CodeAuthRequired},
		{"Forbidden", errors.Forbidden("m"), errors.TypeForbidden, errors.CodeForbidden},
		{"Conflict", errors.Conflict("m"), errors.TypeConflict, errors.CodeConflict},
		{"RateLimited", errors.RateLimited("m", time.Second), errors.TypeRateLimited, errors.CodeRateLimited},
		{"Unavailable", errors.Unavailable("m"), errors.TypeUnavailable, errors.CodeUnavailable},
		{"Timeout", errors.Timeout("m"), errors.TypeTimeout, errors.CodeTimeout},
		{"Internal", errors.Internal("m", nil), errors.TypeInternal, errors.CodeInternal},
		{"New", errors.New(errors.TypeForbidden, "m"), errors.TypeForbidden, errors.CodeForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err.Type != tt.wantType || tt.err.Code != tt.wantCode || tt.err.Message != "m" {
				t.Errorf("%s(%q) = {%s %s %q}, want {%s %s %q}",
					tt.name, "m", tt.err.Type, tt.err.Code, tt.err.Message, tt.wantType, tt.wantCode, "m")
			}
		})
	}
}

func TestWithCodeInfersType(t *testing.T) {
	tests := []struct {
		code errors.Code
		want errors.Type
	}{
		{errors.CodeAuthTokenExpired, errors.TypeUnauthorized},
		{errors.CodeAuthTokenInvalid, errors.TypeUnauthorized},
		{errors.CodeAuthTokenReused, errors.TypeUnauthorized},
		{errors.CodeAuthCodeInvalid, errors.TypeUnauthorized},
		{errors.CodeAuthOAuthFailed, errors.TypeUnauthorized},
		{errors.CodeAuthRequired, errors.TypeUnauthorized},
		{errors.CodeNotFound, errors.TypeNotFound},
		{errors.CodeAlreadyExists, errors.TypeAlreadyExists},
		{errors.CodeValidationFailed, errors.TypeValidation},
		{errors.CodeForbidden, errors.TypeForbidden},
		{errors.CodeConflict, errors.TypeConflict},
		{errors.CodeRateLimited, errors.TypeRateLimited},
		{errors.CodeUnavailable, errors.TypeUnavailable},
		{errors.CodeTimeout, errors.TypeTimeout},
		{errors.CodeInternal, errors.TypeInternal},
		{"ORDER_LOCKED", errors.TypeInternal},
		{"", errors.TypeInternal},
	}
	for _, tt := range tests {
		t.Run(string(tt.code), func(t *testing.T) {
			got := errors.WithCode(tt.code, "m", errors.WithDetail("k", "v"))

			want := &errors.DomainError{Type: tt.want, Code: tt.code, Message: "m", Details: map[string]string{"k": "v"}}
			if diff := cmp.Diff(want, got, ignoreCause); diff != "" {
				t.Errorf("WithCode(%q) mismatch (-want +got):\n%s", tt.code, diff)
			}
		})
	}
}

func TestOptions(t *testing.T) {
	got := errors.Validation("bad request",
		errors.WithDetail("a", "1"),
		errors.WithDetail("b", "2"),
		errors.WithDetail("a", "3"),
		errors.WithField("email", "must be an email"),
		errors.WithField("name", "required"),
		errors.WithCause(errCause),
		errors.WithRetryAfter(3*time.Second),
		errors.WithErrorCode("EMAIL_INVALID"),
	)

	want := &errors.DomainError{
		Type:    errors.TypeValidation,
		Code:    "EMAIL_INVALID",
		Message: "bad request",
		Details: map[string]string{"a": "3", "b": "2"},
		Fields: []errors.FieldViolation{
			{Field: "email", Description: "must be an email"},
			{Field: "name", Description: "required"},
		},
		RetryAfter: 3 * time.Second,
	}
	if diff := cmp.Diff(want, got, ignoreCause); diff != "" {
		t.Errorf("Validation with options mismatch (-want +got):\n%s", diff)
	}

	if !stderrors.Is(got, errCause) {
		t.Errorf("stderrors.Is(%v, cause) = false, want true", got)
	}
}

func TestOptionsOverrideConstructorDefaults(t *testing.T) {
	rl := errors.RateLimited("slow down", time.Second, errors.WithRetryAfter(time.Minute))
	if rl.RetryAfter != time.Minute {
		t.Errorf("RateLimited(1s, WithRetryAfter(1m)).RetryAfter = %v, want 1m", rl.RetryAfter)
	}

	in := errors.Internal("boom", errCause, errors.WithCause(nil))
	if stderrors.Is(in, errCause) {
		t.Errorf("Internal(cause, WithCause(nil)) still wraps the first cause; want the later option to win")
	}

	wc := errors.WithCode(errors.CodeAuthTokenExpired, "expired", errors.WithErrorCode(errors.CodeAuthTokenInvalid))
	if wc.Code != errors.CodeAuthTokenInvalid || wc.Type != errors.TypeUnauthorized {
		t.Errorf("WithCode with WithErrorCode = {%s %s}, want {unauthorized AUTH_TOKEN_INVALID}", wc.Type, wc.Code)
	}
}

func TestErrorIncludesCause(t *testing.T) {
	tests := []struct {
		name string
		err  *errors.DomainError
		want string
	}{
		{"without cause", errors.NotFound("order not found"), "[NOT_FOUND] order not found"},
		{
			"with cause",
			errors.NotFound("order not found", errors.WithCause(fmt.Errorf("no rows"))),
			"[NOT_FOUND] order not found: no rows",
		},
		{"internal", errors.Internal("internal error", errCause), "[INTERNAL] internal error: [INTERNAL] connection reset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestIsTypeAndHasCodeThroughWrapping(t *testing.T) {
	de := errors.WithCode(errors.CodeAuthTokenExpired, "expired")

	tests := []struct {
		name     string
		err      error
		wantType bool
		wantCode bool
		wantGet  errors.Code
	}{
		{"direct", de, true, true, errors.CodeAuthTokenExpired},
		{"wrapped once", fmt.Errorf("x: %w", de), true, true, errors.CodeAuthTokenExpired},
		{"wrapped twice", fmt.Errorf("y: %w", fmt.Errorf("x: %w", de)), true, true, errors.CodeAuthTokenExpired},
		{"joined", stderrors.Join(fmt.Errorf("other"), de), true, true, errors.CodeAuthTokenExpired},
		{"plain error", fmt.Errorf("plain"), false, false, errors.CodeInternal},
		{"nil", nil, false, false, errors.CodeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errors.IsType(tt.err, errors.TypeUnauthorized); got != tt.wantType {
				t.Errorf("IsType(%v, unauthorized) = %t, want %t", tt.err, got, tt.wantType)
			}

			if got := errors.IsType(tt.err, errors.TypeNotFound); got {
				t.Errorf("IsType(%v, not_found) = true, want false", tt.err)
			}

			if got := errors.HasCode(tt.err, errors.CodeAuthTokenExpired); got != tt.wantCode {
				t.Errorf("HasCode(%v, AUTH_TOKEN_EXPIRED) = %t, want %t", tt.err, got, tt.wantCode)
			}

			if got := errors.HasCode(tt.err, errors.CodeAuthRequired); got {
				t.Errorf("HasCode(%v, AUTH_REQUIRED) = true, want false", tt.err)
			}

			if got := errors.GetErrorCode(tt.err); got != tt.wantGet {
				t.Errorf("GetErrorCode(%v) = %s, want %s", tt.err, got, tt.wantGet)
			}
		})
	}
}

func TestIsTypeFindsTheFirstDomainError(t *testing.T) {
	// A domain error that wraps another: the outer one is what the client sees.
	inner := errors.NotFound("row missing")
	outer := errors.Internal("lookup failed", inner)

	if !errors.IsType(outer, errors.TypeInternal) {
		t.Errorf("IsType(outer, internal) = false, want true")
	}

	if errors.IsType(outer, errors.TypeNotFound) {
		t.Errorf("IsType(outer, not_found) = true, want false (the outer type wins)")
	}

	if !stderrors.Is(outer, inner) {
		t.Errorf("stderrors.Is(outer, inner) = false, want true")
	}
}
