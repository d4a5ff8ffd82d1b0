package gateway

import (
	"fmt"
	"io"
	"net/url"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"google.golang.org/protobuf/proto"
)

// mimeForm is the content type of an HTML form body, which some callers
// post (an OAuth provider's response_mode=form_post).
const mimeForm = "application/x-www-form-urlencoded"

// formMarshaler reads a form body into a request message, each form field
// into the field of that name, as query parameters are read; fields the
// message lacks are ignored. Answers are the JSON of the embedded
// marshaler.
type formMarshaler struct{ runtime.Marshaler }

// NewDecoder returns a decoder of a form body.
func (formMarshaler) NewDecoder(r io.Reader) runtime.Decoder {
	return runtime.DecoderFunc(func(v any) error {
		msg, ok := v.(proto.Message)
		if !ok {
			return fmt.Errorf("decode a form into %T: not a message", v)
		}

		body, err := io.ReadAll(r)
		if err != nil {
			return fmt.Errorf("read form: %w", err)
		}

		values, err := url.ParseQuery(string(body))
		if err != nil {
			return fmt.Errorf("parse form: %w", err)
		}

		return runtime.PopulateQueryParameters(msg, values, utilities.NewDoubleArray(nil))
	})
}
