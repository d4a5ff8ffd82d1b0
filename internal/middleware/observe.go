package middleware

import (
	"net/http"
	"time"
)

// outcome is what an observing middleware reports about a finished request.
type outcome struct {
	route    string
	status   int
	bytes    int64
	duration time.Duration
}

// observe serves r through next with the shared response writer and route
// holder and calls report when the handler has returned. It also reports
// when the handler panics, without recovering: the status is then 500 unless
// a response had begun, matching what Recovery sends further out.
func observe(w http.ResponseWriter, r *http.Request, next http.Handler, report func(outcome)) {
	rw := wrap(w)
	r, holder := withRouteHolder(r)
	start := time.Now()
	returned := false

	defer func() {
		status := rw.statusCode()
		if !returned && !rw.wroteHeader && !rw.hijacked {
			status = http.StatusInternalServerError
		}

		report(outcome{
			route:    holder.resolve(r),
			status:   status,
			bytes:    rw.bytes,
			duration: time.Since(start),
		})
	}()

	serve(next, rw, r)

	returned = true
}
