package boundary

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
)

var (
	// errNoModule means go.mod declares no module path.
	errNoModule = errors.New("go.mod has no module directive")
	// errParse means a Go file of the repository does not parse.
	errParse = errors.New("parse Go")
)

// analyzer holds what Analyze learns about one repository.
type analyzer struct {
	fsys       fs.FS
	modPath    string // the Go module path, from go.mod
	fset       *token.FileSet
	names      []string // module names, sorted
	modules    map[string]*moduleInfo
	eventTypes map[typeRef]*eventDecl // the event payloads of the modules' events packages
	services   map[string][]string    // module -> fully qualified gRPC services
	schemas    []string               // platform schemas, sorted
	platform   map[string]*platformInfo
	pkgNames   map[string]string  // import path -> package name, for in-repo packages
	parsed     map[string]*goFile // by path, each file parsed once
	found      []Violation
}

// moduleInfo accumulates what the code of one module shows.
type moduleInfo struct {
	publishes set
	consumes  set
	deps      map[Dependency]Position // keyed with a zero Pos; the value is the first place
}

// platformInfo accumulates the events modules route to one platform
// package.
type platformInfo struct {
	consumes set
}

// Analyze reads the repository whose root fsys is (it holds go.mod) and
// returns its modules and their events, the platform packages that modules
// route events to, and every violation.
func Analyze(ctx context.Context, fsys fs.FS) (*Report, error) {
	a, err := newAnalyzer(fsys)
	if err != nil {
		return nil, err
	}

	steps := []func() error{a.loadEvents, a.loadServices, a.scanPlatform}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}

	for _, name := range a.names {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("analyze modules: %w", err)
		}

		if err := a.checkModule(name); err != nil {
			return nil, err
		}
	}

	a.checkCycles()

	return a.report(), nil
}

func newAnalyzer(fsys fs.FS) (*analyzer, error) {
	gomod, err := fs.ReadFile(fsys, "go.mod")
	if err != nil {
		return nil, fmt.Errorf("read go.mod: %w", err)
	}

	modPath, err := modulePath(gomod)
	if err != nil {
		return nil, err
	}

	names, err := subdirs(fsys, "modules")
	if err != nil {
		return nil, err
	}

	a := &analyzer{
		fsys:       fsys,
		modPath:    modPath,
		fset:       token.NewFileSet(),
		names:      names,
		modules:    make(map[string]*moduleInfo, len(names)),
		eventTypes: map[typeRef]*eventDecl{},
		services:   map[string][]string{},
		platform:   map[string]*platformInfo{},
		pkgNames:   map[string]string{},
		parsed:     map[string]*goFile{},
	}
	for _, name := range names {
		a.modules[name] = &moduleInfo{publishes: set{}, consumes: set{}, deps: map[Dependency]Position{}}
	}

	return a, nil
}

// modulePath returns the path the module directive of go.mod declares.
func modulePath(gomod []byte) (string, error) {
	for line := range strings.Lines(string(gomod)) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module")
		if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '\t') {
			continue
		}

		rest, _, _ = strings.Cut(rest, "//")
		rest = strings.TrimSpace(rest)

		if unquoted, err := strconv.Unquote(rest); err == nil {
			return unquoted, nil
		}

		return rest, nil
	}

	return "", errNoModule
}

// subdirs lists the directories in dir that the go tool would not ignore,
// sorted; a missing dir has none.
func subdirs(fsys fs.FS, dir string) ([]string, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}

	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}

	var names []string

	for _, e := range entries {
		if e.IsDir() && !ignoredDir(e.Name()) {
			names = append(names, e.Name())
		}
	}

	return names, nil // ReadDir sorts by name
}

// ignoredDir reports whether the go tool ignores a directory of this name.
func ignoredDir(name string) bool {
	return name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")
}

// walkFiles returns the files under root whose names end in one of exts,
// skipping the directories the go tool ignores.
func walkFiles(fsys fs.FS, root string, exts ...string) ([]string, error) {
	var files []string

	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && p != root && ignoredDir(d.Name()):
			return fs.SkipDir
		case !d.IsDir() && slices.Contains(exts, path.Ext(p)):
			files = append(files, p)
		}

		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}

	if err != nil {
		return nil, fmt.Errorf("walk %s: %w", root, err)
	}

	return files, nil
}

// goFile is a parsed Go source file of the repository.
type goFile struct {
	path      string
	ast       *ast.File
	test      bool
	generated bool
	imports   map[string]string // the name a file uses for a package -> its import path
}

// parseGo parses a Go file of the repository, once.
func (a *analyzer) parseGo(name string) (*goFile, error) {
	if f, ok := a.parsed[name]; ok {
		return f, nil
	}

	src, err := fs.ReadFile(a.fsys, name)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}

	f, err := parser.ParseFile(a.fset, name, src, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", errParse, name, err)
	}

	gf := &goFile{
		path:      name,
		ast:       f,
		test:      strings.HasSuffix(name, "_test.go"),
		generated: ast.IsGenerated(f),
		imports:   map[string]string{},
	}

	for _, imp := range f.Imports {
		p, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			return nil, fmt.Errorf("%s: import %s: %w", a.fset.Position(imp.Pos()), imp.Path.Value, err)
		}

		gf.imports[a.localName(imp, p)] = p
	}

	a.parsed[name] = gf

	return gf, nil
}

// importOf returns the import path of the package x names, if it names one.
func (f *goFile) importOf(x ast.Expr) (string, bool) {
	id, ok := x.(*ast.Ident)
	if !ok {
		return "", false
	}

	p, ok := f.imports[id.Name]

	return p, ok
}

// localName is the name a file refers to an imported package by.
func (a *analyzer) localName(imp *ast.ImportSpec, importPath string) string {
	if imp.Name != nil {
		return imp.Name.Name
	}

	return a.packageName(importPath)
}

// packageName reads the package clause of an in-repo package (generated
// packages are named like authv1, not after their directory); other
// packages are named after the last element of their path.
func (a *analyzer) packageName(importPath string) string {
	if name, ok := a.pkgNames[importPath]; ok {
		return name
	}

	name := path.Base(importPath)

	if dir, ok := a.repoDir(importPath); ok {
		if clause, ok := a.packageClause(dir); ok {
			name = clause
		}
	}

	a.pkgNames[importPath] = name

	return name
}

func (a *analyzer) packageClause(dir string) (string, bool) {
	entries, err := fs.ReadDir(a.fsys, dir)
	if err != nil {
		return "", false
	}

	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || path.Ext(n) != ".go" || strings.HasSuffix(n, "_test.go") {
			continue
		}

		src, err := fs.ReadFile(a.fsys, path.Join(dir, n))
		if err != nil {
			continue
		}

		if f, err := parser.ParseFile(token.NewFileSet(), n, src, parser.PackageClauseOnly); err == nil {
			return f.Name.Name, true
		}
	}

	return "", false
}

// repoDir returns the directory of an import path of this repository.
func (a *analyzer) repoDir(importPath string) (string, bool) {
	if importPath == a.modPath {
		return ".", true
	}

	return strings.CutPrefix(importPath, a.modPath+"/")
}

func (a *analyzer) position(pos token.Pos) Position {
	p := a.fset.Position(pos)

	return Position{File: p.Filename, Line: p.Line, Column: p.Column}
}

func (a *analyzer) violation(pos Position, rule Rule, format string, args ...any) {
	a.found = append(a.found, Violation{Pos: pos, Rule: rule, Message: fmt.Sprintf(format, args...)})
}

// checkModule checks every file of modules/<name>/ and collects what its
// code shows: dependencies, events published and consumed.
func (a *analyzer) checkModule(name string) error {
	files, err := walkFiles(a.fsys, "modules/"+name, ".go", ".sql")
	if err != nil {
		return err
	}

	byDir := map[string][]*goFile{}

	for _, p := range files {
		if path.Ext(p) == ".sql" {
			if err := a.checkSQLFile(name, p); err != nil {
				return err
			}

			continue
		}

		f, err := a.checkGoFile(name, p)
		if err != nil {
			return err
		}

		// Tests may look behind the boundaries to check behaviour (the
		// outbox a publish wrote), and generated code repeats what its
		// sources say.
		if !f.test && !f.generated {
			byDir[path.Dir(p)] = append(byDir[path.Dir(p)], f)
		}
	}

	for _, dir := range slices.Sorted(maps.Keys(byDir)) {
		a.collectModuleEvents(name, a.newPackage(dir, byDir[dir]))
	}

	return nil
}

func (a *analyzer) checkGoFile(module, name string) (*goFile, error) {
	f, err := a.parseGo(name)
	if err != nil {
		return nil, err
	}

	a.checkImports(module, f)

	if !f.test && !f.generated {
		a.collectDeps(module, f)
		a.checkGoSQL(module, f)
	}

	return f, nil
}

// report gathers the findings, sorted.
func (a *analyzer) report() *Report {
	r := &Report{Violations: a.found}

	for _, name := range a.names {
		m := a.modules[name]
		r.Modules = append(r.Modules, Module{
			Name:      name,
			Services:  a.services[name],
			DependsOn: m.dependencies(),
			Events:    a.moduleEvents(name),
			Publishes: m.publishes.sorted(),
			Consumes:  m.consumes.sorted(),
		})
	}

	for _, dir := range slices.Sorted(maps.Keys(a.platform)) {
		r.Platform = append(r.Platform, Subscriber{Package: dir, Consumes: a.platform[dir].consumes.sorted()})
	}

	slices.SortStableFunc(r.Violations, func(v, w Violation) int {
		switch {
		case v.Pos.before(w.Pos):
			return -1
		case w.Pos.before(v.Pos):
			return 1
		default:
			return strings.Compare(string(v.Rule), string(w.Rule))
		}
	})

	return r
}

// moduleEvents lists the event payloads a module declares, by name, each
// with its consumers: modules first, then platform packages.
func (a *analyzer) moduleEvents(module string) []Event {
	var evs []Event

	for _, d := range a.eventTypes {
		if d.module != module {
			continue
		}

		e := d.event
		e.ConsumedBy = slices.SortedFunc(maps.Keys(d.consumers), func(c, o Consumer) int {
			return cmp.Or(compareBool(c.Platform, o.Platform), strings.Compare(c.Name, o.Name),
				strings.Compare(c.Subscriber, o.Subscriber))
		})
		evs = append(evs, e)
	}

	slices.SortFunc(evs, func(e, o Event) int { return cmp.Or(strings.Compare(e.Name, o.Name), strings.Compare(e.Type, o.Type)) })

	return evs
}

// compareBool orders false before true.
func compareBool(x, y bool) int {
	switch {
	case x == y:
		return 0
	case x:
		return 1
	default:
		return -1
	}
}
