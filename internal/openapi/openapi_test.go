package openapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	swaggerfiles "github.com/swaggo/files/v2"

	"github.com/modulith/modulith/internal/openapi"
)

func newMux() *http.ServeMux {
	mux := http.NewServeMux()
	openapi.Register(mux)

	return mux
}

// get serves GET path and returns the recorder.
func get(t *testing.T, path string) *httptest.ResponseRecorder {
	t.Helper()

	rec := httptest.NewRecorder()
	newMux().ServeHTTP(rec, httptest.NewRequestWithContext(context.Background(), http.MethodGet, path, nil))

	return rec
}

func TestSpec(t *testing.T) {
	rec := get(t, openapi.SpecPath)

	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET %s = %d %q, want 200 application/json", openapi.SpecPath, rec.Code, rec.Header().Get("Content-Type"))
	}

	if !bytes.Equal(rec.Body.Bytes(), openapi.Spec) {
		t.Error("served spec differs from the embedded one")
	}

	var spec struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &spec); err != nil {
		t.Fatalf("spec is not JSON: %v", err)
	}

	if !strings.HasPrefix(spec.OpenAPI, "3.") {
		t.Errorf("openapi = %q, want 3.x (Swagger 2.0 is refused by openapi-typescript)", spec.OpenAPI)
	}

	for _, p := range []string{"/v1/auth/login/request", "/v1/auth/profile", "/v1/auth/sessions"} {
		if _, ok := spec.Paths[p]; !ok {
			t.Errorf("spec has no path %s", p)
		}
	}
}

// TestSpecNamesMatchGatewayJSON: the gateway writes JSON with the proto field
// names (gateway.NewMux: UseProtoNames), e.g. "access_token", "expires_in",
// and names the path variable session_id; the spec, generated without
// json_names_for_fields=false, documents "accessToken", "expiresIn" and
// "{sessionId}", so clients generated from it read fields that never come.
func TestSpecNamesMatchGatewayJSON(t *testing.T) {
	var spec struct {
		Paths      map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]any `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openapi.Spec, &spec); err != nil {
		t.Fatal(err)
	}

	var camel []string

	if len(spec.Components.Schemas) == 0 {
		t.Fatal("spec has no schemas")
	}

	for name, def := range spec.Components.Schemas {
		for prop := range def.Properties {
			if strings.ToLower(prop) != prop {
				camel = append(camel, name+"."+prop)
			}
		}
	}

	if len(camel) > 0 {
		slices.Sort(camel)
		t.Errorf("spec documents %d properties the gateway never writes, e.g. %v", len(camel), camel[:min(len(camel), 5)])
	}

	if _, ok := spec.Paths["/v1/auth/sessions/{session_id}"]; !ok {
		t.Errorf("spec has no path /v1/auth/sessions/{session_id}, the gateway's route; paths: %v", slices.Sorted(maps.Keys(spec.Paths)))
	}
}

func TestSpecIsReadOnly(t *testing.T) {
	rec := httptest.NewRecorder()
	newMux().ServeHTTP(rec, httptest.NewRequestWithContext(context.Background(), http.MethodPost, openapi.SpecPath, nil))

	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST %s = %d, want 405", openapi.SpecPath, rec.Code)
	}
}

// absoluteURL matches a URL that leaves the server: http(s) or
// protocol-relative.
var absoluteURL = regexp.MustCompile(`(?i)(https?:)?//[a-z0-9]`)

// assetRef matches the src and href attributes of index.html.
var assetRef = regexp.MustCompile(`(?:src|href)="([^"]+)"`)

func TestSwaggerUIIndexIsSelfContained(t *testing.T) {
	rec := get(t, openapi.UIPath)

	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET %s = %d %q, want 200 HTML", openapi.UIPath, rec.Code, rec.Header().Get("Content-Type"))
	}

	index := rec.Body.String()
	if !strings.Contains(index, `id="swagger-ui"`) {
		t.Errorf("index.html has no swagger-ui element:\n%s", index)
	}

	if m := absoluteURL.FindString(index); m != "" {
		t.Errorf("index.html loads %q from outside the binary", m)
	}

	refs := assetRef.FindAllStringSubmatch(index, -1)
	if len(refs) == 0 {
		t.Fatal("index.html references no assets")
	}

	for _, ref := range refs {
		path := openapi.UIPath + strings.TrimPrefix(ref[1], "./")
		if rec := get(t, path); rec.Code != http.StatusOK || rec.Body.Len() == 0 {
			t.Errorf("asset %s = %d (%d bytes), want 200 with content", path, rec.Code, rec.Body.Len())
		}
	}
}

func TestSwaggerUIBundleFromBinary(t *testing.T) {
	want, err := fs.ReadFile(swaggerfiles.FS, "swagger-ui-bundle.js")
	if err != nil {
		t.Fatal(err)
	}

	rec := get(t, openapi.UIPath+"swagger-ui-bundle.js")
	if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), want) {
		t.Errorf("GET swagger-ui-bundle.js = %d (%d bytes), want 200 with the embedded %d bytes", rec.Code, rec.Body.Len(), len(want))
	}

	if ct := rec.Header().Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Errorf("Content-Type = %q, want JavaScript", ct)
	}
}

func TestSwaggerInitializerLoadsOwnSpec(t *testing.T) {
	rec := get(t, openapi.UIPath+"swagger-initializer.js")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Fatalf("GET swagger-initializer.js = %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}

	js := rec.Body.String()
	for _, want := range []string{`url: "` + openapi.SpecPath + `"`, "validatorUrl: null"} {
		if !strings.Contains(js, want) {
			t.Errorf("initializer does not contain %s:\n%s", want, js)
		}
	}

	if m := absoluteURL.FindString(js); m != "" || strings.Contains(js, "petstore") {
		t.Errorf("initializer points outside the binary (%q):\n%s", m, js)
	}
}
