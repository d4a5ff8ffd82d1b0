package middleware

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/modulith/modulith/internal/errors"
)

// CORSConfig configures CORS.
type CORSConfig struct {
	// AllowedOrigins are the origins ("https://app.example.com") browsers
	// may call the API from, matched exactly. "*" allows any origin, but
	// only without credentials; with AllowCredentials it is ignored.
	AllowedOrigins []string
	// AllowCredentials lets browsers send cookies and read responses to
	// credentialed requests.
	AllowCredentials bool
	// AllowedHeaders are request headers allowed in addition to
	// Authorization, Content-Type and X-Request-ID.
	AllowedHeaders []string
	// ExposedHeaders are response headers scripts may read in addition to
	// X-Request-ID and Retry-After.
	ExposedHeaders []string
	// MaxAge is how long browsers may cache a preflight answer; zero leaves
	// it to the browser.
	MaxAge time.Duration
}

// The methods a preflight allows and the headers allowed or exposed always.
const corsAllowedMethods = "GET, POST, PUT, PATCH, DELETE, OPTIONS"

var (
	defaultAllowedHeaders = []string{"Authorization", "Content-Type", RequestIDHeader}
	defaultExposedHeaders = []string{RequestIDHeader, "Retry-After"}
)

// cors is a CORSConfig prepared for serving.
type cors struct {
	origins        map[string]bool
	anyOrigin      bool
	credentials    bool
	allowedHeaders string
	exposedHeaders string
	maxAge         string
}

// CORS lets the browsers of the allowed origins call the API.
//
// A preflight (OPTIONS with Origin and Access-Control-Request-Method) from
// an allowed origin is answered 204 with the allowed methods, headers and
// max age; from any other origin 403 without CORS headers. Other requests
// pass through; those from an allowed origin get the CORS response headers,
// the rest none, so the browser withholds the response from the page.
// Every response varies by Origin, so caches never serve one origin's
// answer to another.
func CORS(cfg CORSConfig) func(http.Handler) http.Handler {
	c := newCORS(cfg)

	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Add("Vary", "Origin")

			origin := r.Header.Get("Origin")
			preflight := r.Method == http.MethodOptions && origin != "" &&
				r.Header.Get("Access-Control-Request-Method") != ""

			if preflight {
				c.preflight(w, origin)

				return
			}

			if origin != "" && c.allowed(origin) {
				c.setAllowOrigin(h, origin)
				h.Set("Access-Control-Expose-Headers", c.exposedHeaders)
			}

			serve(next, w, r)
		})
	}
}

func newCORS(cfg CORSConfig) *cors {
	c := &cors{
		origins:        make(map[string]bool, len(cfg.AllowedOrigins)),
		credentials:    cfg.AllowCredentials,
		allowedHeaders: joinHeaders(defaultAllowedHeaders, cfg.AllowedHeaders),
		exposedHeaders: joinHeaders(defaultExposedHeaders, cfg.ExposedHeaders),
	}

	for _, o := range cfg.AllowedOrigins {
		if o == "*" {
			// The CORS protocol forbids "*" on credentialed responses;
			// reflecting any origin instead would let every site act with
			// the user's cookies.
			c.anyOrigin = !cfg.AllowCredentials

			continue
		}

		c.origins[o] = true
	}

	if secs := int64(cfg.MaxAge / time.Second); secs > 0 {
		c.maxAge = strconv.FormatInt(secs, 10)
	}

	return c
}

func (c *cors) allowed(origin string) bool {
	return c.anyOrigin || c.origins[origin]
}

// preflight answers a preflight request; it never reaches the handlers.
func (c *cors) preflight(w http.ResponseWriter, origin string) {
	h := w.Header()
	h.Add("Vary", "Access-Control-Request-Method")
	h.Add("Vary", "Access-Control-Request-Headers")

	if !c.allowed(origin) {
		errors.WriteHTTP(w, http.StatusForbidden, errors.Forbidden("origin not allowed"))

		return
	}

	c.setAllowOrigin(h, origin)
	h.Set("Access-Control-Allow-Methods", corsAllowedMethods)
	h.Set("Access-Control-Allow-Headers", c.allowedHeaders)

	if c.maxAge != "" {
		h.Set("Access-Control-Max-Age", c.maxAge)
	}

	w.WriteHeader(http.StatusNoContent)
}

func (c *cors) setAllowOrigin(h http.Header, origin string) {
	if c.anyOrigin {
		h.Set("Access-Control-Allow-Origin", "*")

		return
	}

	h.Set("Access-Control-Allow-Origin", origin)

	if c.credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
}

// joinHeaders lists defaults and extra, without duplicates (header names
// are case-insensitive), as one comma-separated value.
func joinHeaders(defaults, extra []string) string {
	names := make([]string, 0, len(defaults)+len(extra))
	for _, n := range slices.Concat(defaults, extra) {
		n = strings.TrimSpace(n)
		if n != "" && !slices.ContainsFunc(names, func(m string) bool { return strings.EqualFold(m, n) }) {
			names = append(names, n)
		}
	}

	return strings.Join(names, ", ")
}
