package interceptor

import (
	"context"
	stderrors "errors"
	"fmt"

	"buf.build/go/protovalidate"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/modulith/modulith/internal/errors"
)

// Validation checks every request message against its protovalidate
// annotations before the handler runs; a violation becomes InvalidArgument
// (400) naming each offending field.
func Validation(v protovalidate.Validator) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if msg, ok := req.(proto.Message); ok {
			if err := validate(v, msg); err != nil {
				return nil, err
			}
		}

		return handler(ctx, req)
	}
}

// validate returns a domain validation error for msg, or nil.
func validate(v protovalidate.Validator, msg proto.Message) error {
	err := v.Validate(msg)
	if err == nil {
		return nil
	}

	var verr *protovalidate.ValidationError
	if !stderrors.As(err, &verr) {
		return errors.Internal("validate request", fmt.Errorf("protovalidate: %w", err))
	}

	opts := make([]errors.Option, 0, len(verr.Violations))
	for _, violation := range verr.Violations {
		field := protovalidate.FieldPathString(violation.Proto.GetField())
		if field == "" {
			field = "request"
		}

		opts = append(opts, errors.WithField(field, violation.Proto.GetMessage()))
	}

	de := errors.Validation("invalid request", opts...)
	if len(de.Fields) > 0 {
		de.Message = fmt.Sprintf("invalid request: %s: %s", de.Fields[0].Field, de.Fields[0].Description)
	}

	return de
}
