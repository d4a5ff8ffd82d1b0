package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRenderEmbedsEachModulesTypes(t *testing.T) {
	t.Parallel()

	src, err := Render([]string{"Mutation", "Order", "Query"}, []Module{
		{Name: "auth", Types: []string{"Mutation", "Query", "Resolver"}},
		{Name: "line_items", Types: []string{"Order", "Query", "Resolver"}},
	})
	if err != nil {
		t.Fatal(err)
	}

	for _, want := range []string{
		`lineItemsgraphql "github.com/modulith/modulith/modules/line_items/graphql"`,
		"lineItems := lineItemsgraphql.New(d)",
		"lineItemsQuery = lineItemsgraphql.Query",
		"authQuery{Resolver: auth}",
		"type queryResolver struct {\n\tauthQuery\n\tlineItemsQuery\n}",
		"type orderResolver struct {\n\tlineItemsOrder\n}",
		"func (r *resolver) Order() exec.OrderResolver { return r.order }",
	} {
		if !strings.Contains(string(src), want) {
			t.Errorf("generated root lacks %q:\n%s", want, src)
		}
	}

	if strings.Contains(string(src), "authOrder") {
		t.Errorf("auth declares no Order type, yet the root embeds one:\n%s", src)
	}
}

func TestRenderRefuses(t *testing.T) {
	t.Parallel()

	if _, err := Render([]string{"Query"}, nil); err == nil {
		t.Error("Render() without modules succeeded")
	}

	_, err := Render([]string{"Query", "Subscription"}, []Module{{Name: "auth", Types: []string{"Query", "Resolver"}}})
	if err == nil || !strings.Contains(err.Error(), "Subscription") {
		t.Errorf("Render() with a type no module resolves = %v, want an error naming it", err)
	}
}

func TestRunWritesTheRootOfTheRepository(t *testing.T) {
	t.Parallel()

	root := t.TempDir()
	write := func(path, content string) {
		full := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o750); err != nil {
			t.Fatal(err)
		}

		if err := os.WriteFile(full, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	write(execPath, "package exec\n\ntype ResolverRoot interface {\n\tQuery() QueryResolver\n}\n")
	write("modules/auth/graphql/resolver.go", "package graphql\n\ntype Resolver struct{}\n\ntype Query struct{ *Resolver }\n")
	write("modules/auth/graphql/resolver_test.go", "package graphql\n\ntype Mutation struct{}\n")
	write("modules/modules.go", "package modules\n")

	if err := run([]string{"-root", root}, os.Stderr); err != nil {
		t.Fatal(err)
	}

	src, err := fs.ReadFile(os.DirFS(root), outPath)
	if err != nil {
		t.Fatal(err)
	}

	if !strings.Contains(string(src), "authQuery{Resolver: auth}") || strings.Contains(string(src), "Mutation") {
		t.Errorf("modules/graphql.go =\n%s\nwant auth's Query and no type from a test file", src)
	}

	// A module package without its Resolver is refused, naming it.
	write("modules/orders/graphql/resolver.go", "package graphql\n\ntype Query struct{}\n")

	if err := run([]string{"-root", root}, os.Stderr); err == nil || !strings.Contains(err.Error(), "orders") {
		t.Errorf("run() with a package lacking Resolver = %v, want an error naming it", err)
	}
}
