package main

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"
)

// swagger is what protoc-gen-openapiv2 writes for a module with a public
// method, a method on a resource and a method declaring its own 409.
const swagger = `{
  "swagger": "2.0",
  "info": {"title": "Thing API", "version": "0.1", "description": "Things: the first module's own text."},
  "tags": [{"name": "ThingService", "description": "ThingService keeps things."},
           {"name": "OtherService", "description": "OtherService does\nthe rest."}],
  "consumes": ["application/json"],
  "produces": ["application/json"],
  "securityDefinitions": {"bearer": {"type": "apiKey", "in": "header", "name": "Authorization"}},
  "security": [{"bearer": []}],
  "paths": {
    "/v1/things": {
      "post": {
        "operationId": "ThingService_CreateThing",
        "responses": {
          "200": {"description": "A successful response.", "schema": {"$ref": "#/definitions/Thing"}},
          "409": {"description": "The thing exists.", "schema": {}}
        },
        "parameters": [{"name": "body", "in": "body", "required": true, "schema": {"$ref": "#/definitions/Thing"}}],
        "tags": ["ThingService"]
      }
    },
    "/v1/things/{thing_id}": {
      "get": {
        "operationId": "ThingService_GetThing",
        "responses": {"200": {"description": "A successful response.", "schema": {"$ref": "#/definitions/Thing"}}},
        "parameters": [{"name": "thing_id", "in": "path", "required": true, "type": "string"}],
        "tags": ["ThingService"]
      }
    },
    "/v1/hello": {
      "post": {
        "operationId": "OtherService_Hello",
        "responses": {
          "200": {"description": "A successful response.", "schema": {"$ref": "#/definitions/Thing"}},
          "401": {"description": "The code is wrong."}
        },
        "parameters": [{"name": "body", "in": "body", "required": true, "schema": {"$ref": "#/definitions/Thing"}}],
        "tags": ["OtherService"],
        "security": []
      }
    }
  },
  "definitions": {"Thing": {"type": "object", "properties": {"name": {"type": "string"}}}}
}`

func convert(t *testing.T, in string) *openapi3.T {
	t.Helper()

	out, err := Convert(context.Background(), []byte(in))
	if err != nil {
		t.Fatalf("Convert: %v", err)
	}

	doc, err := openapi3.NewLoader().LoadFromData(out)
	if err != nil {
		t.Fatalf("load the converted document: %v", err)
	}

	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("converted document is invalid: %v", err)
	}

	return doc
}

func TestConvertAddsErrorResponses(t *testing.T) {
	doc := convert(t, swagger)

	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi = %q, want 3.x", doc.OpenAPI)
	}

	tests := []struct {
		method, path string
		want         []string
	}{
		// Needs a token, declares a 409, names no resource.
		{"POST", "/v1/things", []string{"200", "400", "401", "403", "409", "500", "503", "504", "default"}},
		// Needs a token, names a resource.
		{"GET", "/v1/things/{thing_id}", []string{"200", "400", "401", "403", "404", "500", "503", "504", "default"}},
		// Public: no 403, and its own 401 only.
		{"POST", "/v1/hello", []string{"200", "400", "401", "500", "503", "504", "default"}},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			op := doc.Paths.Find(tt.path).GetOperation(tt.method)

			got := slices.Sorted(maps.Keys(op.Responses.Map()))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("responses (-want +got):\n%s", diff)
			}

			for status, r := range op.Responses.Map() {
				if status == "200" {
					continue
				}

				mt := r.Value.Content.Get("application/json")
				if mt == nil || mt.Schema.Ref != "#/components/schemas/Error" {
					t.Errorf("response %s has no application/json Error body: %+v", status, r.Value.Content)
				}
			}
		})
	}
}

func TestConvertKeepsDeclaredDescriptions(t *testing.T) {
	doc := convert(t, swagger)

	if got := *doc.Paths.Find("/v1/things").Post.Responses.Status(409).Value.Description; got != "The thing exists." {
		t.Errorf("409 description = %q, want the proto's", got)
	}

	if got := *doc.Paths.Find("/v1/hello").Post.Responses.Status(401).Value.Description; got != "The code is wrong." {
		t.Errorf("public 401 description = %q, want the proto's", got)
	}
}

func TestConvertErrorSchema(t *testing.T) {
	schema := convert(t, swagger).Components.Schemas["Error"].Value

	if diff := cmp.Diff([]string{"code", "details", "message"}, slices.Sorted(maps.Keys(schema.Properties))); diff != "" {
		t.Errorf("Error properties (-want +got):\n%s", diff)
	}

	valid := `{"code":"VALIDATION_FAILED","message":"bad","details":{"fields":[{"field":"email","description":"invalid"}]}}`
	invalid := map[string]string{
		"no details":       `{"code":"NOT_FOUND","message":"gone"}`,
		"numeric code":     `{"code":5,"message":"gone","details":{}}`,
		"extra key":        `{"code":"NOT_FOUND","message":"gone","details":{},"status":404}`,
		"retry not an int": `{"code":"RATE_LIMITED","message":"slow","details":{"retry_after_seconds":"2"}}`,
	}

	if err := schema.VisitJSON(decode(t, valid)); err != nil {
		t.Errorf("valid body refused: %v", err)
	}

	for name, body := range invalid {
		if err := schema.VisitJSON(decode(t, body)); err == nil {
			t.Errorf("%s: body %s accepted", name, body)
		}
	}
}

func TestConvertPlatformInfoAndSecurity(t *testing.T) {
	doc := convert(t, swagger)

	if doc.Info.Title != title || strings.Contains(doc.Info.Description, "first module's own text") {
		t.Errorf("info = %q / %q, want the platform's, not the first module's", doc.Info.Title, doc.Info.Description)
	}

	for _, want := range []string{"**ThingService**: ThingService keeps things.", "**OtherService**: OtherService does the rest."} {
		if !strings.Contains(doc.Info.Description, want) {
			t.Errorf("description lacks %q:\n%s", want, doc.Info.Description)
		}
	}

	want := &openapi3.SecurityScheme{Type: "http", Scheme: "bearer", BearerFormat: "JWT"}
	got := doc.Components.SecuritySchemes["bearer"].Value

	if got.Type != want.Type || got.Scheme != want.Scheme || got.BearerFormat != want.BearerFormat || got.In != "" {
		t.Errorf("bearer scheme = %+v, want http bearer JWT", got)
	}

	if diff := cmp.Diff(openapi3.SecurityRequirements{{"bearer": {}}}, doc.Security); diff != "" {
		t.Errorf("document security (-want +got):\n%s", diff)
	}

	if s := doc.Paths.Find("/v1/hello").Post.Security; s == nil || len(*s) != 0 {
		t.Errorf("public operation security = %v, want empty", s)
	}
}

func TestConvertRefuses(t *testing.T) {
	tests := map[string]struct{ old, new string }{
		"a model named Error": {`"definitions": {`, `"definitions": {"Error": {"type": "object"}, `},
		"a declared error body": {`"409": {"description": "The thing exists.", "schema": {}}`,
			`"409": {"description": "The thing exists.", "schema": {"$ref": "#/definitions/Thing"}}`},
		"not JSON": {`{`, `[`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			in := strings.Replace(swagger, tt.old, tt.new, 1)
			if _, err := Convert(context.Background(), []byte(in)); err == nil {
				t.Errorf("Convert accepted a document with %s", name)
			}
		})
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "api.swagger.json"), filepath.Join(dir, "openapi.json")

	if err := os.WriteFile(in, []byte(swagger), 0o600); err != nil {
		t.Fatal(err)
	}

	if err := run(context.Background(), []string{"-in", in, "-out", out}, os.Stderr); err != nil {
		t.Fatalf("run: %v", err)
	}

	want, err := Convert(context.Background(), []byte(swagger))
	if err != nil {
		t.Fatal(err)
	}

	got, err := os.ReadFile(out)
	if err != nil || string(got) != string(want) {
		t.Errorf("run wrote %d bytes (%v), want the %d bytes Convert makes", len(got), err, len(want))
	}

	if err := run(context.Background(), []string{"-in", filepath.Join(dir, "missing.json"), "-out", out}, os.Stderr); err == nil {
		t.Error("run with a missing input succeeded")
	}
}

func decode(t *testing.T, s string) any {
	t.Helper()

	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}

	return v
}

// A schema nothing refers to is left out, even one only an unused schema
// refers to; the ones operations use, directly or through another schema,
// stay.
func TestConvertPrunesUnusedSchemas(t *testing.T) {
	in := strings.Replace(swagger, `"definitions": {"Thing": {"type": "object", "properties": {"name": {"type": "string"}}}}`,
		`"definitions": {
		  "Thing": {"type": "object", "properties": {"name": {"type": "string"}, "part": {"$ref": "#/definitions/Part"}}},
		  "Part": {"type": "object"},
		  "NullValue": {"type": "string", "enum": ["NULL_VALUE"]},
		  "Orphan": {"type": "object", "properties": {"lost": {"$ref": "#/definitions/Lost"}}},
		  "Lost": {"type": "object"}
		}`, 1)
	if in == swagger {
		t.Fatal("the fixture's definitions were not replaced")
	}

	got := slices.Sorted(maps.Keys(convert(t, in).Components.Schemas))
	if want := []string{"Error", "Part", "Thing"}; !slices.Equal(got, want) {
		t.Errorf("schemas %v, want %v", got, want)
	}
}
