package resilience

import (
	"context"
	stderrors "errors"
	"fmt"
	"net/http"
)

// Transport returns a RoundTripper that sends requests through base with
// a breaker per host ("http:<host>") and retries those that are safe to
// repeat (GET, HEAD, OPTIONS, with no body to replay) after a network
// error or an answer of 429, 502, 503 or 504. A 5xx answer or a network
// error counts against the host. The caller still bounds each request
// (http.Client.Timeout, or its context).
func (g *Guards) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}

	return &transport{guards: g, base: base}
}

type transport struct {
	guards *Guards
	base   http.RoundTripper
}

// serverError carries a 5xx answer through the breaker, which must count
// it as a failure, back to RoundTrip, which returns the answer itself.
type serverError struct{ resp *http.Response }

func (e *serverError) Error() string { return fmt.Sprintf("answered %s", e.resp.Status) }

// RoundTrip sends req as Transport describes.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	b := t.guards.Breaker("http:"+req.URL.Host, hostFailure)

	var resp *http.Response

	send := func(ctx context.Context) error {
		if resp != nil { // an earlier attempt's answer, retried: let it go
			_ = resp.Body.Close()
			resp = nil
		}

		r, err := t.base.RoundTrip(req.WithContext(ctx))
		if err != nil {
			return fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), err)
		}

		resp = r
		if r.StatusCode >= http.StatusInternalServerError || r.StatusCode == http.StatusTooManyRequests {
			return &serverError{resp: r}
		}

		return nil
	}

	retryable := never
	if repeatable(req) {
		retryable = transient
	}

	if err := t.guards.Retry(req.Context(), b, retryable, send); err != nil {
		var se *serverError
		if !stderrors.As(err, &se) {
			return nil, err
		}
		// The caller reads the answer itself.
	}

	return resp, nil
}

// hostFailure reports whether err is the host's fault: a network error, a
// timeout or a 5xx answer; a 429 is an answer.
func hostFailure(err error) bool {
	var se *serverError
	if stderrors.As(err, &se) {
		return se.resp.StatusCode >= http.StatusInternalServerError
	}

	return true
}

// transient reports whether a repeatable request may be sent again after
// err: a network error, or an answer that says "later".
func transient(err error) bool {
	var se *serverError
	if !stderrors.As(err, &se) {
		return true
	}

	switch se.resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	default:
		return false
	}
}

func never(error) bool { return false }

// repeatable reports whether req may be sent again: an idempotent method
// with no body.
func repeatable(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return req.Body == nil || req.Body == http.NoBody
	default:
		return false
	}
}
