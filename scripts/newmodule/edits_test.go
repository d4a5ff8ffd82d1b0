package main

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const sqlcYAML = `# Entries.
version: "2"
sql:
  - name: auth
    engine: postgresql
    gen:
      go:
        out: modules/auth/internal/db/store
  - name: orders
    engine: postgresql
`

const sqlcWithTrailer = `version: "2"
sql:
  - name: auth
    engine: postgresql

# Something after the list.
rules:
  - name: no-delete
`

func mustNames(t *testing.T, name string) Names {
	t.Helper()

	n, err := NewNames(testModulePath, name)
	if err != nil {
		t.Fatal(err)
	}

	return n
}

func TestSQLCEntryRoundTrip(t *testing.T) {
	t.Parallel()

	file, err := os.ReadFile("../../sqlc.yaml")
	if err != nil {
		t.Fatal(err)
	}

	// A name no repository has, so that the real file's case is a real one.
	const name = "scaffold_probes"

	entry := "  - name: " + name + "\n    engine: postgresql\n"

	for label, src := range map[string]string{"inline": sqlcYAML, "trailer": sqlcWithTrailer, "sqlc.yaml": string(file)} {
		added, err := addSQLCEntry([]byte(src), name, []byte(entry))
		if err != nil {
			t.Fatalf("%s: addSQLCEntry = %v", label, err)
		}

		names, err := sqlcNames(added)
		if err != nil || names[len(names)-1] != name {
			t.Errorf("%s: entries after addSQLCEntry = %v, %v; want %s last", label, names, err, name)
		}

		again, err := addSQLCEntry(added, name, []byte(entry))
		if err != nil || string(again) != string(added) {
			t.Errorf("%s: addSQLCEntry a second time = %v, changed %t; want no change", label, err, string(again) != string(added))
		}

		removed, err := removeSQLCEntry(added, name)
		if err != nil {
			t.Fatalf("%s: removeSQLCEntry = %v", label, err)
		}

		if diff := cmp.Diff(src, string(removed)); diff != "" {
			t.Errorf("%s: add then remove (-before +after):\n%s", label, diff)
		}
	}
}

func TestSQLCEntryInsertsAtTheEndOfTheList(t *testing.T) {
	t.Parallel()

	added, err := addSQLCEntry([]byte(sqlcWithTrailer), "payments", []byte("  - name: payments\n"))
	if err != nil {
		t.Fatal(err)
	}

	want := strings.Replace(sqlcWithTrailer, "    engine: postgresql\n", "    engine: postgresql\n  - name: payments\n", 1)
	if diff := cmp.Diff(want, string(added)); diff != "" {
		t.Errorf("addSQLCEntry (-want +got):\n%s", diff)
	}
}

func TestSQLCEntryRefuses(t *testing.T) {
	t.Parallel()

	if _, err := addSQLCEntry([]byte("version: \"2\"\n"), "payments", []byte("  - name: payments\n")); !errors.Is(err, errShape) {
		t.Errorf("addSQLCEntry without a sql list = %v, want %v", err, errShape)
	}

	// An entry that does not start with its name cannot be cut precisely.
	odd := "sql:\n  - engine: postgresql\n    name: payments\n"
	if _, err := removeSQLCEntry([]byte(odd), "payments"); !errors.Is(err, errShape) {
		t.Errorf("removeSQLCEntry of an entry not starting with its name = %v, want %v", err, errShape)
	}

	if _, err := addSQLCEntry([]byte("sql: [\n"), "payments", nil); err == nil {
		t.Error("addSQLCEntry of invalid YAML = nil, want an error")
	}
}

const modulesGo = `// Package modules lists the modules.
package modules

import (
	"example.com/app/internal/registry"
	"example.com/app/modules/auth"
	"example.com/app/modules/orders"
)

// All returns every module.
func All() []registry.Module {
	return []registry.Module{
		auth.Module{},
		orders.Module{}, // with a comment
	}
}
`

func TestModuleRegistrationRoundTrip(t *testing.T) {
	t.Parallel()

	file, err := os.ReadFile("../../" + modulesPath)
	if err != nil {
		t.Fatal(err)
	}

	sources := map[string]string{
		"multi-line": modulesGo,
		"one line":   strings.Replace(modulesGo, "{\n\t\tauth.Module{},\n\t\torders.Module{}, // with a comment\n\t}", "{auth.Module{}}", 1),
		// The real file, with this test's module path.
		modulesPath: strings.ReplaceAll(string(file), "github.com/modulith/modulith/", testModulePath+"/"),
	}

	// Names no repository has, so that the real file's case is a real one.
	for _, name := range []string{"scaffold_probes", "probes"} {
		n := mustNames(t, name)

		for label, src := range sources {
			checkRegistration(t, label, src, n)
		}
	}
}

func checkRegistration(t *testing.T, label, src string, n Names) {
	t.Helper()

	added, err := addModule([]byte(src), n)
	if err != nil {
		t.Fatalf("%s: addModule(%s) = %v", label, n.Name, err)
	}

	for _, want := range []string{n.Package + ".Module{}", n.ImportName + `"` + testModulePath + "/modules/" + n.Name + `"`} {
		if !strings.Contains(string(added), want) {
			t.Errorf("%s: addModule(%s) has no %s:\n%s", label, n.Name, want, added)
		}
	}

	if again, err := addModule(added, n); err != nil || string(again) != string(added) {
		t.Errorf("%s: addModule(%s) a second time = %v, changed %t; want no change", label, n.Name, err, string(again) != string(added))
	}

	removed, err := removeModule(added, n)
	if err != nil {
		t.Fatalf("%s: removeModule(%s) = %v", label, n.Name, err)
	}

	if diff := cmp.Diff(src, string(removed)); diff != "" {
		t.Errorf("%s: add then remove %s (-before +after):\n%s", label, n.Name, diff)
	}
}

func TestModuleRegistrationRefuses(t *testing.T) {
	t.Parallel()

	n := mustNames(t, "payments")

	tests := map[string]string{
		"no All":            strings.Replace(modulesGo, "func All()", "func List()", 1),
		"another list type": strings.ReplaceAll(modulesGo, "[]registry.Module", "[]any"),
		"half registered":   strings.Replace(modulesGo, "orders.Module{}, // with a comment", "orders.Module{},\n\t\tpayments.Module{},", 1),
	}

	for label, src := range tests {
		if _, err := addModule([]byte(src), n); !errors.Is(err, errShape) {
			t.Errorf("%s: addModule = %v, want %v", label, err, errShape)
		}
	}

	if _, err := addModule([]byte("package modules\nfunc {"), n); err == nil {
		t.Error("addModule of invalid Go = nil, want an error")
	}
}
