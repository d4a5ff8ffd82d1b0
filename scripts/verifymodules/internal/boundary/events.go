package boundary

import (
	"go/ast"
	"go/token"
	"go/types"
	"iter"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// platformEvents is the directory of the platform's event bus, whose
// Subscribe subscribes a module to a typed event and whose Event[T] is the
// parameter of a typed handler.
const platformEvents = "internal/events"

// typeRef names a package-level type.
type typeRef struct {
	importPath string
	name       string
}

// eventDecl is an event payload type declared by a module, with what the
// code shows of its consumers.
type eventDecl struct {
	module    string
	event     Event
	consumers map[Consumer]bool
}

// loadEvents reads the event payloads every module's events package
// declares: the struct types with an EventName method that returns a
// string constant.
func (a *analyzer) loadEvents() error {
	for _, name := range a.names {
		pkg, err := a.loadPackage("modules/" + name + "/events")
		if err != nil {
			return err
		}

		a.addEventTypes(name, pkg)
	}

	return nil
}

// addEventTypes records the event payloads of a module's events package.
func (a *analyzer) addEventTypes(module string, pkg *goPackage) {
	names, versions := map[string]ast.Expr{}, map[string]ast.Expr{}

	for _, f := range pkg.files {
		for _, d := range f.ast.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok {
				continue
			}

			switch recv, result := receiverName(fn), returned(fn); {
			case recv == "" || result == nil:
			case fn.Name.Name == "EventName":
				names[recv] = result
			case fn.Name.Name == "EventVersion":
				versions[recv] = result
			}
		}
	}

	for f, ts := range structTypes(pkg) {
		name, ok := pkg.stringValue(names[ts.Name.Name])
		if !ok {
			continue
		}

		version, _ := pkg.intValue(versions[ts.Name.Name])
		st, _ := ts.Type.(*ast.StructType) // structTypes checked it

		a.eventTypes[typeRef{pkg.importPath, ts.Name.Name}] = &eventDecl{
			module: module,
			event: Event{
				Name:    name,
				Version: version,
				Type:    f.ast.Name.Name + "." + ts.Name.Name,
				Fields:  payloadFields(st),
				Pos:     a.position(ts.Pos()),
			},
			consumers: map[Consumer]bool{},
		}
	}
}

// receiverName returns the name of the type a method is declared on, T or
// *T; "" for a function or a method of a generic type.
func receiverName(fn *ast.FuncDecl) string {
	if fn.Recv == nil || len(fn.Recv.List) != 1 {
		return ""
	}

	t := fn.Recv.List[0].Type
	if star, ok := t.(*ast.StarExpr); ok {
		t = star.X
	}

	if id, ok := t.(*ast.Ident); ok {
		return id.Name
	}

	return ""
}

// returned returns the result of a function whose body is one return
// statement of one value.
func returned(fn *ast.FuncDecl) ast.Expr {
	if fn.Body == nil || len(fn.Body.List) != 1 {
		return nil
	}

	ret, ok := fn.Body.List[0].(*ast.ReturnStmt)
	if !ok || len(ret.Results) != 1 {
		return nil
	}

	return ret.Results[0]
}

// structTypes yields the struct types a package declares, with their file.
func structTypes(pkg *goPackage) iter.Seq2[*goFile, *ast.TypeSpec] {
	return func(yield func(*goFile, *ast.TypeSpec) bool) {
		for _, f := range pkg.files {
			for _, d := range f.ast.Decls {
				gen, ok := d.(*ast.GenDecl)
				if !ok || gen.Tok != token.TYPE {
					continue
				}

				for _, spec := range gen.Specs {
					ts, ok := spec.(*ast.TypeSpec)
					if _, isStruct := ts.Type.(*ast.StructType); ok && isStruct && !yield(f, ts) {
						return
					}
				}
			}
		}
	}
}

// payloadFields lists the fields of a payload as the bus encodes them:
// exported fields under their JSON names, sealed fields under their secret
// keys; fields tagged json:"-" without a secret key travel nowhere and are
// left out.
func payloadFields(st *ast.StructType) []Field {
	var fields []Field

	for _, f := range st.Fields.List {
		var tag reflect.StructTag

		if f.Tag != nil {
			unquoted, _ := strconv.Unquote(f.Tag.Value) // the parser checked it
			tag = reflect.StructTag(unquoted)
		}

		typ := types.ExprString(f.Type)

		if len(f.Names) == 0 {
			fields = append(fields, Field{Name: strings.TrimPrefix(typ, "*"), Type: typ, Options: "embedded"})

			continue
		}

		for _, id := range f.Names {
			if field, ok := payloadField(id.Name, typ, tag); ok && id.IsExported() {
				fields = append(fields, field)
			}
		}
	}

	return fields
}

func payloadField(goName, typ string, tag reflect.StructTag) (Field, bool) {
	if key, ok := tag.Lookup("secret"); ok {
		return Field{Name: key, Type: typ, Sealed: true}, true
	}

	json := tag.Get("json")
	if json == "-" {
		return Field{}, false
	}

	name, options, _ := strings.Cut(json, ",")
	if name == "" {
		name = goName
	}

	return Field{Name: name, Type: typ, Options: options}, true
}

// collectModuleEvents records what one package of a module publishes (a
// composite literal of an event payload), consumes (events.Subscribe with
// a handler of events.Event[T], or Subscribe(subscriber, "name", handler)
// on the raw bus) and routes to platform packages (a call of a platform
// function with a handler of T, or with T as a type argument).
func (a *analyzer) collectModuleEvents(module string, pkg *goPackage) {
	m := a.modules[module]

	for _, f := range pkg.files {
		ast.Inspect(f.ast, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CompositeLit:
				if d, ok := a.eventOf(pkg, f, n.Type); ok {
					m.publishes[d.event.Name] = true
				}
			case *ast.CallExpr:
				a.collectCall(module, pkg, f, n)
			}

			return true
		})
	}
}

// collectCall records the events a call of a module subscribes to or
// routes to a platform package.
func (a *analyzer) collectCall(module string, pkg *goPackage, f *goFile, call *ast.CallExpr) {
	fun, typeArgs := splitTypeArgs(call.Fun)

	sel, ok := fun.(*ast.SelectorExpr)
	if !ok {
		return
	}

	p, ok := f.importOf(sel.X)
	if !ok {
		a.collectRawSubscribe(module, pkg, sel, call.Args)

		return
	}

	c, ok := a.consumerOf(module, pkg, p, sel.Sel.Name, call.Args)
	if !ok {
		return
	}

	for _, d := range a.eventsOfCall(pkg, f, typeArgs, call.Args) {
		a.consume(c, d.event.Name)
	}
}

// consumerOf returns who consumes the events that a call of function fn of
// the package at importPath names: the module for events.Subscribe, the
// platform package for a call of any other platform package but the bus and
// the test helpers.
func (a *analyzer) consumerOf(module string, pkg *goPackage, importPath, fn string, args []ast.Expr) (Consumer, bool) {
	switch dir, ok := a.repoDir(importPath); {
	case !ok || !strings.HasPrefix(dir, "internal/") || isTestHelper(dir):
		return Consumer{}, false
	case dir == platformEvents && fn == "Subscribe":
		sub, _ := pkg.stringValue(arg(args, 1))

		return Consumer{Name: module, Subscriber: sub}, true
	case dir == platformEvents:
		return Consumer{}, false
	default:
		return Consumer{Name: dir, Platform: true}, true
	}
}

// collectRawSubscribe records a subscription of the raw bus to an event
// named by a string constant: x.Subscribe(subscriber, "name", handler).
func (a *analyzer) collectRawSubscribe(module string, pkg *goPackage, sel *ast.SelectorExpr, args []ast.Expr) {
	if sel.Sel.Name != "Subscribe" || len(args) != 3 {
		return
	}

	if name, ok := pkg.stringValue(args[1]); ok {
		sub, _ := pkg.stringValue(args[0])
		a.consume(Consumer{Name: module, Subscriber: sub}, name)
	}
}

// consume records that c consumes the event of this name.
func (a *analyzer) consume(c Consumer, name string) {
	if c.Platform {
		a.platformPackage(c.Name).consumes[name] = true
	} else {
		a.modules[c.Name].consumes[name] = true
	}

	for _, d := range a.eventTypes {
		if d.event.Name == name {
			d.consumers[c] = true
		}
	}
}

// isTestHelper reports whether the platform package in dir is a test
// helper (bustest, moduletest): what a module does with it is no route.
func isTestHelper(dir string) bool {
	return strings.HasSuffix(dir[strings.LastIndex(dir, "/")+1:], "test")
}

func arg(args []ast.Expr, i int) ast.Expr {
	if i < len(args) {
		return args[i]
	}

	return nil
}

// splitTypeArgs returns the function a call calls and the type arguments
// it states, as in events.Subscribe[T] or websocket.ToEveryone[T].
func splitTypeArgs(fun ast.Expr) (ast.Expr, []ast.Expr) {
	switch x := fun.(type) {
	case *ast.IndexExpr:
		return x.X, []ast.Expr{x.Index}
	case *ast.IndexListExpr:
		return x.X, x.Indices
	default:
		return fun, nil
	}
}

// eventsOfCall returns the event payloads a call names: its type arguments
// and the parameters of the handlers among its arguments.
func (a *analyzer) eventsOfCall(pkg *goPackage, f *goFile, typeArgs, args []ast.Expr) []*eventDecl {
	var decls []*eventDecl

	for _, t := range typeArgs {
		if d, ok := a.eventOf(pkg, f, t); ok {
			decls = append(decls, d)
		}
	}

	for _, x := range args {
		decls = append(decls, a.handlerEvents(pkg, f, x)...)
	}

	return decls
}

// handlerEvents returns the event payloads that the parameters of a
// handler take, T or events.Event[T]: a function literal, or a function or
// method of the same package named by x (a method value such as c.handle
// is resolved by its name, when every method of that name agrees).
func (a *analyzer) handlerEvents(pkg *goPackage, f *goFile, x ast.Expr) []*eventDecl {
	var candidates []funcDecl

	switch x := x.(type) {
	case *ast.FuncLit:
		return a.paramEvents(pkg, f, x.Type)
	case *ast.Ident:
		candidates = pkg.funcs[x.Name]
	case *ast.SelectorExpr:
		if _, isPackage := f.importOf(x.X); !isPackage {
			candidates = pkg.methods[x.Sel.Name]
		}
	}

	var found [][]*eventDecl
	for _, c := range candidates {
		found = append(found, a.paramEvents(pkg, c.file, c.decl.Type))
	}

	if len(found) == 0 || slices.ContainsFunc(found[1:], func(d []*eventDecl) bool { return !slices.Equal(d, found[0]) }) {
		return nil
	}

	return found[0]
}

// paramEvents returns the event payloads among the parameters of a
// function type, declared in file f of pkg.
func (a *analyzer) paramEvents(pkg *goPackage, f *goFile, ft *ast.FuncType) []*eventDecl {
	var decls []*eventDecl

	for _, field := range ft.Params.List {
		t := field.Type
		if generic, ok := t.(*ast.IndexExpr); ok && a.isTypedEvent(f, generic.X) {
			t = generic.Index
		}

		if d, ok := a.eventOf(pkg, f, t); ok {
			decls = append(decls, d)
		}
	}

	return decls
}

// isTypedEvent reports whether x names internal/events.Event.
func (a *analyzer) isTypedEvent(f *goFile, x ast.Expr) bool {
	sel, ok := x.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "Event" {
		return false
	}

	p, ok := f.importOf(sel.X)

	return ok && p == a.modPath+"/"+platformEvents
}

// eventOf returns the event payload that the type t, in file f of pkg,
// names: T, *T or pkg.T.
func (a *analyzer) eventOf(pkg *goPackage, f *goFile, t ast.Expr) (*eventDecl, bool) {
	if star, ok := t.(*ast.StarExpr); ok {
		t = star.X
	}

	var ref typeRef

	switch t := t.(type) {
	case *ast.Ident:
		ref = typeRef{pkg.importPath, t.Name}
	case *ast.SelectorExpr:
		p, ok := f.importOf(t.X)
		if !ok {
			return nil, false
		}

		ref = typeRef{p, t.Sel.Name}
	default:
		return nil, false
	}

	d, ok := a.eventTypes[ref]

	return d, ok
}

func (a *analyzer) platformPackage(dir string) *platformInfo {
	p, ok := a.platform[dir]
	if !ok {
		p = &platformInfo{consumes: set{}}
		a.platform[dir] = p
	}

	return p
}
