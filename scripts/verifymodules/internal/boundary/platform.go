package boundary

import (
	"go/ast"
	"go/token"
	"path"
	"slices"
	"strconv"
	"strings"
)

// schemaConst names the constant by which a platform package declares the
// PostgreSQL schema it owns (events.SchemaName).
const schemaConst = "SchemaName"

// platformRoots hold the platform's packages: everything under them but
// tests and the composition roots is checked by RulePlatform.
var platformRoots = []string{"internal", "cmd/server"}

// compositionRoots are the files under platformRoots that may name
// modules: they hand the list of modules to the platform.
var compositionRoots = []string{"cmd/server/main.go"}

// scanPlatform reads the non-test Go files of the platform: the schemas of
// the packages under internal/, and RulePlatform.
func (a *analyzer) scanPlatform() error {
	for _, root := range platformRoots {
		files, err := walkFiles(a.fsys, root, ".go")
		if err != nil {
			return err
		}

		for _, p := range files {
			if strings.HasSuffix(p, "_test.go") || slices.Contains(compositionRoots, p) {
				continue
			}

			f, err := a.parseGo(p)
			if err != nil {
				return err
			}

			if root == "internal" {
				a.addSchemas(f.ast)
			}

			a.checkPlatformFile(f)
		}
	}

	slices.Sort(a.schemas)
	a.schemas = slices.Compact(a.schemas)

	return nil
}

// addSchemas records the string constants named SchemaName.
func (a *analyzer) addSchemas(f *ast.File) {
	for _, d := range f.Decls {
		gen, ok := d.(*ast.GenDecl)
		if !ok {
			continue
		}

		for id, value := range constants(gen) {
			if lit, ok := value.(*ast.BasicLit); ok && id.Name == schemaConst && lit.Kind == token.STRING {
				schema, _ := strconv.Unquote(lit.Value) // the parser checked it
				a.schemas = append(a.schemas, schema)
			}
		}
	}
}

// checkPlatformFile applies RulePlatform to a file of the platform: it
// imports no package under modules/, and none of its string literals names
// a module.
func (a *analyzer) checkPlatformFile(f *goFile) {
	pkg := path.Dir(f.path)

	for _, imp := range f.ast.Imports {
		p, _ := strconv.Unquote(imp.Path.Value) // parseGo checked it
		if p == a.modPath+"/modules" || strings.HasPrefix(p, a.modPath+"/modules/") {
			a.violation(a.position(imp.Pos()), RulePlatform,
				"platform package %s imports %s: the platform names no module; it serves the modules that a composition root "+
					"(modules/modules.go, cmd/<module>, cmd/worker, cmd/server/main.go) hands it", pkg, p)
		}
	}

	ast.Inspect(f.ast, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.ImportSpec:
			return false // checked above
		case *ast.BasicLit:
			if module, ok := a.namedModule(n); ok {
				a.violation(a.position(n.Pos()), RulePlatform,
					"platform package %s names module %s in %s: modules declare their own names, events and methods "+
						"(registry.Host), and the platform learns them at run time", pkg, module, n.Value)
			}
		}

		return true
	})
}

// namedModule returns the module a string literal names: it is the
// module's name, or starts with "<module>." (an event, a gRPC service) or
// "/<module>." (a gRPC method).
func (a *analyzer) namedModule(lit *ast.BasicLit) (string, bool) {
	if lit.Kind != token.STRING {
		return "", false
	}

	s, err := strconv.Unquote(lit.Value)
	if err != nil {
		return "", false
	}

	for _, m := range a.names {
		if s == m || strings.HasPrefix(s, m+".") || strings.HasPrefix(s, "/"+m+".") {
			return m, true
		}
	}

	return "", false
}
