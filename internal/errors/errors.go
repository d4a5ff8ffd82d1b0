// Package errors defines the domain errors every module returns and the one
// table that translates them to gRPC statuses (and, through the gateway, to
// HTTP statuses).
//
// A service returns errors such as NotFound("order not found"); the gRPC
// error interceptor calls ToGRPC once at the boundary. Anything that is not a
// *DomainError becomes Internal with a generic message: the cause is logged,
// never returned to the client.
//
// The package shadows the standard library's errors, as in the seed: code
// that needs both imports the standard library's under another name.
package errors

import (
	stderrors "errors"
	"fmt"
	"strings"
	"time"
)

// Type classifies a domain error; IsType tests it.
type Type string

// The error types; each maps to one gRPC code.
const (
	TypeNotFound      Type = "not_found"
	TypeAlreadyExists Type = "already_exists"
	TypeValidation    Type = "validation"
	TypeUnauthorized  Type = "unauthorized"
	TypeForbidden     Type = "forbidden"
	TypeConflict      Type = "conflict"
	TypeRateLimited   Type = "rate_limited"
	TypeUnavailable   Type = "unavailable"
	TypeTimeout       Type = "timeout"
	TypeInternal      Type = "internal"
)

// Code is a stable, machine-readable error code that clients may switch on.
type Code string

// The codes of the seed, plus the ones the platform itself needs.
const (
	CodeNotFound         Code = "NOT_FOUND"
	CodeAlreadyExists    Code = "ALREADY_EXISTS"
	CodeValidationFailed Code = "VALIDATION_FAILED"
	CodeAuthRequired     Code = "AUTH_REQUIRED"
	CodeAuthTokenExpired Code = "AUTH_TOKEN_EXPIRED"
	CodeAuthTokenInvalid Code = "AUTH_TOKEN_INVALID"
	CodeAuthTokenReused  Code = "AUTH_TOKEN_REUSED"
	CodeAuthCodeInvalid  Code = "AUTH_CODE_INVALID"
	CodeAuthOAuthFailed  Code = "AUTH_OAUTH_FAILED"
	CodeForbidden        Code = "FORBIDDEN"
	CodeConflict         Code = "CONFLICT"
	CodeRateLimited      Code = "RATE_LIMITED"
	CodeUnavailable      Code = "UNAVAILABLE"
	CodeTimeout          Code = "TIMEOUT"
	CodeInternal         Code = "INTERNAL"
)

// defaultCode is the code an error of each type gets unless one is given.
var defaultCode = map[Type]Code{
	TypeNotFound:      CodeNotFound,
	TypeAlreadyExists: CodeAlreadyExists,
	TypeValidation:    CodeValidationFailed,
	TypeUnauthorized:  CodeAuthRequired,
	TypeForbidden:     CodeForbidden,
	TypeConflict:      CodeConflict,
	TypeRateLimited:   CodeRateLimited,
	TypeUnavailable:   CodeUnavailable,
	TypeTimeout:       CodeTimeout,
	TypeInternal:      CodeInternal,
}

// typeOfCode is the type of every well-known code, for WithCode and for
// statuses that come back over gRPC: each type's default code, and the
// codes that refine a type.
var typeOfCode = map[Code]Type{
	CodeNotFound:         TypeNotFound,
	CodeAlreadyExists:    TypeAlreadyExists,
	CodeValidationFailed: TypeValidation,
	CodeAuthRequired:     TypeUnauthorized,
	CodeAuthTokenExpired: TypeUnauthorized,
	CodeAuthTokenInvalid: TypeUnauthorized,
	CodeAuthTokenReused:  TypeUnauthorized,
	CodeAuthCodeInvalid:  TypeUnauthorized,
	CodeAuthOAuthFailed:  TypeUnauthorized,
	CodeForbidden:        TypeForbidden,
	CodeConflict:         TypeConflict,
	CodeRateLimited:      TypeRateLimited,
	CodeUnavailable:      TypeUnavailable,
	CodeTimeout:          TypeTimeout,
	CodeInternal:         TypeInternal,
}

// FieldViolation names one invalid field of a request.
type FieldViolation struct {
	Field       string `json:"field"`
	Description string `json:"description"`
}

// DomainError is an error a client may see: its Code and Message are
// returned; its cause is only logged.
type DomainError struct {
	Type    Type
	Code    Code
	Message string
	// Details are returned to the client as key/value metadata.
	Details map[string]string
	// Fields lists invalid request fields (validation errors).
	Fields []FieldViolation
	// RetryAfter tells a rate-limited client when to try again.
	RetryAfter time.Duration
	cause      error
}

// Error describes the error for logs, cause included.
func (e *DomainError) Error() string {
	var b strings.Builder

	fmt.Fprintf(&b, "[%s] %s", e.Code, e.Message)

	if e.cause != nil {
		b.WriteString(": ")
		b.WriteString(e.cause.Error())
	}

	return b.String()
}

// Unwrap returns the cause.
func (e *DomainError) Unwrap() error { return e.cause }

// IsType reports whether err's chain holds a domain error of type t.
func IsType(err error, t Type) bool {
	var de *DomainError

	return stderrors.As(err, &de) && de.Type == t
}

// HasCode reports whether err's chain holds a domain error with code c.
func HasCode(err error, c Code) bool {
	var de *DomainError

	return stderrors.As(err, &de) && de.Code == c
}

// Option adds information to a domain error.
type Option func(*DomainError)

// WithDetail adds a key/value pair returned to the client.
func WithDetail(key, value string) Option {
	return func(e *DomainError) {
		if e.Details == nil {
			e.Details = make(map[string]string, 1)
		}

		e.Details[key] = value
	}
}

// WithField records an invalid request field.
func WithField(field, description string) Option {
	return func(e *DomainError) {
		e.Fields = append(e.Fields, FieldViolation{Field: field, Description: description})
	}
}

// WithCause records the underlying error; it is logged, never returned.
func WithCause(err error) Option {
	return func(e *DomainError) { e.cause = err }
}

// WithErrorCode overrides the default code of the error's type.
func WithErrorCode(code Code) Option {
	return func(e *DomainError) { e.Code = code }
}

// WithRetryAfter tells the client when to retry.
func WithRetryAfter(d time.Duration) Option {
	return func(e *DomainError) { e.RetryAfter = d }
}

// New returns a domain error of type t with the type's default code.
func New(t Type, message string, opts ...Option) *DomainError {
	e := &DomainError{Type: t, Code: defaultCode[t], Message: message}
	for _, opt := range opts {
		opt(e)
	}

	return e
}

// WithCode returns a domain error with an explicit code; the type is inferred
// from the code (Internal for unknown codes).
func WithCode(code Code, message string, opts ...Option) *DomainError {
	t, ok := typeOfCode[code]
	if !ok {
		t = TypeInternal
	}

	return New(t, message, append([]Option{WithErrorCode(code)}, opts...)...)
}

// NotFound reports a missing resource.
func NotFound(message string, opts ...Option) *DomainError {
	return New(TypeNotFound, message, opts...)
}

// AlreadyExists reports a resource that cannot be created twice.
func AlreadyExists(message string, opts ...Option) *DomainError {
	return New(TypeAlreadyExists, message, opts...)
}

// Validation reports invalid input.
func Validation(message string, opts ...Option) *DomainError {
	return New(TypeValidation, message, opts...)
}

// Unauthorized reports a missing or invalid credential.
func Unauthorized(message string, opts ...Option) *DomainError {
	return New(TypeUnauthorized, message, opts...)
}

// Forbidden reports an authenticated caller who may not do this.
func Forbidden(message string, opts ...Option) *DomainError {
	return New(TypeForbidden, message, opts...)
}

// Conflict reports a request that clashes with the current state.
func Conflict(message string, opts ...Option) *DomainError {
	return New(TypeConflict, message, opts...)
}

// RateLimited reports a caller who must slow down.
func RateLimited(message string, retryAfter time.Duration, opts ...Option) *DomainError {
	return New(TypeRateLimited, message, append([]Option{WithRetryAfter(retryAfter)}, opts...)...)
}

// Unavailable reports a dependency that cannot serve the request now.
func Unavailable(message string, opts ...Option) *DomainError {
	return New(TypeUnavailable, message, opts...)
}

// Timeout reports a request that ran out of time.
func Timeout(message string, opts ...Option) *DomainError {
	return New(TypeTimeout, message, opts...)
}

// Internal reports a failure the client cannot fix; cause is logged only.
func Internal(message string, cause error, opts ...Option) *DomainError {
	return New(TypeInternal, message, append([]Option{WithCause(cause)}, opts...)...)
}

// GetErrorCode returns the code of the domain error in err's chain, or
// CodeInternal when there is none.
func GetErrorCode(err error) Code {
	var de *DomainError
	if stderrors.As(err, &de) {
		return de.Code
	}

	return CodeInternal
}
