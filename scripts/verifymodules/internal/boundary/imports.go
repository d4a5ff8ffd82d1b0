package boundary

import (
	"go/ast"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// viaEvents is the Via of a dependency on another module's events package.
const viaEvents = "events package"

// newClientRE matches a generated gRPC client constructor.
var newClientRE = regexp.MustCompile(`^New([A-Z]\w*)Client$`)

// checkImports applies RuleImport to every import of a file of module.
func (a *analyzer) checkImports(module string, f *goFile) {
	for _, imp := range f.ast.Imports {
		p, _ := strconv.Unquote(imp.Path.Value) // parseGo checked it
		pos := a.position(imp.Pos())

		if p == a.modPath+"/cmd" || strings.HasPrefix(p, a.modPath+"/cmd/") {
			a.violation(pos, RuleImport, "module %s imports %s: modules never import cmd/ (the composition root imports them)",
				module, p)

			continue
		}

		other, ok := a.moduleOf(p)
		if !ok || other == module || p == a.eventsPackage(other) {
			continue
		}

		a.violation(pos, RuleImport,
			"module %s imports %s: another module is reached only through gen/go/%s/... (its gRPC client and types) or %s",
			module, p, other, a.eventsPackage(other))
	}
}

// moduleOf returns the module whose tree under modules/ holds an import path.
func (a *analyzer) moduleOf(importPath string) (string, bool) {
	rest, ok := strings.CutPrefix(importPath, a.modPath+"/modules/")
	if !ok {
		return "", false
	}

	name, _, _ := strings.Cut(rest, "/")

	return name, name != ""
}

// eventsPackage is the import path of a module's events package, the one
// package other modules may import from its tree.
func (a *analyzer) eventsPackage(module string) string {
	return a.modPath + "/modules/" + module + "/events"
}

// genModule returns the module whose generated code (gen/go/<module>/...)
// an import path is.
func (a *analyzer) genModule(importPath string) (string, bool) {
	rest, ok := strings.CutPrefix(importPath, a.modPath+"/gen/go/")
	if !ok {
		return "", false
	}

	name, _, _ := strings.Cut(rest, "/")
	_, known := a.modules[name]

	return name, known
}

// collectDeps records the modules that a non-test file of module depends
// on: those whose generated gRPC client it uses (New<Service>Client or the
// <Service>Client interface) and those whose events package it imports.
func (a *analyzer) collectDeps(module string, f *goFile) {
	m := a.modules[module]

	for _, imp := range f.ast.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		if other, ok := a.moduleOf(p); ok && other != module && p == a.eventsPackage(other) {
			m.addDep(Dependency{Module: other, Via: viaEvents}, a.position(imp.Pos()))
		}
	}

	ast.Inspect(f.ast, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}

		p, ok := f.importOf(sel.X)
		if !ok {
			return true
		}

		if other, ok := a.genModule(p); ok && other != module {
			if svc, ok := a.clientService(other, sel.Sel.Name); ok {
				m.addDep(Dependency{Module: other, Via: "gRPC " + svc}, a.position(sel.Pos()))
			}
		}

		return true
	})
}

// clientService returns the gRPC service whose client ident names in the
// generated code of module.
func (a *analyzer) clientService(module, ident string) (string, bool) {
	for _, svc := range a.services[module] {
		short := svc[strings.LastIndex(svc, ".")+1:]
		if ident == "New"+short+"Client" || ident == short+"Client" {
			return svc, true
		}
	}

	if m := newClientRE.FindStringSubmatch(ident); m != nil {
		return m[1], true
	}

	return "", false
}

func (m *moduleInfo) addDep(d Dependency, pos Position) {
	if first, ok := m.deps[d]; !ok || pos.before(first) {
		m.deps[d] = pos
	}
}

// dependencies lists the dependencies sorted by module, then reason.
func (m *moduleInfo) dependencies() []Dependency {
	var deps []Dependency
	for d, pos := range m.deps {
		d.Pos = pos
		deps = append(deps, d)
	}

	slices.SortFunc(deps, func(d, e Dependency) int {
		if c := strings.Compare(d.Module, e.Module); c != 0 {
			return c
		}

		return strings.Compare(d.Via, e.Via)
	})

	return deps
}
