// Package openapi serves the merged OpenAPI 3 document of every module
// (written to spec/ by `make generate`: scripts/openapigen converts what
// protoc-gen-openapiv2 makes of the protos and adds the platform's error
// responses and bearer scheme) and a Swagger UI for it, both from the
// binary: no CDN, so it works offline and under a strict CSP.
package openapi

import (
	_ "embed"
	"net/http"

	swaggerfiles "github.com/swaggo/files/v2"
)

// Spec is the merged OpenAPI 3 document of all modules.
//
//go:embed spec/openapi.json
var Spec []byte

// SpecPath is where Handler serves Spec.
const SpecPath = "/openapi.json"

// UIPath is where Handler serves the Swagger UI.
const UIPath = "/swagger-ui/"

// initializer replaces the swagger-ui dist's own swagger-initializer.js,
// which would load the public petstore demo.
const initializer = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "` + SpecPath + `",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout",
    validatorUrl: null
  });
};
`

// Register adds the spec and the UI to mux.
func Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+SpecPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(Spec)
	})

	files := http.StripPrefix(UIPath, http.FileServerFS(swaggerfiles.FS))
	mux.HandleFunc("GET "+UIPath+"swagger-initializer.js", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		_, _ = w.Write([]byte(initializer))
	})
	mux.Handle("GET "+UIPath, files)
}
