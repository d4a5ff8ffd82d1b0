package errors

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// httpStatus is the HTTP status of each error type, matching what the
// gateway derives from the gRPC code.
var httpStatus = map[Type]int{
	TypeNotFound:      http.StatusNotFound,
	TypeAlreadyExists: http.StatusConflict,
	TypeValidation:    http.StatusBadRequest,
	TypeUnauthorized:  http.StatusUnauthorized,
	TypeForbidden:     http.StatusForbidden,
	TypeConflict:      http.StatusConflict,
	TypeRateLimited:   http.StatusTooManyRequests,
	TypeUnavailable:   http.StatusServiceUnavailable,
	TypeTimeout:       http.StatusGatewayTimeout,
	TypeInternal:      http.StatusInternalServerError,
}

// HTTPStatus returns the HTTP status for an error type.
func HTTPStatus(t Type) int {
	if s, ok := httpStatus[t]; ok {
		return s
	}

	return http.StatusInternalServerError
}

// HTTPBody is the JSON body of every error response: {code, message, details}.
type HTTPBody struct {
	Code    Code           `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details"`
}

// Body returns the JSON body a client sees for de.
func Body(de *DomainError) HTTPBody {
	details := make(map[string]any, len(de.Details)+2)
	for k, v := range de.Details {
		details[k] = v
	}

	if len(de.Fields) > 0 {
		details["fields"] = de.Fields
	}

	if de.RetryAfter > 0 {
		details["retry_after_seconds"] = retryAfterSeconds(de)
	}

	return HTTPBody{Code: de.Code, Message: de.Message, Details: details}
}

// WriteHTTP writes de as a JSON error response with the given status (0 means
// the status of de's type), setting Retry-After for rate-limited errors.
func WriteHTTP(w http.ResponseWriter, status int, de *DomainError) {
	if status == 0 {
		status = HTTPStatus(de.Type)
	}

	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")

	if de.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(retryAfterSeconds(de)))
	}

	w.WriteHeader(status)

	_ = json.NewEncoder(w).Encode(Body(de))
}

func retryAfterSeconds(de *DomainError) int {
	s := int((de.RetryAfter + 999_999_999) / 1_000_000_000)
	if s < 1 {
		s = 1
	}

	return s
}
