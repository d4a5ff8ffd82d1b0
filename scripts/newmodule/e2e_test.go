package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/modulith/modulith/internal/pgtest"
	"github.com/modulith/modulith/scripts/internal/repotree"
)

// TestScaffoldedModuleEndToEnd does what a developer does, on a copy of the
// repository: make new-module NAME=products (which generates its code:
// gen/go, gen/graphql, the GraphQL root resolver, the mocks, the OpenAPI
// document); go build ./...; go vet and go test -race of the new
// module (its repository, gRPC, REST and GraphQL tests on a real
// PostgreSQL), with no edit in between; then make destroy-module
// NAME=products, after which every file is as it was.
func TestScaffoldedModuleEndToEnd(t *testing.T) {
	t.Parallel()

	if testing.Short() {
		t.Skip("generates, builds and tests a module: skipped by -short; make test runs it")
	}

	dbURL := pgtest.ServerURL(t)

	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}

	dir := filepath.Join(t.TempDir(), "repo")
	repotree.Copy(t, root, dir)

	// The baseline is the copy as make generate leaves it, so that only
	// new-module and destroy-module count, not code another change left
	// stale.
	repotree.Command(t, dir, nil, "make", "--no-print-directory", "generate", "verify-modules")
	before := tree(t, dir)

	out := repotree.Command(t, dir, nil, "make", "--no-print-directory", "new-module", "NAME=products")
	for _, want := range []string{
		"modules/products/module.go", "modules/products/graphql/schema.graphqls", "products.v1.ProductService",
		"createProduct", "make test",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("make new-module NAME=products does not mention %q:\n%s", want, out)
		}
	}

	repotree.Command(t, dir, nil, "go", "build", "./...")
	repotree.Command(t, dir, nil, "go", "vet", "./modules/products/...", "./cmd/products", "./cmd/server/...")

	out = repotree.Command(t, dir, []string{"TEST_DATABASE_URL=" + dbURL}, "go", "test", "-race", "-count=1", "-v", "./modules/products/...")
	for _, want := range []string{"--- PASS: TestCRUDOverREST", "--- PASS: TestGraphQL ", "--- PASS: TestGraphQLSubscription"} {
		if !strings.Contains(out, want) {
			t.Errorf("the tests of module products did not report %q:\n%s", want, out)
		}
	}

	repotree.Command(t, dir, nil, "make", "--no-print-directory", "destroy-module", "NAME=products")

	if diff := cmp.Diff(before, tree(t, dir)); diff != "" {
		t.Errorf("files after new-module and destroy-module (-before +after):\n%s", diff)
	}
}
