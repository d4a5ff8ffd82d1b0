package openapi_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"

	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/gateway"
	"github.com/modulith/modulith/internal/openapi"
)

// document loads the served spec as OpenAPI 3, references resolved.
func document(t *testing.T) *openapi3.T {
	t.Helper()

	doc, err := openapi3.NewLoader().LoadFromData(get(t, openapi.SpecPath).Body.Bytes())
	if err != nil {
		t.Fatalf("served spec is not OpenAPI 3: %v", err)
	}

	return doc
}

func TestSpecIsValidOpenAPI3(t *testing.T) {
	doc := document(t)

	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi = %q, want 3.x", doc.OpenAPI)
	}

	if err := doc.Validate(context.Background()); err != nil {
		t.Errorf("served spec is invalid OpenAPI 3: %v", err)
	}
}

// TestEveryOperationAnswersErrors: every operation documents the errors the
// platform gives it, with the Error body: 400, 500, 503 and default always;
// 401 and 403 when it needs an access token; 404 when its path names a
// resource.
func TestEveryOperationAnswersErrors(t *testing.T) {
	ops := 0

	for path, item := range document(t).Paths.Map() {
		for method, op := range item.Operations() {
			ops++

			checkErrors(t, method+" "+path, op, platformErrors(path, op))
		}
	}

	if ops == 0 {
		t.Fatal("spec has no operations")
	}
}

// platformErrors are the error statuses the platform may answer op with.
func platformErrors(path string, op *openapi3.Operation) []string {
	want := []string{"400", "500", "503", "default"}
	if public := op.Security != nil && len(*op.Security) == 0; !public {
		want = append(want, "401", "403")
	}

	if strings.Contains(path, "{") {
		want = append(want, "404")
	}

	return want
}

// checkErrors fails unless op has every wanted response and all its
// responses but the successful ones and redirects (a browser flow's 302)
// have the Error body.
func checkErrors(t *testing.T, name string, op *openapi3.Operation, want []string) {
	t.Helper()

	for _, status := range want {
		if !answersError(op.Responses.Value(status)) {
			t.Errorf("%s: response %s is missing or has no Error body", name, status)
		}
	}

	for status, r := range op.Responses.Map() {
		if !strings.HasPrefix(status, "2") && !strings.HasPrefix(status, "3") && !answersError(r) {
			t.Errorf("%s: response %s has no Error body", name, status)
		}
	}
}

// answersError reports whether r is a JSON response with the Error schema.
func answersError(r *openapi3.ResponseRef) bool {
	if r == nil || r.Value == nil {
		return false
	}

	mt := r.Value.Content.Get("application/json")

	return mt != nil && mt.Schema != nil && mt.Schema.Ref == "#/components/schemas/Error"
}

// TestErrorSchemaMatchesGatewayBodies compares the Error schema with what the
// gateway actually writes: a routing error, and module errors carrying
// fields, details and a retry delay, through the mux's own error handler.
func TestErrorSchemaMatchesGatewayBodies(t *testing.T) {
	ref := document(t).Components.Schemas["Error"]
	if ref == nil {
		t.Fatal("spec has no Error schema")
	}

	schema := ref.Value

	mux := gateway.NewMux()
	bodies := map[string][]byte{"unknown route": serve(mux.ServeHTTP)}

	for name, err := range map[string]error{
		"validation": errors.Validation("bad", errors.WithField("email", "invalid")),
		"conflict":   errors.Conflict("taken", errors.WithDetail("field", "email")),
		"rate":       errors.RateLimited("slow down", 1500*time.Millisecond),
		"internal":   errors.Internal("load", context.Canceled),
	} {
		bodies[name] = serve(func(w http.ResponseWriter, r *http.Request) {
			runtime.HTTPError(r.Context(), mux, &runtime.JSONPb{}, w, r, errors.ToGRPC(err))
		})
	}

	for name, body := range bodies {
		var v map[string]any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("%s: body %s is not JSON: %v", name, body, err)
		}

		if err := schema.VisitJSON(v); err != nil {
			t.Errorf("%s: the gateway's body %s does not match the Error schema: %v", name, body, err)
		}

		if diff := cmp.Diff(slices.Sorted(maps.Keys(schema.Properties)), slices.Sorted(maps.Keys(v))); diff != "" {
			t.Errorf("%s: Error schema properties (-) vs the gateway's body keys (+):\n%s", name, diff)
		}
	}

	details := schema.Properties["details"]
	for _, key := range []string{"fields", "retry_after_seconds"} {
		if details == nil || details.Value.Properties[key] == nil {
			t.Errorf("Error schema does not describe details.%s, which the gateway writes", key)
		}
	}
}

// serve records what h writes for a request to an unknown route.
func serve(h http.HandlerFunc) []byte {
	rec := httptest.NewRecorder()
	h(rec, httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/v1/nowhere", nil))

	return rec.Body.Bytes()
}

// TestSpecDescribesThePlatform: the merged document has the platform's own
// title and description naming every service it merges, not the text of
// the first module's protos.
func TestSpecDescribesThePlatform(t *testing.T) {
	doc := document(t)

	if doc.Info == nil || doc.Info.Title == "" || doc.Info.Description == "" {
		t.Fatalf("info = %+v, want a title and a description", doc.Info)
	}

	if len(doc.Tags) < 2 {
		t.Fatalf("spec has %d tags, want one per service of every module", len(doc.Tags))
	}

	for _, tag := range doc.Tags {
		if !strings.Contains(doc.Info.Description, "**"+tag.Name+"**") {
			t.Errorf("description does not name service %s:\n%s", tag.Name, doc.Info.Description)
		}

		if tag.Description != "" && strings.HasPrefix(doc.Info.Description, tag.Description) {
			t.Errorf("description is service %s's text", tag.Name)
		}
	}
}

// TestSpecBearerScheme: Swagger UI's Authorize dialog takes the token alone
// because the scheme is HTTP bearer (the UI adds "Bearer "), and every
// operation needs it unless it says otherwise.
func TestSpecBearerScheme(t *testing.T) {
	doc := document(t)

	if len(doc.Components.SecuritySchemes) != 1 {
		t.Errorf("security schemes = %v, want bearer alone", slices.Sorted(maps.Keys(doc.Components.SecuritySchemes)))
	}

	bearer := doc.Components.SecuritySchemes["bearer"]
	if bearer == nil || bearer.Value.Type != "http" || bearer.Value.Scheme != "bearer" || bearer.Value.BearerFormat != "JWT" {
		t.Fatalf("bearer scheme = %+v, want type http, scheme bearer, bearerFormat JWT", bearer)
	}

	if diff := cmp.Diff(openapi3.SecurityRequirements{{"bearer": {}}}, doc.Security); diff != "" {
		t.Errorf("document security (-want +got):\n%s", diff)
	}
}
