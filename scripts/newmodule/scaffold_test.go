package main

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/modulith/modulith/internal/config"
)

// newRepo writes the files new and destroy read to a new directory: go.mod,
// the real sqlc.yaml, configs/server.yaml, gqlgen.yml and GraphQL schemas,
// and a list of modules.
func newRepo(t *testing.T) string {
	t.Helper()

	dir := t.TempDir()

	files := map[string]string{
		"go.mod":    "module " + testModulePath + "\n\ngo 1.26.0\n",
		modulesPath: modulesGo,
	}

	source := os.DirFS("../..")

	schemas, err := fs.Glob(source, "*/*/graphql/*.graphqls")
	if err != nil {
		t.Fatal(err)
	}

	for _, p := range append(schemas, sqlcPath, serverConfigPath, gqlgenConfigPath, "internal/graphql/schema/schema.graphqls") {
		data, err := fs.ReadFile(source, p)
		if err != nil {
			t.Fatal(err)
		}

		files[p] = string(data)
	}

	for name, data := range files {
		writeTestFile(t, filepath.Join(dir, name), data)
	}

	return dir
}

func writeTestFile(t *testing.T, p, data string) {
	t.Helper()

	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		t.Fatal(err)
	}

	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// tree maps every file under dir to a hash of its contents.
func tree(t *testing.T, dir string) map[string][32]byte {
	t.Helper()

	files := make(map[string][32]byte)
	fsys := os.DirFS(dir)

	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}

		data, err := fs.ReadFile(fsys, p)
		files[p] = sha256.Sum256(data)

		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	return files
}

// newmodule runs the command with args in dir and returns its output.
func newmodule(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()

	var stdout, stderr bytes.Buffer

	err := run(append([]string{"-root", dir}, args...), &stdout, &stderr)

	return stdout.String() + stderr.String(), err
}

func TestNewThenDestroy(t *testing.T) {
	t.Parallel()

	dir := newRepo(t)
	before := tree(t, dir)

	out, err := newmodule(t, dir, "new", "line_items")
	if err != nil {
		t.Fatalf("new line_items = %v\n%s", err, out)
	}

	wantCreated(t, out, before, tree(t, dir))

	if out, err := newmodule(t, dir, "new", "line_items"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("new line_items a second time = %v, want an error saying it exists\n%s", err, out)
	}

	if out, err := newmodule(t, dir, "destroy", "line_items"); err != nil {
		t.Fatalf("destroy line_items = %v\n%s", err, out)
	}

	if diff := cmp.Diff(before, tree(t, dir)); diff != "" {
		t.Errorf("files after new and destroy (-before +after):\n%s", diff)
	}
}

// wantCreated checks what new line_items wrote, edited and reported.
func wantCreated(t *testing.T, out string, before, after map[string][32]byte) {
	t.Helper()

	for _, want := range []string{
		"modules/line_items/module.go", "modules/line_items/doc.go", "modules/line_items/events/events.go",
		"modules/line_items/internal/service/service.go", "modules/line_items/internal/repository/repository.go",
		"modules/line_items/internal/db/query/line_items.sql", "modules/line_items/resources/resources.go",
		"modules/line_items/resources/db/migration/000001_init.up.sql",
		"modules/line_items/resources/db/migration/000001_init.down.sql",
		"modules/line_items/graphql/schema.graphqls", "modules/line_items/graphql/resolver.go",
		"proto/line_items/v1/line_items.proto", "configs/line_items.yaml", "cmd/line_items/main.go",
	} {
		if _, ok := after[want]; !ok {
			t.Errorf("new line_items wrote no %s", want)
		}

		if !strings.Contains(out, want) {
			t.Errorf("new line_items did not report %s:\n%s", want, out)
		}
	}

	for _, edited := range []string{sqlcPath, modulesPath, serverConfigPath} {
		if after[edited] == before[edited] {
			t.Errorf("new line_items left %s as it was", edited)
		}
	}
}

func TestNewRefuses(t *testing.T) {
	t.Parallel()

	dir := newRepo(t)
	writeTestFile(t, filepath.Join(dir, "proto/payments/v1/payments.proto"), "syntax = \"proto3\";\n")
	writeTestFile(t, filepath.Join(dir, "modules/lineitems/module.go"), "package lineitems\n")

	tests := []struct {
		args []string
		want string
	}{
		{[]string{"new", "payments"}, "proto/payments already exists"},
		{[]string{"new", "line_items"}, "Go package name lineitems"},
		{[]string{"new", "auth"}, "reserved"},
		{[]string{"new", "users"}, "GraphQL schema would clash"},       // auth's type User
		{[]string{"new", "order_items"}, "GraphQL schema would clash"}, // orders' type OrderItem
		{[]string{"new", "Payments"}, "lower-case"},
		{[]string{"destroy", "auth"}, "reserved"},
		{[]string{"destroy", "invoices"}, "no module"},
		{[]string{"new"}, errUsage.Error()},
		{[]string{"rename", "payments"}, errUsage.Error()},
	}

	before := tree(t, dir)

	for _, tt := range tests {
		out, err := newmodule(t, dir, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("newmodule %v = %v, want an error saying %q\n%s", tt.args, err, tt.want, out)
		}
	}

	if diff := cmp.Diff(before, tree(t, dir)); diff != "" {
		t.Errorf("files after refused commands (-before +after):\n%s", diff)
	}
}

func TestNewWritesNothingWhenAnEditFails(t *testing.T) {
	t.Parallel()

	dir := newRepo(t)
	writeTestFile(t, filepath.Join(dir, modulesPath), "package modules\n\nfunc All() {}\n")
	before := tree(t, dir)

	if out, err := newmodule(t, dir, "new", "payments"); !errors.Is(err, errShape) {
		t.Errorf("new payments with no module list = %v, want %v\n%s", err, errShape, out)
	}

	if diff := cmp.Diff(before, tree(t, dir)); diff != "" {
		t.Errorf("files after a refused new (-before +after):\n%s", diff)
	}
}

func TestDestroyRefusesWhileImported(t *testing.T) {
	t.Parallel()

	dir := newRepo(t)
	if out, err := newmodule(t, dir, "new", "payments"); err != nil {
		t.Fatalf("new payments = %v\n%s", err, out)
	}

	user := "modules/orders/internal/service/service.go"
	writeTestFile(t, filepath.Join(dir, user), "package service\n\nimport _ \""+testModulePath+"/modules/payments/events\"\n")

	out, err := newmodule(t, dir, "destroy", "payments")
	if err == nil || !strings.Contains(err.Error(), user) {
		t.Errorf("destroy payments while %s imports it = %v, want an error naming it\n%s", user, err, out)
	}

	if _, err := os.Stat(filepath.Join(dir, "modules/payments/module.go")); err != nil {
		t.Errorf("refused destroy removed files: %v", err)
	}
}

// TestDestroyIgnoresGraphQLRoot checks that the GraphQL root resolver,
// which imports every module's resolvers, does not keep a module: make
// destroy-module writes it again, without the module, after destroy.
func TestDestroyIgnoresGraphQLRoot(t *testing.T) {
	t.Parallel()

	dir := newRepo(t)
	if out, err := newmodule(t, dir, "new", "payments"); err != nil {
		t.Fatalf("new payments = %v\n%s", err, out)
	}

	writeTestFile(t, filepath.Join(dir, graphQLRootPath), "package modules\n\nimport _ \""+testModulePath+"/modules/payments/graphql\"\n")

	if out, err := newmodule(t, dir, "destroy", "payments"); err != nil {
		t.Errorf("destroy payments while %s imports it = %v, want it destroyed\n%s", graphQLRootPath, err, out)
	}
}

// TestNewPluralIsSingular checks a module whose entity's plural is its
// singular: its GraphQL fields of one and of the list still differ.
func TestNewPluralIsSingular(t *testing.T) {
	t.Parallel()

	dir := newRepo(t)
	if out, err := newmodule(t, dir, "new", "news"); err != nil {
		t.Fatalf("new news = %v\n%s", err, out)
	}

	schema, err := fs.ReadFile(os.DirFS(dir), "modules/news/graphql/schema.graphqls")
	if err != nil {
		t.Fatal(err)
	}

	for _, want := range []string{"news(id: ID!): News!", "newsList(first: Int, after: String): NewsConnection!"} {
		if !strings.Contains(string(schema), want) {
			t.Errorf("schema of module news does not declare %s:\n%s", want, schema)
		}
	}
}

func TestRenderedFiles(t *testing.T) {
	t.Parallel()

	n := mustNames(t, "order")

	files, err := render(n)
	if err != nil {
		t.Fatal(err)
	}

	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = f.path

		if bytes.Contains(f.data, []byte("{{")) || bytes.Contains(f.data, []byte("<no value>")) {
			t.Errorf("%s holds template syntax:\n%s", f.path, f.data)
		}
	}

	if !slices.Contains(paths, "modules/order/internal/db/query/orders.sql") {
		t.Errorf("rendered %v, want modules/order/internal/db/query/orders.sql", paths)
	}

	sql := string(files[slices.Index(paths, "modules/order/resources/db/migration/000001_init.up.sql")].data)
	if !strings.Contains(sql, `CREATE TABLE "order".orders`) {
		t.Errorf("migration of module order does not quote the reserved schema name:\n%s", sql)
	}
}

func TestNext(t *testing.T) {
	t.Parallel()

	out, err := newmodule(t, newRepo(t), "next", "payments")
	if err != nil {
		t.Fatal(err)
	}

	for _, want := range []string{"payments.v1.PaymentService", "/v1/payments/{payment_id}", "payment, payments; createPayment", "make test-pkg PKG=./modules/payments/...", "make destroy-module NAME=payments"} {
		if !strings.Contains(out, want) {
			t.Errorf("next payments does not mention %q:\n%s", want, out)
		}
	}
}

// TestNewAddsConfigSection checks what next says of the configuration: the
// monolith's loader finds the module's section in configs/server.yaml.
func TestNewAddsConfigSection(t *testing.T) {
	t.Parallel()

	dir := newRepo(t)
	if out, err := newmodule(t, dir, "new", "line_items"); err != nil {
		t.Fatalf("new line_items = %v\n%s", err, out)
	}

	layers, err := config.NewLayers(config.Files{YAML: filepath.Join(dir, serverConfigPath), YAMLRequired: true}, nil)
	if err != nil {
		t.Fatal(err)
	}

	// The settings of the scaffolded service (internal/service/service.go).
	var cfg struct {
		DefaultPageSize int32 `yaml:"default_page_size" env:"LINE_ITEMS_DEFAULT_PAGE_SIZE" default:"20"`
	}

	report, err := layers.LoadModule("line_items", &cfg)
	if err != nil {
		t.Fatal(err)
	}

	if got := report.Source("LINE_ITEMS_DEFAULT_PAGE_SIZE"); got != config.SourceYAML || cfg.DefaultPageSize != 20 {
		t.Errorf("LINE_ITEMS_DEFAULT_PAGE_SIZE = %d from %q, want 20 from %q", cfg.DefaultPageSize, got, config.SourceYAML)
	}

	if len(report.Warnings) > 0 {
		t.Errorf("section line_items has unknown keys: %v", report.Warnings)
	}
}
