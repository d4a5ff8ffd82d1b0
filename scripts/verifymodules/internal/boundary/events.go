package boundary

import (
	"go/ast"
	"go/token"
	"iter"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// eventNameRE matches the value of an event-name constant: dotted lower-case
// words, as in user.created or auth.session_revoked.
var eventNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)

// constRef names a package-level constant.
type constRef struct {
	importPath string
	name       string
}

// useKind says what a piece of code does with an event name.
type useKind int

const (
	usePublish   useKind = iota // any other use: the code publishes the event
	useSubscribe                // an argument of a call named Subscribe
	useCompare                  // an operand of == or !=, or a switch case
	useRoute                    // the Event field of a platform package's struct literal
)

// eventUse is one use of an event name in a file.
type eventUse struct {
	event  string
	kind   useKind
	target string // for useRoute: the platform package, e.g. internal/websocket
}

// platformEvents is the directory of the platform's event bus, which
// defines the platform's event names.
const platformEvents = "internal/events"

// loadEvents reads the event-name constants of the platform's events
// package and of every module's events package.
func (a *analyzer) loadEvents() error {
	dirs := []string{platformEvents}
	for _, name := range a.names {
		dirs = append(dirs, "modules/"+name+"/events")
	}

	for _, dir := range dirs {
		files, err := walkFiles(a.fsys, dir, ".go")
		if err != nil {
			return err
		}

		for _, p := range files {
			if path.Dir(p) != dir || strings.HasSuffix(p, "_test.go") {
				continue
			}

			f, err := a.parseGo(p)
			if err != nil {
				return err
			}

			a.addEventConsts(a.modPath+"/"+dir, f.ast)
		}
	}

	return nil
}

// addEventConsts records the event names a package declares: exported
// string constants whose name ends in Event or whose value is dotted
// lower-case words.
func (a *analyzer) addEventConsts(importPath string, f *ast.File) {
	for id, value := range stringConsts(f) {
		if id.IsExported() && (strings.HasSuffix(id.Name, "Event") || eventNameRE.MatchString(value)) {
			a.events[constRef{importPath, id.Name}] = value
		}
	}
}

// stringConsts yields the package-level constants of f whose value is a
// string literal.
func stringConsts(f *ast.File) iter.Seq2[*ast.Ident, string] {
	return func(yield func(*ast.Ident, string) bool) {
		for _, decl := range f.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.CONST {
				continue
			}

			for _, spec := range gen.Specs {
				if !yieldStringConsts(spec, yield) {
					return
				}
			}
		}
	}
}

func yieldStringConsts(spec ast.Spec, yield func(*ast.Ident, string) bool) bool {
	vs, ok := spec.(*ast.ValueSpec)
	if !ok {
		return true
	}

	for i, id := range vs.Names {
		if i >= len(vs.Values) {
			break
		}

		if value, ok := stringLit(vs.Values[i]); ok && !yield(id, value) {
			return false
		}
	}

	return true
}

// stringLit returns the value of a string literal.
func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}

	s, err := strconv.Unquote(lit.Value)

	return s, err == nil
}

// eventUses finds the event names a file uses and how, and whether it
// subscribes to an event whose name is only known at run time.
func (a *analyzer) eventUses(f *goFile) (uses []eventUse, dynamic bool) {
	var stack []ast.Node

	ast.Inspect(f.ast, func(n ast.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]

			return false
		}

		switch n := n.(type) {
		case *ast.SelectorExpr:
			if event, ok := a.eventConst(f, n); ok {
				uses = append(uses, a.classify(f, n, event, stack))
			}
		case *ast.CallExpr:
			use, ok, dyn := a.subscribeLiteral(f, n)
			if ok {
				uses = append(uses, use)
			}

			dynamic = dynamic || dyn
		case *ast.CompositeLit:
			if use, ok := a.publishLiteral(f, n); ok {
				uses = append(uses, use)
			}
		}

		stack = append(stack, n)

		return true
	})

	return uses, dynamic
}

// eventConst returns the event name that sel refers to, if it is an
// event-name constant.
func (a *analyzer) eventConst(f *goFile, sel *ast.SelectorExpr) (string, bool) {
	p, ok := f.importOf(sel.X)
	if !ok {
		return "", false
	}

	event, ok := a.events[constRef{p, sel.Sel.Name}]

	return event, ok
}

// classify says how the code around an event-name constant uses it;
// parents are its enclosing nodes, innermost last.
func (a *analyzer) classify(f *goFile, sel *ast.SelectorExpr, event string, parents []ast.Node) eventUse {
	use := eventUse{event: event, kind: usePublish}
	if len(parents) == 0 {
		return use
	}

	switch p := parents[len(parents)-1].(type) {
	case *ast.CallExpr:
		if isSubscribe(p) && p.Fun != sel {
			use.kind = useSubscribe
		}
	case *ast.BinaryExpr, *ast.CaseClause:
		if isComparison(p) {
			use.kind = useCompare
		}
	case *ast.KeyValueExpr:
		if target, ok := a.routeTarget(f, p, parents); ok {
			use.kind, use.target = useRoute, target
		}
	}

	return use
}

// isComparison reports whether n compares its operands for equality: ==,
// != or a switch case.
func isComparison(n ast.Node) bool {
	if b, ok := n.(*ast.BinaryExpr); ok {
		return b.Op == token.EQL || b.Op == token.NEQ
	}

	_, ok := n.(*ast.CaseClause)

	return ok
}

// routeTarget returns the platform package of the struct literal whose
// Event field kv sets, as in websocket.Route{Event: events.X}.
func (a *analyzer) routeTarget(f *goFile, kv *ast.KeyValueExpr, parents []ast.Node) (string, bool) {
	key, ok := kv.Key.(*ast.Ident)
	if !ok || key.Name != "Event" || len(parents) < 2 {
		return "", false
	}

	typ, ok := litType(parents[:len(parents)-1]).(*ast.SelectorExpr)
	if !ok {
		return "", false
	}

	p, ok := f.importOf(typ.X)
	if !ok {
		return "", false
	}

	dir, ok := a.repoDir(p)

	return dir, ok && strings.HasPrefix(dir, "internal/")
}

// litType returns the type of the composite literal innermost in parents,
// also when it is elided inside a slice, array or map literal
// ([]websocket.Route{{Event: ...}}); nil when there is none.
func litType(parents []ast.Node) ast.Expr {
	if len(parents) == 0 {
		return nil
	}

	lit, ok := parents[len(parents)-1].(*ast.CompositeLit)
	if !ok {
		return nil
	}

	if lit.Type != nil {
		return lit.Type
	}

	outer := parents[:len(parents)-1]
	if len(outer) > 0 {
		if _, isValue := outer[len(outer)-1].(*ast.KeyValueExpr); isValue {
			outer = outer[:len(outer)-1]
		}
	}

	return elemType(litType(outer))
}

// elemType returns the element type of an array, slice or map type,
// dereferencing pointers (elided &T{...}).
func elemType(t ast.Expr) ast.Expr {
	var elem ast.Expr

	switch t := t.(type) {
	case *ast.ArrayType:
		elem = t.Elt
	case *ast.MapType:
		elem = t.Value
	default:
		return nil
	}

	if star, ok := elem.(*ast.StarExpr); ok {
		return star.X
	}

	return elem
}

// isSubscribe reports whether call calls a function or method named
// Subscribe (or subscribe).
func isSubscribe(call *ast.CallExpr) bool {
	var name string

	switch fun := call.Fun.(type) {
	case *ast.SelectorExpr:
		name = fun.Sel.Name
	case *ast.Ident:
		name = fun.Name
	default:
		return false
	}

	return strings.EqualFold(name, "subscribe")
}

// subscribeLiteral inspects a bus subscription, Subscribe(subscriber,
// event, handler): ok when the event is a string literal, dynamic when it is
// neither a literal nor an event-name constant.
func (a *analyzer) subscribeLiteral(f *goFile, call *ast.CallExpr) (use eventUse, ok, dynamic bool) {
	if !isSubscribe(call) || len(call.Args) != 3 {
		return eventUse{}, false, false
	}

	if event, ok := stringLit(call.Args[1]); ok {
		return eventUse{event: event, kind: useSubscribe}, true, false
	}

	if sel, ok := call.Args[1].(*ast.SelectorExpr); ok {
		if _, ok := a.eventConst(f, sel); ok {
			return eventUse{}, false, false
		}
	}

	return eventUse{}, false, true
}

// publishLiteral finds events.Event{Name: "literal"}.
func (a *analyzer) publishLiteral(f *goFile, lit *ast.CompositeLit) (eventUse, bool) {
	typ, ok := lit.Type.(*ast.SelectorExpr)
	if !ok || typ.Sel.Name != "Event" {
		return eventUse{}, false
	}

	if p, ok := f.importOf(typ.X); !ok || p != a.modPath+"/"+platformEvents {
		return eventUse{}, false
	}

	for _, elt := range lit.Elts {
		kv, ok := elt.(*ast.KeyValueExpr)
		if !ok {
			continue
		}

		if key, ok := kv.Key.(*ast.Ident); !ok || key.Name != "Name" {
			continue
		}

		if event, ok := stringLit(kv.Value); ok {
			return eventUse{event: event, kind: usePublish}, true
		}
	}

	return eventUse{}, false
}

// collectModuleEvents records what a non-test file of module publishes,
// consumes and routes to platform packages.
func (a *analyzer) collectModuleEvents(module string, f *goFile) {
	m := a.modules[module]
	uses, _ := a.eventUses(f)

	for _, u := range uses {
		switch u.kind {
		case usePublish:
			m.publishes[u.event] = true
		case useSubscribe:
			m.consumes[u.event] = true
		case useRoute:
			a.platformPackage(u.target).consumes[u.event] = true
		case useCompare:
		}
	}
}

func (a *analyzer) platformPackage(dir string) *platformInfo {
	p, ok := a.platform[dir]
	if !ok {
		p = &platformInfo{publishes: set{}, consumes: set{}}
		a.platform[dir] = p
	}

	return p
}
