// Package playground serves GraphiQL, the in-browser GraphQL IDE, from the
// binary: no CDN, so it works offline and under the platform's
// Content-Security-Policy (script-src 'self': the page has no inline script,
// its bootstrap is the served init.js).
//
// assets/ holds GraphiQL's UMD build and the React it runs on, with their
// licences, exactly as `make graphiql-assets` (scripts/graphiqlassets)
// extracts them from pinned npm tarballs, the scripts and styles gzipped
// (name.gz: 0.6 MB in the binary instead of 1.5); assets/SOURCES.json names
// the package, version, integrity and sha256 of each (of the uncompressed
// file), and the tests fail when a file differs from it.
package playground

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	stdhtml "html"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// assets are the files extracted from npm, and their manifest.
//
//go:embed assets
var assets embed.FS

// manifest is assets/SOURCES.json.
//
//go:embed assets/SOURCES.json
var manifest []byte

// initScript renders GraphiQL into the page; it is ours, not npm's.
//
//go:embed init.js
var initScript []byte

// initName is the name init.js is served under, beside the assets.
const initName = "init.js"

// page is the HTML page. It loads everything from {{assets}}, the path
// the scripts and styles are served under (ending in a slash), and sends
// operations to {{endpoint}}; Register fills both in, HTML-escaped. (Not
// html/template: executing a template looks methods up by name, which
// keeps every exported method of every type in the binary.)
//
//go:embed index.html
var page string

// contentTypes are the types of the files served, by extension; a file of
// another extension is not served.
var contentTypes = map[string]string{
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".txt":  "text/plain; charset=utf-8",
	".json": "application/json",
}

// assetCacheControl lets browsers keep an asset for a year: its URL
// changes whenever its content does (see AssetsPath).
const assetCacheControl = "public, max-age=31536000, immutable"

// AssetsPath is where Register serves the scripts and styles of the page at
// pagePath: pagePath + "/assets/<version>/", where version is a hash of
// the manifest and init.js, so a build that changes any file changes its
// URL.
func AssetsPath(pagePath string) string {
	sum := sha256.New()
	sum.Write(manifest)
	sum.Write(initScript)

	return strings.TrimSuffix(pagePath, "/") + "/assets/" + hex.EncodeToString(sum.Sum(nil))[:16] + "/"
}

// Register serves GraphiQL on mux: the page at GET pagePath and its files
// under AssetsPath(pagePath). The page sends operations to endpoint, a path
// on the same origin (CSP connect-src 'self'), and subscriptions to the
// same path over WebSocket (ws: or wss: as the page was loaded), speaking
// graphql-transport-ws; GraphiQL opens that socket only when a
// subscription runs.
//
// The page may share its path with the endpoint: a GET of pagePath that is
// not a browser asking for a page (see IsPageRequest) goes to api, the
// GraphQL server, which also has to be registered on mux for the other
// methods (mux.Handle(endpoint, api): "GET "+pagePath is the more specific
// pattern). When the paths differ, api is where such a GET of pagePath goes,
// e.g. http.NotFoundHandler().
func Register(mux *http.ServeMux, pagePath, endpoint string, api http.Handler) {
	assetsPath := AssetsPath(pagePath)
	html := []byte(strings.NewReplacer(
		"{{assets}}", stdhtml.EscapeString(assetsPath), "{{endpoint}}", stdhtml.EscapeString(endpoint),
	).Replace(page))

	mux.HandleFunc("GET "+pagePath, func(w http.ResponseWriter, r *http.Request) {
		if !IsPageRequest(r) {
			api.ServeHTTP(w, r)
			return
		}

		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Add("Vary", "Accept")
		_, _ = w.Write(html)
	})
	mux.HandleFunc("GET "+assetsPath+initName, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentTypes[".js"])
		w.Header().Set("Cache-Control", assetCacheControl)
		_, _ = w.Write(initScript)
	})
	mux.Handle("GET "+assetsPath+"{name}", assetServer{files: http.FileServerFS(assets)})
}

// IsPageRequest reports whether r is a browser asking for a page (it
// accepts text/html) rather than a GraphQL client on the same path: a
// WebSocket upgrade (subscriptions) or a query over GET (a "query"
// parameter).
func IsPageRequest(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html") &&
		!strings.EqualFold(r.Header.Get("Upgrade"), "websocket") &&
		!r.URL.Query().Has("query")
}

// serveGzipped answers gz, a gzipped file, with Content-Encoding: gzip
// when the client accepts it, else inflated.
func serveGzipped(w http.ResponseWriter, r *http.Request, gz []byte) {
	w.Header().Add("Vary", "Accept-Encoding")

	if acceptsGzip(r) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Length", strconv.Itoa(len(gz)))
		_, _ = w.Write(gz)

		return
	}

	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		http.Error(w, "corrupt asset", http.StatusInternalServerError)

		return
	}

	_, _ = io.Copy(w, zr) //nolint:gosec // our own embedded, size-checked assets, not client input
}

// acceptsGzip reports whether the request's Accept-Encoding lists gzip
// (without q=0).
func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			if strings.EqualFold(strings.TrimSpace(coding), "gzip") && strings.ReplaceAll(params, " ", "") != "q=0" {
				return true
			}
		}
	}

	return false
}

// assetServer serves the file of assets/ named by the request's last path
// segment, when its extension is in contentTypes, or 404.
type assetServer struct {
	files http.Handler
}

func (s assetServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")

	contentType, ok := contentTypes[path.Ext(name)]
	if !ok || strings.Contains(name, "/") {
		http.NotFound(w, r)
		return
	}

	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", assetCacheControl)

	// Scripts and styles are embedded gzipped (name.gz): sent as they are
	// to the clients that accept gzip (every browser), inflated for others.
	if gz, err := fs.ReadFile(assets, "assets/"+name+".gz"); err == nil {
		serveGzipped(w, r, gz)

		return
	}

	r = r.Clone(r.Context())
	r.URL.Path = "/assets/" + name
	r.URL.RawPath = ""
	s.files.ServeHTTP(w, r)
}
