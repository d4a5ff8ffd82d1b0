package routepolicy

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
)

// maxCachedBody bounds the response Cache holds to hash: a larger one is
// sent as it comes, without an ETag.
const maxCachedBody = 1 << 20

// Cache-Control of the responses no rule names: a browser may keep them
// but must ask again (with If-None-Match) before using them.
const (
	defaultPrivate = "private, no-cache"
	defaultPublic  = "no-cache"
)

// Cache makes the successful GET responses of the REST gateway
// conditional: a strong ETag (a hash of the body), 304 Not Modified with
// no body when If-None-Match names it, and the Cache-Control of the
// route's HTTP_CACHE_CONTROL rule, else "private, no-cache" for a caller
// that sent credentials and "no-cache" for one that did not. A response
// to credentials varies with them (Vary: Authorization). Errors, other
// methods, responses that set cookies and streams keep the no-store next
// sets. It must run inside Middleware, whose scope names the route.
func (p *Policy) Cache(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			next.ServeHTTP(w, r)

			return
		}

		bw := &bufferWriter{ResponseWriter: w}
		next.ServeHTTP(bw, r)

		if bw.passing {
			return
		}

		if bw.status != http.StatusOK || w.Header().Get("Set-Cookie") != "" {
			bw.send()

			return
		}

		p.sendCacheable(bw, r)
	})
}

// sendCacheable sends the buffered 200 response of r with its ETag,
// or 304 when the client has it.
func (p *Policy) sendCacheable(bw *bufferWriter, r *http.Request) {
	h := bw.Header()
	tag := etag(bw.body.Bytes())

	h.Set("ETag", tag)
	h.Set("Cache-Control", p.cacheControl(r))
	h.Del("Pragma")

	if r.Header.Get("Authorization") != "" {
		h.Add("Vary", "Authorization")
	}

	if matches(r.Header.Values("If-None-Match"), tag) {
		h.Del("Content-Type")
		h.Del("Content-Length")
		bw.ResponseWriter.WriteHeader(http.StatusNotModified)

		return
	}

	bw.send()
}

func (p *Policy) cacheControl(r *http.Request) string {
	route := ""
	if s := scopeOf(r.Context()); s != nil {
		route = s.route()
	}

	if _, v, ok := p.cache.Match(route); ok && route != "" {
		return v
	}

	if r.Header.Get("Authorization") != "" {
		return defaultPrivate
	}

	return defaultPublic
}

// etag is a strong entity tag of body: 128 bits of its SHA-256.
func etag(body []byte) string {
	sum := sha256.Sum256(body)

	return `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
}

// matches reports whether an If-None-Match header names tag: "*", or tag
// among its list, compared weakly (RFC 9110 §13.1.2).
func matches(values []string, tag string) bool {
	for _, v := range values {
		for t := range strings.SplitSeq(v, ",") {
			t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
			if t == "*" || t == tag {
				return true
			}
		}
	}

	return false
}

// bufferWriter holds a response until it ends, to hash it. It lets a
// response through as it comes (passing) once it outgrows maxCachedBody or
// is flushed (a stream).
type bufferWriter struct {
	http.ResponseWriter

	status  int
	body    bytes.Buffer
	passing bool
}

func (w *bufferWriter) WriteHeader(code int) {
	switch {
	case w.passing:
		w.ResponseWriter.WriteHeader(code)
	case code >= 200 && w.status == 0:
		w.status = code
	}
}

func (w *bufferWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}

	if !w.passing && w.body.Len()+len(b) > maxCachedBody {
		w.send()
	}

	if w.passing {
		n, err := w.ResponseWriter.Write(b)
		if err != nil {
			return n, fmt.Errorf("write response: %w", err)
		}

		return n, nil
	}

	w.body.Write(b) // a bytes.Buffer grows or panics; it returns no error

	return len(b), nil
}

// send writes what is held and lets the rest through.
func (w *bufferWriter) send() {
	if w.passing {
		return
	}

	w.passing = true

	if w.status == 0 {
		w.status = http.StatusOK
	}

	w.ResponseWriter.WriteHeader(w.status)
	_, _ = w.ResponseWriter.Write(w.body.Bytes())
	w.body.Reset()
}

// Flush sends what is held and flushes: a stream is never hashed.
func (w *bufferWriter) Flush() {
	w.send()

	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap gives http.ResponseController the writer beneath.
func (w *bufferWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
