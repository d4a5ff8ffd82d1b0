package middleware

import (
	"bytes"
	stderrors "errors"
	"io"
	"net/http"
	"strconv"

	"github.com/modulith/modulith/internal/errors"
)

// BodyLimit rejects request bodies larger than maxBytes with 413: at once
// when Content-Length says so, else after reading at most maxBytes+1 bytes,
// which also bounds chunked bodies of unknown length. A body within the
// limit is read completely and handed on from memory; one cut by the read
// deadline of BodyReadTimeout gets 408 TIMEOUT. Requests without a body pass untouched; maxBytes
// ≤ 0 disables the limit.
func BodyLimit(maxBytes int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if maxBytes <= 0 {
			return next
		}

		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body == nil || r.Body == http.NoBody {
				serve(next, w, r)

				return
			}

			if r.ContentLength > maxBytes {
				writeTooLarge(w, maxBytes)

				return
			}

			body, err := io.ReadAll(io.LimitReader(r.Body, maxBytes+1))

			switch {
			case int64(len(body)) > maxBytes || isMaxBytesError(err):
				writeTooLarge(w, maxBytes)
			case isDeadline(err):
				writeBodyTimeout(w, err)
			case err != nil:
				errors.WriteHTTP(w, http.StatusBadRequest,
					errors.Validation("could not read request body", errors.WithCause(err)))
			default:
				r.Body = io.NopCloser(bytes.NewReader(body))
				serve(next, w, r)
			}
		})
	}
}

func writeTooLarge(w http.ResponseWriter, maxBytes int64) {
	errors.WriteHTTP(w, http.StatusRequestEntityTooLarge, errors.Validation("request body too large",
		errors.WithErrorCode("PAYLOAD_TOO_LARGE"),
		errors.WithDetail("max_bytes", strconv.FormatInt(maxBytes, 10)),
	))
}

// writeBodyTimeout answers 408 to a request whose body did not arrive
// within BodyReadTimeout's bound, and closes the connection: what is left
// of the body cannot be read.
func writeBodyTimeout(w http.ResponseWriter, err error) {
	w.Header().Set("Connection", "close")
	errors.WriteHTTP(w, http.StatusRequestTimeout, errors.Timeout("request body not received in time", errors.WithCause(err)))
}

// isMaxBytesError reports a body an outer http.MaxBytesReader cut short.
func isMaxBytesError(err error) bool {
	var mbe *http.MaxBytesError

	return stderrors.As(err, &mbe)
}
