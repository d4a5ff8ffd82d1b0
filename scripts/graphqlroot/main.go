// Command graphqlroot writes modules/graphql.go, the root resolver of the
// GraphQL schema, from what gqlgen generated (gen/graphql/exec) and the
// modules' resolver packages (modules/<module>/graphql).
//
// gqlgen asks for one resolver per root type (Query, Mutation,
// Subscription, and each object with resolved fields), while each module
// resolves only its own fields, in its own package. The root embeds, for
// each type, the type of that name of every module package that declares
// one, so the methods of all the modules together implement gqlgen's
// interface, and the compiler says which field no module resolves. A module
// package provides New(graphql.Deps) *Resolver and, for each type it
// resolves, a struct of that name embedding *Resolver.
//
// It runs in `make graphql`, after gqlgen:
//
//	go run ./scripts/graphqlroot [-root .]
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/template"
)

// The paths the command reads and writes, relative to the repository root.
const (
	execPath   = "gen/graphql/exec/exec.go"
	modulesDir = "modules"
	outPath    = "modules/graphql.go"
	modulePath = "github.com/modulith/modulith"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "graphqlroot:", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	flags := flag.NewFlagSet("graphqlroot", flag.ContinueOnError)
	flags.SetOutput(stderr)
	root := flags.String("root", ".", "repository root")

	if err := flags.Parse(args); err != nil {
		return fmt.Errorf("parse flags: %w", err)
	}

	types, err := rootTypes(filepath.Join(*root, execPath))
	if err != nil {
		return err
	}

	mods, err := modulePackages(filepath.Join(*root, modulesDir))
	if err != nil {
		return err
	}

	src, err := Render(types, mods)
	if err != nil {
		return err
	}

	if err := os.WriteFile(filepath.Join(*root, outPath), src, 0o644); err != nil { //nolint:gosec // a source file, read by everyone
		return fmt.Errorf("write the root resolver: %w", err)
	}

	return nil
}

// Module is a module's resolver package and the root types it declares.
type Module struct {
	// Name is the module's directory under modules/.
	Name string
	// Types are the root types (Query, Order, …) the package declares.
	Types []string
}

// rootTypes returns the methods of gqlgen's ResolverRoot: the types that
// need a resolver.
func rootTypes(path string) ([]string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("parse %s (run gqlgen first): %w", path, err)
	}

	for _, ts := range typeSpecs(f) {
		if ts.Name.Name != "ResolverRoot" {
			continue
		}

		iface, ok := ts.Type.(*ast.InterfaceType)
		if !ok {
			return nil, fmt.Errorf("%s: ResolverRoot is not an interface", path)
		}

		var names []string

		for _, m := range iface.Methods.List {
			for _, n := range m.Names {
				names = append(names, n.Name)
			}
		}

		slices.Sort(names)

		return names, nil
	}

	return nil, fmt.Errorf("%s: no ResolverRoot", path)
}

// typeSpecs returns the type declarations of f.
func typeSpecs(f *ast.File) []*ast.TypeSpec {
	var out []*ast.TypeSpec

	for _, decl := range f.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.TYPE {
			continue
		}

		for _, spec := range gen.Specs {
			if ts, ok := spec.(*ast.TypeSpec); ok {
				out = append(out, ts)
			}
		}
	}

	return out
}

// modulePackages returns, in name order, each module with a graphql
// package and the root types it declares.
func modulePackages(dir string) ([]Module, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list the modules: %w", err)
	}

	var mods []Module

	for _, e := range entries {
		pkg := filepath.Join(dir, e.Name(), "graphql")
		if !e.IsDir() || !isDir(pkg) {
			continue
		}

		types, err := declaredTypes(pkg)
		if err != nil {
			return nil, err
		}

		if !slices.Contains(types, "Resolver") {
			return nil, fmt.Errorf("%s declares no Resolver type (see scripts/graphqlroot)", pkg)
		}

		mods = append(mods, Module{Name: e.Name(), Types: types})
	}

	return mods, nil
}

func isDir(path string) bool {
	fi, err := os.Stat(path)

	return err == nil && fi.IsDir()
}

// declaredTypes returns the exported types the non-test files of dir
// declare.
func declaredTypes(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}

	var names []string

	fset := token.NewFileSet()

	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}

		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", path, err)
		}

		for _, ts := range typeSpecs(f) {
			if ts.Name.IsExported() {
				names = append(names, ts.Name.Name)
			}
		}
	}

	slices.Sort(names)

	return names, nil
}

// rootType is a type of ResolverRoot and the modules that resolve it.
type rootType struct {
	Name    string
	Field   string   // the root struct's field for it
	Modules []string // the modules' identifiers: lineItems
}

// Alias is the name the root embeds a module's type under: embedding two
// types named Query would clash.
func (t rootType) Alias(module string) string { return module + t.Name }

// pkg is a module's resolver package: the variable that holds its
// Resolver, the package's import name and its path.
type pkg struct{ Var, Name, Path string }

var errNoModules = errors.New("no module has a graphql package")

// Render returns the source of modules/graphql.go.
func Render(types []string, mods []Module) ([]byte, error) {
	if len(mods) == 0 {
		return nil, errNoModules
	}

	data := struct {
		Packages []pkg
		Types    []rootType
	}{}

	for _, m := range mods {
		v := lowerFirst(camel(m.Name))
		data.Packages = append(data.Packages, pkg{Var: v, Name: v + "graphql", Path: modulePath + "/modules/" + m.Name + "/graphql"})
	}

	for _, name := range types {
		t := rootType{Name: name, Field: lowerFirst(name)}

		for _, m := range mods {
			if slices.Contains(m.Types, name) {
				t.Modules = append(t.Modules, lowerFirst(camel(m.Name)))
			}
		}

		if len(t.Modules) == 0 {
			return nil, fmt.Errorf("no module package declares type %s, which the schema needs a resolver for", name)
		}

		data.Types = append(data.Types, t)
	}

	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}

	src, err := format.Source(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("format the generated source: %w\n%s", err, buf.Bytes())
	}

	return src, nil
}

// camel turns a module name (line_items) into LineItems.
func camel(s string) string {
	var b strings.Builder

	for part := range strings.SplitSeq(s, "_") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}

	return b.String()
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}

	return strings.ToLower(s[:1]) + s[1:]
}

var tmpl = template.Must(template.New("root").Parse(`// Code generated by scripts/graphqlroot from gen/graphql/exec and modules/*/graphql. DO NOT EDIT.

package modules

import (
	gqlgen "github.com/99designs/gqlgen/graphql"

	"github.com/modulith/modulith/gen/graphql/exec"
	"github.com/modulith/modulith/internal/graphql"
{{- range .Packages}}
	{{.Name}} "{{.Path}}"
{{- end}}
)

// GraphQL returns the executable GraphQL schema of every module: its root
// resolver combines the resolvers of each module's graphql package.
func GraphQL(d graphql.Deps) gqlgen.ExecutableSchema {
{{- range .Packages}}
	{{.Var}} := {{.Name}}.New(d)
{{- end}}

	return exec.NewExecutableSchema(exec.Config{Resolvers: &resolver{
{{- range $t := .Types}}
		{{$t.Field}}: {{$t.Field}}Resolver{
{{- range $t.Modules}}
			{{$t.Alias .}}: {{$t.Alias .}}{Resolver: {{.}}},
{{- end}}
		},
{{- end}}
	}})
}

type (
{{- range $t := .Types}}
{{- range $t.Modules}}
	{{$t.Alias .}} = {{.}}graphql.{{$t.Name}}
{{- end}}
{{- end}}
)

{{range $t := .Types}}
// {{$t.Field}}Resolver resolves {{$t.Name}}'s fields: each module's.
type {{$t.Field}}Resolver struct {
{{- range $t.Modules}}
	{{$t.Alias .}}
{{- end}}
}
{{end}}

// resolver is the root resolver.
type resolver struct {
{{- range .Types}}
	{{.Field}} {{.Field}}Resolver
{{- end}}
}
{{range .Types}}
// {{.Name}} implements exec.ResolverRoot.
func (r *resolver) {{.Name}}() exec.{{.Name}}Resolver { return r.{{.Field}} }
{{end}}
`))
