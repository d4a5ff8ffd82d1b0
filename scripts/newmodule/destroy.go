package main

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
)

// skipDirs are never searched for imports of a module.
var skipDirs = []string{".git", ".data", "bin", "tmp"}

// rewritten are the files that import every module and do not keep one:
// destroy edits the list of modules, make generate writes the GraphQL
// root resolver again.
var rewritten = []string{modulesPath, graphQLRootPath}

// destroy removes module n: what scaffold wrote, what make generate wrote
// for it, and its entries in sqlc.yaml, modules/modules.go and
// configs/server.yaml. It refuses
// while code outside the module imports it.
func destroy(r repo, n Names, out io.Writer) error {
	users, err := importers(r, n)
	if err != nil {
		return err
	}

	if len(users) > 0 {
		return fmt.Errorf("module %q is still imported by %s: remove those imports first", n.Name, strings.Join(users, ", "))
	}

	section, err := execute("templates/snippets/server.yaml.tmpl", n)
	if err != nil {
		return err
	}

	edits, err := plannedEdits(r,
		change{sqlcPath, "removed the entry " + n.Name, func(src []byte) ([]byte, error) { return removeSQLCEntry(src, n.Name) }},
		change{modulesPath, "removed " + n.Package + ".Module{}", func(src []byte) ([]byte, error) { return removeModule(src, n) }},
		change{serverConfigPath, "removed the section " + n.Name, func(src []byte) ([]byte, error) { return removeConfigSection(src, n.Name, section) }},
	)
	if err != nil {
		return err
	}

	removed := slices.DeleteFunc(ownedPaths(n), func(p string) bool { return !r.exists(p) })
	if len(removed) == 0 && len(edits) == 0 {
		return fmt.Errorf("no module %q to destroy", n.Name)
	}

	if err := removeAll(r, removed, edits); err != nil {
		return err
	}

	fmt.Fprintf(out, "Destroyed module %s:\n", n.Name)

	for _, p := range removed {
		fmt.Fprintf(out, "  - %s\n", p)
	}

	for _, e := range edits {
		fmt.Fprintf(out, "  ~ %s (%s)\n", e.path, e.what)
	}

	return nil
}

// removeAll makes the edits and removes the paths.
func removeAll(r repo, paths []string, edits []edit) error {
	for _, e := range edits {
		if err := r.write(e.path, e.data); err != nil {
			return err
		}
	}

	for _, p := range paths {
		if err := r.removeAll(p); err != nil {
			return err
		}
	}

	return nil
}

// importers lists the Go files outside module n that import its packages
// or its generated code, besides modules/modules.go, which destroy edits,
// and modules/graphql.go, which make generate writes again without it.
func importers(r repo, n Names) ([]string, error) {
	needles := [][]byte{
		[]byte(`"` + n.ModulePath + "/modules/" + n.Name + `"`),
		[]byte(`"` + n.ModulePath + "/modules/" + n.Name + "/"),
		[]byte(`"` + n.ModulePath + "/gen/go/" + n.Name + "/"),
	}
	skip := append(ownedPaths(n), skipDirs...)
	fsys := r.root.FS()

	var users []string

	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && slices.Contains(skip, p):
			return fs.SkipDir
		case d.IsDir() || !strings.HasSuffix(p, ".go") || slices.Contains(rewritten, p):
			return nil
		}

		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}

		if slices.ContainsFunc(needles, func(needle []byte) bool { return bytes.Contains(data, needle) }) {
			users = append(users, p)
		}

		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("search imports of %s: %w", n.Name, err)
	}

	return users, nil
}

// printNext tells what the module serves and what to do next.
func printNext(n Names, out io.Writer) error {
	_, err := fmt.Fprintf(out, `
Module %[1]s is ready, in the list of modules (modules/modules.go).
  gRPC    %[1]s.v1.%[2]sService: Create%[2]s, Get%[2]s, List%[3]s, Update%[2]s, Delete%[2]s
  REST    POST|GET /v1/%[1]s, GET|PATCH|DELETE /v1/%[1]s/{%[4]s_id} (Swagger UI: /swagger-ui/)
  GraphQL /graphql: %[6]s, %[7]s; create%[2]s, update%[2]s, delete%[2]s; subscription %[6]sCreated
          (modules/%[1]s/graphql; docs/GRAPHQL.md)
  events  %[1]s.%[4]s_created, _updated, _deleted (typed: modules/%[1]s/events)
  config  section %[1]s: in configs/server.yaml (monolith) and configs/%[1]s.yaml (cmd/%[1]s);
          environment %[5]s_DEFAULT_PAGE_SIZE overrides both

Next:
  make test-pkg PKG=./modules/%[1]s/...   the new module's tests (make test: every test)
  make run                           serve it, then sign in (README) and call it:
      curl -H "Authorization: Bearer $TOKEN" -d '{"name":"first"}' localhost:8080/v1/%[1]s
  edit proto/%[1]s/v1/%[1]s.proto, modules/%[1]s/resources/db/migration,
      modules/%[1]s/internal/db/query, the service and modules/%[1]s/graphql,
      then make generate
  make destroy-module NAME=%[1]s     remove it all again
`, n.Name, n.Entity, n.Entities, n.EntitySnake, n.Env, n.GraphQLField, n.GraphQLFields)
	if err != nil {
		return fmt.Errorf("print: %w", err)
	}

	return nil
}
