package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
)

const (
	// title names the merged document; no module's protos may set it.
	title = "Modulith API"
	// version is the document's version, not an API version: those are in
	// the paths (/v1/...).
	version = "1.0"
	// schemeName names the access-token security scheme.
	schemeName = "bearer"
	// errorSchema names the schema of every error body.
	errorSchema = "Error"
	// defaultStatus is the key of the response for any other status.
	defaultStatus = "default"
)

// Convert turns the merged Swagger 2.0 document into the platform's OpenAPI 3
// document, validated, as indented JSON ending in a newline.
func Convert(ctx context.Context, swagger []byte) ([]byte, error) {
	var v2 openapi2.T
	if err := json.Unmarshal(swagger, &v2); err != nil {
		return nil, fmt.Errorf("parse Swagger 2.0: %w", err)
	}

	doc, err := openapi2conv.ToV3(&v2)
	if err != nil {
		return nil, fmt.Errorf("to OpenAPI 3: %w", err)
	}

	if err := addPlatform(doc); err != nil {
		return nil, err
	}

	if err := pruneSchemas(doc); err != nil {
		return nil, err
	}

	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode OpenAPI 3: %w", err)
	}

	// Validate what is written, loaded back so that its references resolve.
	written, err := openapi3.NewLoader().LoadFromData(out)
	if err != nil {
		return nil, fmt.Errorf("load the OpenAPI 3 document: %w", err)
	}

	if err := written.Validate(ctx); err != nil {
		return nil, fmt.Errorf("validate OpenAPI 3: %w", err)
	}

	return append(out, '\n'), nil
}

// schemaRef finds the references to component schemas in a document.
var schemaRef = regexp.MustCompile(`"\$ref":"#/components/schemas/([^"]+)"`)

// pruneSchemas removes the component schemas nothing in doc refers to,
// such as google.protobuf.NullValue, which protoc-gen-openapiv2 declares
// for any API using google.protobuf.Value although it renders the values
// inline; removing one may leave others unreferenced, so until none is.
func pruneSchemas(doc *openapi3.T) error {
	for {
		raw, err := json.Marshal(doc)
		if err != nil {
			return fmt.Errorf("encode OpenAPI 3: %w", err)
		}

		used := make(map[string]bool)
		for _, m := range schemaRef.FindAllSubmatch(raw, -1) {
			used[string(m[1])] = true
		}

		pruned := false

		for name := range doc.Components.Schemas {
			if !used[name] {
				delete(doc.Components.Schemas, name)

				pruned = true
			}
		}

		if !pruned {
			return nil
		}
	}
}

// addPlatform gives doc what the platform, not a module, owns: the
// document's info, the security scheme, the error schema and the error
// responses of every operation.
func addPlatform(doc *openapi3.T) error {
	if _, ok := doc.Components.Schemas[errorSchema]; ok {
		return fmt.Errorf("a module's protos define a model named %s, the platform's error schema: rename the message", errorSchema)
	}

	doc.Info = &openapi3.Info{Title: title, Version: version, Description: description(doc.Tags)}
	// Relative: the API is served by the server that serves the document.
	doc.Servers = openapi3.Servers{{URL: "/", Description: "The server that serves this document"}}

	// The protos' own scheme names, if any, are replaced: the platform
	// authenticates every module's calls alike.
	doc.Components.SecuritySchemes = openapi3.SecuritySchemes{schemeName: {Value: &openapi3.SecurityScheme{
		Type:         "http",
		Scheme:       "bearer",
		BearerFormat: "JWT",
		Description:  "The access token a sign-in returns. Swagger UI's Authorize dialog takes the token alone and sends `Authorization: Bearer <token>`.",
	}}}
	doc.Security = openapi3.SecurityRequirements{{schemeName: []string{}}}

	if doc.Components.Schemas == nil {
		doc.Components.Schemas = openapi3.Schemas{}
	}

	doc.Components.Schemas[errorSchema] = &openapi3.SchemaRef{Value: errorBody()}
	doc.Components.Responses = standardResponses()

	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if err := addErrors(op); err != nil {
				return fmt.Errorf("%s %s: %w", method, path, err)
			}
		}
	}

	return nil
}

// description is the document's description: what it covers and how
// errors and authentication work, then the services (tags) it merges.
func description(tags openapi3.Tags) string {
	var b strings.Builder

	b.WriteString("The REST API of every module this server runs, generated from the modules' protos. ")
	b.WriteString("Each module's service is a tag:\n\n")

	for _, t := range tags {
		fmt.Fprintf(&b, "- **%s**: %s\n", t.Name, strings.ReplaceAll(t.Description, "\n", " "))
	}

	b.WriteString("\nEvery error is a JSON body `{code, message, details}` (schema `" + errorSchema + "`): ")
	b.WriteString("`code` is a stable machine-readable code such as `VALIDATION_FAILED` or `NOT_FOUND`, ")
	b.WriteString("`details.fields` names the invalid request fields, ")
	b.WriteString("`details.retry_after_seconds` says when a rate-limited client may try again.\n\n")
	b.WriteString("Operations with a lock need an access token: `Authorization: Bearer <token>`. ")
	b.WriteString("In Swagger UI, paste the token alone into Authorize.")

	return b.String()
}

// errorBody is the schema of the JSON the gateway writes for every error
// (internal/errors.HTTPBody).
func errorBody() *openapi3.Schema {
	field := openapi3.NewObjectSchema().
		WithProperty("field", described(openapi3.NewStringSchema(), "The request field, as in the JSON body (e.g. email).")).
		WithProperty("description", described(openapi3.NewStringSchema(), "What is wrong with it."))
	field.Required = []string{"field", "description"}

	details := openapi3.NewObjectSchema().
		WithProperty("fields", described(openapi3.NewArraySchema().WithItems(field),
			"The invalid request fields (VALIDATION_FAILED, CONFLICT).")).
		WithProperty("retry_after_seconds", described(openapi3.NewInt32Schema().WithMin(1),
			"When a rate-limited client may try again (RATE_LIMITED); the Retry-After header says the same.")).
		WithAnyAdditionalProperties()

	body := openapi3.NewObjectSchema().
		WithProperty("code", described(openapi3.NewStringSchema(),
			"Stable machine-readable code clients may switch on, e.g. VALIDATION_FAILED, AUTH_REQUIRED, NOT_FOUND, RATE_LIMITED.")).
		WithProperty("message", described(openapi3.NewStringSchema(), "Human-readable explanation, in English.")).
		WithProperty("details", described(details, "Metadata about the error; always present, often empty.")).
		WithoutAdditionalProperties()
	body.Required = []string{"code", "message", "details"}

	return described(body, "The body of every error response.")
}

// described sets the description of s and returns it.
func described(s *openapi3.Schema, desc string) *openapi3.Schema {
	s.Description = desc

	return s
}

// standard is an error response every operation of a kind may give.
type standard struct {
	status      string
	name        string
	description string
}

// The platform's error responses: what the gateway, the interceptors and
// the database translation answer whatever the module.
var (
	badRequest = standard{"400", "BadRequest",
		"The request is invalid: a field fails validation (VALIDATION_FAILED, details.fields names it) or the body is not the JSON the operation takes."}
	unauthorized = standard{"401", "Unauthorized",
		"No valid access token: missing (AUTH_REQUIRED), expired (AUTH_TOKEN_EXPIRED), invalid or of a revoked session (AUTH_TOKEN_INVALID)."}
	forbidden = standard{"403", "Forbidden",
		"The caller's roles do not allow this operation on this resource (FORBIDDEN)."}
	notFound = standard{"404", "NotFound",
		"The resource the path names does not exist or is not the caller's (NOT_FOUND)."}
	internal = standard{"500", "InternalError",
		"An unexpected error (INTERNAL); the cause is logged on the server, never returned."}
	unavailable = standard{"503", "Unavailable",
		"A dependency such as the database is unreachable (UNAVAILABLE); retry later."}
	timeout = standard{"504", "Timeout",
		"The request did not complete within the server's request timeout (TIMEOUT)."}
	other = standard{defaultStatus, "Error",
		"Any other error, in the same body: e.g. 405 for a method the path does not take, 413 for a body over the size limit."}
)

// responseRef refers to the component response of s.
func (s standard) responseRef() *openapi3.ResponseRef {
	return &openapi3.ResponseRef{Ref: "#/components/responses/" + s.name}
}

// standardResponses are the component responses addErrors refers to.
func standardResponses() openapi3.ResponseBodies {
	all := []standard{badRequest, unauthorized, forbidden, notFound, internal, unavailable, timeout, other}
	out := make(openapi3.ResponseBodies, len(all))

	for _, s := range all {
		out[s.name] = &openapi3.ResponseRef{Value: errorResponse(s.description)}
	}

	return out
}

// errorResponse is a response with the error body.
func errorResponse(desc string) *openapi3.Response {
	return openapi3.NewResponse().WithDescription(desc).
		WithJSONSchemaRef(&openapi3.SchemaRef{Ref: "#/components/schemas/" + errorSchema})
}

// addErrors gives op the error body on the error responses its proto
// declares, and the platform's error responses it lacks: 400, 500, 503,
// 504 and default on every operation; 401 and 403 on those that need an
// access token (the protos mark public ones with an empty security list);
// 404 on those whose path names a resource.
func addErrors(op *openapi3.Operation) error {
	for status, r := range op.Responses.Map() {
		if !isError(status) {
			continue
		}

		if r.Value == nil || declaresBody(r.Value) {
			return fmt.Errorf("response %s: declare only a description; the platform gives every error the %s schema", status, errorSchema)
		}

		r.Value.Content = openapi3.NewContentWithJSONSchemaRef(&openapi3.SchemaRef{Ref: "#/components/schemas/" + errorSchema})
	}

	add := []standard{badRequest, internal, unavailable, timeout, other}
	if op.Security == nil || len(*op.Security) > 0 {
		add = append(add, unauthorized, forbidden)
	}

	if slices.ContainsFunc(op.Parameters, func(p *openapi3.ParameterRef) bool { return p.Value.In == openapi3.ParameterInPath }) {
		add = append(add, notFound)
	}

	for _, s := range add {
		if op.Responses.Value(s.status) == nil {
			op.Responses.Set(s.status, s.responseRef())
		}
	}

	return nil
}

// isError reports whether a response key is an error status or default.
func isError(status string) bool {
	if status == defaultStatus {
		return true
	}

	code, err := strconv.Atoi(status)

	return err == nil && code >= http.StatusBadRequest
}

// declaresBody reports whether r has a body schema of its own.
// protoc-gen-openapiv2 writes an empty schema for a response declared
// with a description only.
func declaresBody(r *openapi3.Response) bool {
	for _, mt := range r.Content {
		if mt.Schema != nil && (mt.Schema.Ref != "" || !mt.Schema.Value.IsEmpty()) {
			return true
		}
	}

	return false
}
