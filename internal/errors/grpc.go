package errors

import (
	"context"
	stderrors "errors"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Domain is the ErrorInfo domain of every error this platform returns.
const Domain = "modulith"

// grpcCode is the one table from error type to gRPC code.
var grpcCode = map[Type]codes.Code{
	TypeNotFound:      codes.NotFound,
	TypeAlreadyExists: codes.AlreadyExists,
	TypeValidation:    codes.InvalidArgument,
	TypeUnauthorized:  codes.Unauthenticated,
	TypeForbidden:     codes.PermissionDenied,
	TypeConflict:      codes.AlreadyExists,
	TypeRateLimited:   codes.ResourceExhausted,
	TypeUnavailable:   codes.Unavailable,
	TypeTimeout:       codes.DeadlineExceeded,
	TypeInternal:      codes.Internal,
}

// typeOfGRPC maps a gRPC code back to a type, for statuses that carry no
// ErrorInfo (they come from outside this platform).
var typeOfGRPC = map[codes.Code]Type{
	codes.NotFound:           TypeNotFound,
	codes.AlreadyExists:      TypeAlreadyExists,
	codes.InvalidArgument:    TypeValidation,
	codes.Unauthenticated:    TypeUnauthorized,
	codes.PermissionDenied:   TypeForbidden,
	codes.ResourceExhausted:  TypeRateLimited,
	codes.Unavailable:        TypeUnavailable,
	codes.DeadlineExceeded:   TypeTimeout,
	codes.FailedPrecondition: TypeConflict,
	codes.Aborted:            TypeConflict,
}

// ToDomain returns err as the domain error the client will see: the domain
// error in its chain, a timeout or cancellation for context errors, and a
// generic internal error for anything else.
func ToDomain(err error) *DomainError {
	var de *DomainError

	switch {
	case stderrors.As(err, &de):
		return de
	case stderrors.Is(err, context.DeadlineExceeded):
		return Timeout("request timed out", WithCause(err))
	case stderrors.Is(err, context.Canceled):
		return New(TypeUnavailable, "request canceled", WithCause(err))
	default:
		return Internal("internal error", err)
	}
}

// ToGRPC translates err to a gRPC status error carrying "[CODE] message", an
// ErrorInfo with the code and details, field violations and retry advice.
// Status errors that did not come from a domain error pass through as they
// are; nil stays nil.
func ToGRPC(err error) error {
	if err == nil {
		return nil
	}

	var de *DomainError
	if !stderrors.As(err, &de) {
		if _, ok := status.FromError(err); ok {
			return err
		}
	}

	return Status(ToDomain(err)).Err()
}

// Status builds the gRPC status of a domain error.
func Status(de *DomainError) *status.Status {
	code, ok := grpcCode[de.Type]
	if !ok {
		code = codes.Internal // never OK: an error must not read as success
	}

	st := status.New(code, "["+string(de.Code)+"] "+de.Message)

	details := []protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: string(de.Code), Domain: Domain, Metadata: de.Details}}
	if len(de.Fields) > 0 {
		br := &errdetails.BadRequest{}
		for _, f := range de.Fields {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
				Field: f.Field, Description: f.Description,
			})
		}

		details = append(details, br)
	}

	if de.RetryAfter > 0 {
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(de.RetryAfter)})
	}

	withDetails, err := st.WithDetails(details...)
	if err != nil {
		return st
	}

	return withDetails
}

// FromGRPC turns a status error received from another module back into the
// domain error it was made from, so errors keep their type and code across
// a network hop. Errors that are not statuses are returned unchanged.
func FromGRPC(err error) error {
	st, ok := status.FromError(err)
	if !ok || st.Code() == codes.OK {
		return err
	}

	t, known := typeOfGRPC[st.Code()]
	if !known {
		t = TypeInternal
	}

	de := New(t, stripCode(st.Message()), WithCause(err))
	for _, d := range st.Details() {
		applyDetail(de, d)
	}

	return de
}

func applyDetail(de *DomainError, d any) {
	switch d := d.(type) {
	case *errdetails.ErrorInfo:
		if d.GetDomain() == Domain {
			de.Code = Code(d.GetReason())
			if t, ok := typeOfCode[de.Code]; ok {
				// Conflict and AlreadyExists share a gRPC code; the reason tells.
				de.Type = t
			}

			if len(d.GetMetadata()) > 0 {
				de.Details = d.GetMetadata()
			}
		}
	case *errdetails.BadRequest:
		for _, f := range d.GetFieldViolations() {
			de.Fields = append(de.Fields, FieldViolation{Field: f.GetField(), Description: f.GetDescription()})
		}
	case *errdetails.RetryInfo:
		de.RetryAfter = d.GetRetryDelay().AsDuration().Round(time.Millisecond)
	}
}

// stripCode removes the "[CODE] " prefix ToGRPC puts in front of messages.
func stripCode(msg string) string {
	if strings.HasPrefix(msg, "[") {
		if i := strings.Index(msg, "] "); i > 0 {
			return msg[i+2:]
		}
	}

	return msg
}
