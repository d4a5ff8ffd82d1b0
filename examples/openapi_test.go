package examples

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// openAPIOperation is the part of an OpenAPI 3 operation the test reads.
type openAPIOperation struct {
	// Security is nil when the document's (bearer) applies, empty when
	// the operation is public.
	Security  *[]map[string][]string `json:"security"`
	Responses map[string]any         `json:"responses"`
}

// pathParam matches a path template variable.
var pathParam = regexp.MustCompile(`\{[^}]+\}`)

// TestOpenAPIDocumentMatchesServer calls every operation of the served
// document without an access token and checks the answer against what the
// document says: an operation that needs a token answers 401, a public one
// does not ask for a token, and the status is one the operation documents
// with the Error body.
func TestOpenAPIDocumentMatchesServer(t *testing.T) {
	t.Parallel()

	s := startServer(t, nil)

	var doc struct {
		Paths map[string]map[string]openAPIOperation `json:"paths"`
	}
	if r := s.do(t, http.MethodGet, "/openapi.json", nil, ""); r.Status != http.StatusOK || json.Unmarshal(r.Body, &doc) != nil {
		t.Fatalf("GET /openapi.json = %d %.200s", r.Status, r.Body)
	}

	for path, ops := range doc.Paths {
		// A well-formed ID of nothing: the call fails on the token or the
		// resource, not on the ID's form.
		url := pathParam.ReplaceAllString(path, "01890f3e-8c8d-7cc2-9f3a-5c1b2d3e4f50")

		for method, op := range ops {
			var body any
			if method == "post" || method == "patch" || method == "put" {
				body = map[string]any{}
			}

			r := s.do(t, strings.ToUpper(method), url, body, "")
			checkDocumented(t, strings.ToUpper(method)+" "+path, op, r)
		}
	}
}

// checkDocumented fails when r, the answer to op without a token, is not
// what the document says of op.
func checkDocumented(t *testing.T, name string, op openAPIOperation, r response) {
	t.Helper()

	public := op.Security != nil && len(*op.Security) == 0

	var e struct {
		Code string `json:"code"`
	}
	if err := json.Unmarshal(r.Body, &e); err != nil || e.Code == "" {
		t.Errorf("%s without a token = %d %.200s, want an error body", name, r.Status, r.Body)

		return
	}

	switch {
	case !public && r.Status != http.StatusUnauthorized:
		t.Errorf("%s needs a token in the document but answers %d %s without one", name, r.Status, e.Code)
	case public && e.Code == "AUTH_REQUIRED":
		t.Errorf("%s is public in the document but answers %d %s without a token", name, r.Status, e.Code)
	}

	if _, ok := op.Responses[strconv.Itoa(r.Status)]; !ok {
		t.Errorf("%s answers %d %s, which the document does not list", name, r.Status, e.Code)
	}
}
