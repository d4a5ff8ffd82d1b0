package graphql

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	gqlgen "github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

func TestSelectionDepth(t *testing.T) {
	t.Parallel()

	tests := []struct {
		query string
		want  int
	}{
		{`{ me }`, 1},
		{`{ me { id } }`, 2},
		{`{ a { b { c } } d }`, 3},
		{`{ a { ... on T { b { c } } } }`, 3},
		{`{ a { ...F } } fragment F on T { b { c { d } } }`, 4},
		{`{ a { b { c { d { e { f } } } } } }`, 6},
	}

	for _, tt := range tests {
		doc, err := parser.ParseQuery(&ast.Source{Input: tt.query})
		if err != nil {
			t.Fatalf("parse %s: %v", tt.query, err)
		}

		linkFragments(doc)

		if got := selectionDepth(doc.Operations[0].SelectionSet, 100); got != tt.want {
			t.Errorf("selectionDepth(%s) = %d, want %d", tt.query, got, tt.want)
		}

		// Counting stops at stop: a deep query costs no full walk.
		if got := selectionDepth(doc.Operations[0].SelectionSet, 2); got != min(tt.want, 2) {
			t.Errorf("selectionDepth(%s, stop 2) = %d, want %d", tt.query, got, min(tt.want, 2))
		}
	}
}

// linkFragments sets each spread's definition, as the validator does.
func linkFragments(doc *ast.QueryDocument) {
	var walk func(ast.SelectionSet)

	walk = func(set ast.SelectionSet) {
		for _, sel := range set {
			switch s := sel.(type) {
			case *ast.Field:
				walk(s.SelectionSet)
			case *ast.InlineFragment:
				walk(s.SelectionSet)
			case *ast.FragmentSpread:
				s.Definition = doc.Fragments.ForName(s.Name)
				walk(s.Definition.SelectionSet)
			}
		}
	}

	for _, op := range doc.Operations {
		walk(op.SelectionSet)
	}
}

func TestDepthLimitRefusesDeeperOperations(t *testing.T) {
	t.Parallel()

	doc, err := parser.ParseQuery(&ast.Source{Input: `{ a { b { c } } }`})
	if err != nil {
		t.Fatal(err)
	}

	op := &gqlgen.OperationContext{Operation: doc.Operations[0]}

	if err := depthLimit(3).MutateOperationContext(t.Context(), op); err != nil {
		t.Errorf("depth 3 at limit 3: %v", err)
	}

	err2 := depthLimit(2).MutateOperationContext(t.Context(), op)
	if err2 == nil || err2.Extensions["code"] != CodeDepthLimit {
		t.Errorf("depth 3 at limit 2 = %v, want %s", err2, CodeDepthLimit)
	}

	if err := depthLimit(0).Validate(nil); err == nil {
		t.Error("Validate() accepted a limit of 0")
	}
}

func TestLoadAllowList(t *testing.T) {
	t.Parallel()

	const q = `{ me { id } }`

	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}

		return path
	}

	for name, content := range map[string]string{
		"array.json":  `["` + q + `"]`,
		"object.json": `{"` + strings.ToUpper(hash(q)) + `": "` + q + `"}`,
	} {
		list, err := LoadAllowList(write(name, content))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}

		if list[hash(q)] != q && list[strings.ToUpper(hash(q))] != q {
			t.Errorf("%s: list = %v, want %q under its hash", name, list, q)
		}
	}

	for name, content := range map[string]string{
		"wrong-hash.json": `{"` + hash("other") + `": "` + q + `"}`,
		"not-json.json":   `{ me }`,
	} {
		if _, err := LoadAllowList(write(name, content)); err == nil || !strings.Contains(err.Error(), "GRAPHQL_ALLOWLIST") {
			t.Errorf("%s: err = %v, want an error naming GRAPHQL_ALLOWLIST", name, err)
		}
	}

	if _, err := LoadAllowList(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("a missing file loaded")
	}
}

func TestAllowListRunsOnlyItsOperations(t *testing.T) {
	t.Parallel()

	const q = `{ me { id } }`

	list := AllowList{hash(q): q}
	persisted := func(h string) map[string]any {
		return map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": h}}
	}

	tests := []struct {
		name   string
		params gqlgen.RawParams
		ok     bool
	}{
		{"listed query", gqlgen.RawParams{Query: q}, true},
		{"listed query with its hash", gqlgen.RawParams{Query: q, Extensions: persisted(hash(q))}, true},
		{"hash only", gqlgen.RawParams{Extensions: persisted(hash(q))}, true},
		{"unlisted query", gqlgen.RawParams{Query: `{ me { email } }`}, false},
		{"unlisted hash", gqlgen.RawParams{Extensions: persisted(hash("x"))}, false},
		{"listed query, another hash", gqlgen.RawParams{Query: q, Extensions: persisted(hash("x"))}, false},
		{"nothing", gqlgen.RawParams{}, false},
	}

	for _, tt := range tests {
		p := tt.params
		err := list.MutateOperationParameters(t.Context(), &p)

		switch {
		case tt.ok && err != nil:
			t.Errorf("%s: refused: %v", tt.name, err)
		case tt.ok && p.Query != q:
			t.Errorf("%s: query = %q, want the listed one", tt.name, p.Query)
		case !tt.ok && (err == nil || err.Extensions["code"] != CodeOperationUnknown):
			t.Errorf("%s: err = %v, want %s", tt.name, err, CodeOperationUnknown)
		}
	}
}
