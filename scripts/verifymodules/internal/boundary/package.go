package boundary

import (
	"errors"
	"fmt"
	"go/ast"
	"go/token"
	"io/fs"
	"iter"
	"path"
	"strconv"
	"strings"
)

// goPackage is the non-test files of one package of the repository, with
// the declarations that the event analysis resolves names against.
type goPackage struct {
	importPath string
	files      []*goFile
	consts     map[string]ast.Expr   // package-level constants -> their values
	funcs      map[string][]funcDecl // package-level functions by name
	methods    map[string][]funcDecl // methods by name, of any type
}

// funcDecl is a function or method declaration and the file it is in,
// whose imports its signature is read with.
type funcDecl struct {
	file *goFile
	decl *ast.FuncDecl
}

// loadPackage parses the non-test Go files directly in dir; a missing dir
// is an empty package.
func (a *analyzer) loadPackage(dir string) (*goPackage, error) {
	entries, err := fs.ReadDir(a.fsys, dir)
	if errors.Is(err, fs.ErrNotExist) {
		return a.newPackage(dir, nil), nil
	}

	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}

	var files []*goFile

	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".go" || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}

		f, err := a.parseGo(path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}

		files = append(files, f)
	}

	return a.newPackage(dir, files), nil
}

// newPackage indexes the declarations of the files of the package in dir.
func (a *analyzer) newPackage(dir string, files []*goFile) *goPackage {
	pkg := &goPackage{
		importPath: a.modPath + "/" + dir,
		files:      files,
		consts:     map[string]ast.Expr{},
		funcs:      map[string][]funcDecl{},
		methods:    map[string][]funcDecl{},
	}

	for _, f := range files {
		for _, d := range f.ast.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					pkg.funcs[d.Name.Name] = append(pkg.funcs[d.Name.Name], funcDecl{f, d})
				} else {
					pkg.methods[d.Name.Name] = append(pkg.methods[d.Name.Name], funcDecl{f, d})
				}
			case *ast.GenDecl:
				pkg.addConsts(d)
			}
		}
	}

	return pkg
}

func (pkg *goPackage) addConsts(d *ast.GenDecl) {
	for id, value := range constants(d) {
		pkg.consts[id.Name] = value
	}
}

// constants yields the constants a declaration gives a value.
func constants(d *ast.GenDecl) iter.Seq2[*ast.Ident, ast.Expr] {
	return func(yield func(*ast.Ident, ast.Expr) bool) {
		if d.Tok != token.CONST {
			return
		}

		for _, spec := range d.Specs {
			vs, ok := spec.(*ast.ValueSpec)
			if !ok {
				continue
			}

			for i, id := range vs.Names[:min(len(vs.Names), len(vs.Values))] {
				if !yield(id, vs.Values[i]) {
					return
				}
			}
		}
	}
}

// literal returns the literal of kind that x is, or that the package-level
// constant x names is.
func (pkg *goPackage) literal(x ast.Expr, kind token.Token) (string, bool) {
	if id, ok := x.(*ast.Ident); ok {
		x = pkg.consts[id.Name]
	}

	lit, ok := x.(*ast.BasicLit)
	if !ok || lit.Kind != kind {
		return "", false
	}

	return lit.Value, true
}

// stringValue returns the value of a string literal, or of a package-level
// constant whose value is one.
func (pkg *goPackage) stringValue(x ast.Expr) (string, bool) {
	lit, ok := pkg.literal(x, token.STRING)
	if !ok {
		return "", false
	}

	s, err := strconv.Unquote(lit)

	return s, err == nil
}

// intValue returns the value of an integer literal, or of a package-level
// constant whose value is one.
func (pkg *goPackage) intValue(x ast.Expr) (int, bool) {
	lit, ok := pkg.literal(x, token.INT)
	if !ok {
		return 0, false
	}

	n, err := strconv.ParseInt(lit, 0, 0)

	return int(n), err == nil
}
