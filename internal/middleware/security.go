package middleware

import "net/http"

// ContentSecurityPolicy allows only this origin's own scripts, styles,
// images, fonts and API calls. It is as tight as the Swagger UI served from
// this origin allows: that page loads its bundle, initializer and CSS from
// files, sets inline style attributes and uses data: images and fonts.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; " +
	"frame-ancestors 'none'; base-uri 'self'; form-action 'self'"

// hstsValue makes browsers use HTTPS for two years, subdomains included.
const hstsValue = "max-age=63072000; includeSubDomains"

// SecurityConfig configures SecurityHeaders.
type SecurityConfig struct {
	// HSTS sends Strict-Transport-Security; enable it only when the API is
	// served over HTTPS on every subdomain.
	HSTS bool
}

// SecurityHeaders sets the response headers that keep browsers from sniffing
// content types, framing the pages, leaking referrers, sharing a browsing
// context with other origins, using camera, microphone or location, and
// loading anything not allowed by ContentSecurityPolicy. Handlers may
// override them.
func SecurityHeaders(cfg SecurityConfig) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("X-Frame-Options", "DENY")
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("Cross-Origin-Opener-Policy", "same-origin")
			h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
			h.Set("Content-Security-Policy", ContentSecurityPolicy)

			if cfg.HSTS {
				h.Set("Strict-Transport-Security", hstsValue)
			}

			serve(next, w, r)
		})
	}
}

// NoStore marks every response as not to be stored by browsers or
// intermediaries (Cache-Control: no-store, and Pragma: no-cache for
// HTTP/1.0 caches). API responses carry tokens (sign-in, refresh) and
// personal data, so that is the default; a handler whose answer may be
// cached sets its own Cache-Control.
func NoStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Pragma", "no-cache")

		serve(next, w, r)
	})
}
