package middleware

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"regexp"
	"unicode/utf8"

	"github.com/modulith/modulith/internal/reqmeta"
)

// RequestIDHeader carries the request ID in both directions.
const RequestIDHeader = "X-Request-ID"

// maxUserAgentBytes bounds the user agent kept for logs and sessions.
const maxUserAgentBytes = 512

// validRequestID accepts IDs that are safe to echo in headers and logs.
var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// RequestID gives every request an ID: the caller's X-Request-ID when it is
// well-formed, so that one ID follows a request across services, else a new
// random one. The ID goes into the context (reqmeta.RequestID) and the
// X-Request-ID response header. It also stores the user agent, truncated to
// 512 bytes, in the context (reqmeta.UserAgent).
func RequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !validRequestID.MatchString(id) {
			id = newRequestID()
		}

		w.Header().Set(RequestIDHeader, id)

		ctx := reqmeta.WithRequestID(r.Context(), id)
		ctx = reqmeta.WithUserAgent(ctx, truncateUTF8(r.UserAgent(), maxUserAgentBytes))
		serve(next, w, r.WithContext(ctx))
	})
}

// newRequestID returns 16 random bytes in hex.
func newRequestID() string {
	var b [16]byte

	// crypto/rand.Read never returns an error; it crashes the program if the
	// system's random source fails.
	_, _ = rand.Read(b[:])

	return hex.EncodeToString(b[:])
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}

	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}

	return s[:n]
}
