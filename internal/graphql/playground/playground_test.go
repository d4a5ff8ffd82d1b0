package playground_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/modulith/modulith/internal/graphql/playground"
)

const (
	pagePath = "/graphql"
	endpoint = "/graphql"
)

// browserAccept is the Accept header of a browser loading a page.
const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

// api stands for the GraphQL server sharing the page's path.
var api = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"data":{}}`))
})

// newMux registers the playground, and api for the endpoint's other methods.
func newMux() *http.ServeMux {
	mux := http.NewServeMux()
	playground.Register(mux, pagePath, endpoint, api)
	mux.Handle(endpoint, api)

	return mux
}

// serve serves a request with the given method, target and headers.
func serve(t *testing.T, method, target string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()

	req := httptest.NewRequestWithContext(context.Background(), method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}

	rec := httptest.NewRecorder()
	newMux().ServeHTTP(rec, req)

	return rec
}

// get serves a browser's GET target.
func get(t *testing.T, target string) *httptest.ResponseRecorder {
	t.Helper()

	return serve(t, http.MethodGet, target, http.Header{"Accept": {browserAccept}})
}

// page returns the HTML page.
func page(t *testing.T) string {
	t.Helper()

	rec := get(t, pagePath)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET %s = %d %q, want 200 text/html", pagePath, rec.Code, rec.Header().Get("Content-Type"))
	}

	return rec.Body.String()
}

var (
	// assetRef matches the src and href attributes of the page.
	assetRef = regexp.MustCompile(`(?:src|href)="([^"]+)"`)
	// scriptElement matches a script element and its body.
	scriptElement = regexp.MustCompile(`(?s)<script([^>]*)>(.*?)</script>`)
)

func TestPageLoadsGraphiQLFromAssets(t *testing.T) {
	html := page(t)
	assets := playground.AssetsPath(pagePath)

	var refs []string
	for _, m := range assetRef.FindAllStringSubmatch(html, -1) {
		refs = append(refs, strings.TrimPrefix(m[1], assets))

		if !strings.HasPrefix(m[1], assets) {
			t.Errorf("page references %q, outside %s", m[1], assets)
		}
	}

	want := []string{
		"graphiql.min.css", "react.production.min.js", "react-dom.production.min.js",
		"graphiql.min.js", "init.js",
	}
	if strings.Join(refs, " ") != strings.Join(want, " ") {
		t.Errorf("page references %v, want %v in that order (React before GraphiQL before init.js)", refs, want)
	}

	if vary := get(t, pagePath).Header().Get("Vary"); vary != "Accept" {
		t.Errorf("page Vary = %q, want Accept (the same URL answers GraphQL clients)", vary)
	}

	if !strings.Contains(html, `data-endpoint="`+endpoint+`"`) {
		t.Errorf("page does not name the endpoint %s:\n%s", endpoint, html)
	}
}

// TestPageHasNoInlineScript: the CSP's script-src 'self' blocks inline
// scripts and event handler attributes.
func TestPageHasNoInlineScript(t *testing.T) {
	html := page(t)

	scripts := scriptElement.FindAllStringSubmatch(html, -1)
	if len(scripts) == 0 {
		t.Fatal("page has no script element")
	}

	for _, s := range scripts {
		if strings.TrimSpace(s[2]) != "" || !strings.Contains(s[1], "src=") {
			t.Errorf("inline script %q blocked by script-src 'self'", s[0])
		}
	}

	if m := regexp.MustCompile(`(?i)\son[a-z]+=|javascript:`).FindString(html); m != "" {
		t.Errorf("page has %q, blocked by script-src 'self'", m)
	}
}

func TestPageEscapesEndpoint(t *testing.T) {
	mux := http.NewServeMux()
	playground.Register(mux, "/playground", `/graphql"><script>alert(1)</script>`, http.NotFoundHandler())

	req := httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/playground", nil)
	req.Header.Set("Accept", browserAccept)

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)

	if body := rec.Body.String(); rec.Code != http.StatusOK || strings.Contains(body, "<script>alert") {
		t.Errorf("GET /playground = %d, endpoint not escaped:\n%s", rec.Code, body)
	}
}

// TestGraphQLClientsReachAPI: the page shares its path with the endpoint,
// so a GET that is not a browser's page load must reach the GraphQL server.
func TestGraphQLClientsReachAPI(t *testing.T) {
	tests := []struct {
		name   string
		target string
		header http.Header
	}{
		{"subscription socket", pagePath, http.Header{
			"Accept": {browserAccept}, "Connection": {"Upgrade"}, "Upgrade": {"websocket"},
			"Sec-Websocket-Protocol": {"graphql-transport-ws"},
		}},
		{"query over GET", pagePath + "?query=%7Bhello%7D", http.Header{"Accept": {browserAccept}}},
		{"JSON client", pagePath, http.Header{"Accept": {"application/graphql-response+json, application/json"}}},
		{"no Accept", pagePath, nil},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(t, http.MethodGet, tt.target, tt.header)
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("GET %s = %d %q, want the API's application/json", tt.target, rec.Code, ct)
			}
		})
	}
}

func TestAssetsServed(t *testing.T) {
	html := page(t)

	types := map[string]string{
		".js":  "text/javascript; charset=utf-8",
		".css": "text/css; charset=utf-8",
	}

	for _, m := range assetRef.FindAllStringSubmatch(html, -1) {
		rec := get(t, m[1])
		if rec.Code != http.StatusOK || rec.Body.Len() == 0 {
			t.Errorf("GET %s = %d (%d bytes), want 200 with content", m[1], rec.Code, rec.Body.Len())
			continue
		}

		ext := m[1][strings.LastIndex(m[1], "."):]
		if got := rec.Header().Get("Content-Type"); got != types[ext] {
			t.Errorf("GET %s: Content-Type = %q, want %q", m[1], got, types[ext])
		}

		if got := rec.Header().Get("Cache-Control"); !strings.Contains(got, "max-age=31536000") {
			t.Errorf("GET %s: Cache-Control = %q, want a year", m[1], got)
		}
	}
}

func TestLicencesServed(t *testing.T) {
	for _, name := range []string{"graphiql.LICENSE.txt", "react.LICENSE.txt", "react-dom.LICENSE.txt"} {
		rec := get(t, playground.AssetsPath(pagePath)+name)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "MIT License") {
			t.Errorf("GET %s = %d, want 200 with the MIT licence", name, rec.Code)
		}
	}
}

func TestInitScriptUsesEndpoint(t *testing.T) {
	js := get(t, playground.AssetsPath(pagePath)+"init.js").Body.String()

	for _, want := range []string{"GraphiQL.createFetcher", "dataset.endpoint", "subscriptionUrl", "ReactDOM.createRoot"} {
		if !strings.Contains(js, want) {
			t.Errorf("init.js does not contain %s:\n%s", want, js)
		}
	}
}

func TestUnknownAssetNotFound(t *testing.T) {
	assets := playground.AssetsPath(pagePath)

	for _, target := range []string{
		assets + "missing.js",
		assets + "graphiql.min.js.map",
		assets + "..%2fplayground.go",
		assets,
		pagePath + "/assets/0000000000000000/graphiql.min.js",
	} {
		if rec := get(t, target); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", target, rec.Code)
		}
	}
}

func TestOtherMethodsReachAPI(t *testing.T) {
	rec := serve(t, http.MethodPost, pagePath, http.Header{"Accept": {browserAccept}})
	if ct := rec.Header().Get("Content-Type"); rec.Code != http.StatusOK || ct != "application/json" {
		t.Errorf("POST %s = %d %q, want the API's 200 application/json", pagePath, rec.Code, ct)
	}
}

// TestAssetsGzipped: a browser gets the scripts gzipped as embedded, a
// client that does not accept gzip gets them inflated, the same bytes as
// npm's either way.
func TestAssetsGzipped(t *testing.T) {
	target := playground.AssetsPath(pagePath) + "graphiql.min.js"

	zipped := serve(t, http.MethodGet, target, http.Header{"Accept-Encoding": {"br, gzip;q=0.8"}})
	if zipped.Header().Get("Content-Encoding") != "gzip" || !strings.Contains(zipped.Header().Get("Vary"), "Accept-Encoding") {
		t.Fatalf("with gzip accepted: headers %v, want Content-Encoding gzip and Vary Accept-Encoding", zipped.Header())
	}

	zr, err := gzip.NewReader(zipped.Body)
	if err != nil {
		t.Fatal(err)
	}

	inflated, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}

	plain := serve(t, http.MethodGet, target, http.Header{"Accept-Encoding": {"gzip;q=0, identity"}})
	if plain.Header().Get("Content-Encoding") != "" || !bytes.Equal(plain.Body.Bytes(), inflated) {
		t.Errorf("without gzip: Content-Encoding %q, %d bytes; want the inflated %d bytes",
			plain.Header().Get("Content-Encoding"), plain.Body.Len(), len(inflated))
	}

	if !bytes.Contains(inflated, []byte("GraphiQL")) {
		t.Error("the inflated script is not GraphiQL")
	}
}
