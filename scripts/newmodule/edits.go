package main

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The edits of sqlc.yaml and modules/modules.go. Each is precise
// (it touches only the lines of its module, so that concurrent edits of the
// same files merge), idempotent, and its removal is the exact inverse of its
// addition. Each fails, saying what to do by hand, when the file no longer
// has the shape it expects.

// errShape reports a file that does not look as expected.
var errShape = errors.New("unexpected shape")

// sqlcNames returns the names of the entries of sqlc.yaml's sql list.
func sqlcNames(src []byte) ([]string, error) {
	var doc struct {
		SQL []struct {
			Name string `yaml:"name"`
		} `yaml:"sql"`
	}

	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}

	names := make([]string, len(doc.SQL))
	for i, e := range doc.SQL {
		names[i] = e.Name
	}

	return names, nil
}

// sqlBlock returns the lines of src and the range [start, end) of the
// lines of the top-level sql: list, end being after its last indented line.
func sqlBlock(src []byte) (lines []string, start, end int, err error) {
	lines = strings.SplitAfter(string(src), "\n")

	start = slices.IndexFunc(lines, func(l string) bool { return strings.TrimRight(l, " \r\n") == "sql:" })
	if start < 0 {
		return nil, 0, 0, fmt.Errorf("%w: no top-level sql: key", errShape)
	}

	end = start + 1
	for i := start + 1; i < len(lines); i++ {
		l := lines[i]
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			continue
		}

		if l[0] != ' ' && l[0] != '-' {
			break
		}

		end = i + 1
	}

	return lines, start, end, nil
}

// addSQLCEntry appends entry (the lines of one item of the sql list,
// indented by two spaces) to the sql list of sqlc.yaml, unless an entry
// named name exists.
func addSQLCEntry(src []byte, name string, entry []byte) ([]byte, error) {
	before, err := sqlcNames(src)
	if err != nil {
		return nil, err
	}

	if slices.Contains(before, name) {
		return src, nil
	}

	lines, _, end, err := sqlBlock(src)
	if err != nil {
		return nil, err
	}

	if !strings.HasSuffix(lines[end-1], "\n") {
		lines[end-1] += "\n"
	}

	out := []byte(strings.Join(lines[:end], "") + string(entry) + strings.Join(lines[end:], ""))

	return out, checkEntries(out, append(before, name), "add the entry "+name+" by hand")
}

// removeSQLCEntry removes the entry named name from the sql list: its
// "- name: <name>" line and the lines indented under it.
func removeSQLCEntry(src []byte, name string) ([]byte, error) {
	before, err := sqlcNames(src)
	if err != nil {
		return nil, err
	}

	if !slices.Contains(before, name) {
		return src, nil
	}

	lines, start, end, err := sqlBlock(src)
	if err != nil {
		return nil, err
	}

	item := regexp.MustCompile(`^( *)- name: ` + regexp.QuoteMeta(name) + ` *\r?\n?$`)

	first := slices.IndexFunc(lines[start:end], item.MatchString)
	if first < 0 {
		return nil, fmt.Errorf("%w: the entry %s does not start with \"- name: %s\"; remove it by hand", errShape, name, name)
	}

	first += start
	indent := len(item.FindStringSubmatch(lines[first])[1])

	last := first + 1
	for last < end && strings.TrimSpace(lines[last]) != "" && indentOf(lines[last]) > indent {
		last++
	}

	out := []byte(strings.Join(lines[:first], "") + strings.Join(lines[last:], ""))
	want := slices.DeleteFunc(slices.Clone(before), func(s string) bool { return s == name })

	return out, checkEntries(out, want, "remove the entry "+name+" by hand")
}

// checkEntries fails unless the edited sqlc.yaml out parses and lists
// exactly the entries want.
func checkEntries(out []byte, want []string, todo string) error {
	got, err := sqlcNames(out)
	if err != nil {
		return fmt.Errorf("%w: the edit broke the file (%w); %s", errShape, err, todo)
	}

	if !slices.Equal(got, want) {
		return fmt.Errorf("%w: the edit left the entries %v, want %v; %s", errShape, got, want, todo)
	}

	return nil
}

func indentOf(l string) int { return len(l) - len(strings.TrimLeft(l, " ")) }

// modulesList finds, in modules/modules.go, the list of modules:
// `return []registry.Module{...}` in func All.
func modulesList(file *ast.File) (*ast.CompositeLit, error) {
	for _, d := range file.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && fn.Name.Name == "All" && fn.Body != nil {
			if lit := returnedModules(fn.Body); lit != nil {
				return lit, nil
			}
		}
	}

	return nil, fmt.Errorf("%w: no `return []registry.Module{...}` in func All", errShape)
}

// returnedModules finds `return []registry.Module{...}` among the
// statements of body.
func returnedModules(body *ast.BlockStmt) *ast.CompositeLit {
	for _, stmt := range body.List {
		if ret, ok := stmt.(*ast.ReturnStmt); ok && len(ret.Results) == 1 {
			if lit, ok := ret.Results[0].(*ast.CompositeLit); ok && isModuleSlice(lit.Type) {
				return lit
			}
		}
	}

	return nil
}

func isModuleSlice(t ast.Expr) bool {
	arr, ok := t.(*ast.ArrayType)
	if !ok || arr.Len != nil {
		return false
	}

	sel, ok := arr.Elt.(*ast.SelectorExpr)
	if !ok {
		return false
	}

	x, ok := sel.X.(*ast.Ident)

	return ok && x.Name == "registry" && sel.Sel.Name == "Module"
}

// moduleValue finds pkg.Module{} among the list's elements.
func moduleValue(lit *ast.CompositeLit, pkg string) ast.Expr {
	for _, e := range lit.Elts {
		value, ok := e.(*ast.CompositeLit)
		if !ok || len(value.Elts) != 0 {
			continue
		}

		if sel, ok := value.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "Module" {
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == pkg {
				return e
			}
		}
	}

	return nil
}

// importSpec finds the import of p.
func importSpec(file *ast.File, p string) *ast.ImportSpec {
	for _, spec := range file.Imports {
		if v, err := strconv.Unquote(spec.Path.Value); err == nil && v == p {
			return spec
		}
	}

	return nil
}

// splice is a replacement of src[from:to].
type splice struct {
	from, to int
	text     string
}

// apply makes the splices (which must not overlap) and gofmts the result.
func apply(src []byte, splices ...splice) ([]byte, error) {
	slices.SortFunc(splices, func(a, b splice) int { return b.from - a.from })

	out := slices.Clone(src)
	for _, s := range splices {
		out = slices.Concat(out[:s.from], []byte(s.text), out[s.to:])
	}

	formatted, err := format.Source(out)
	if err != nil {
		return nil, fmt.Errorf("gofmt after the edit: %w", err)
	}

	return formatted, nil
}

// addModule adds module n to the list of modules in modules/modules.go:
// its import, and n.Module{} at the end of the list.
func addModule(src []byte, n Names) ([]byte, error) {
	fset := token.NewFileSet()

	file, err := parser.ParseFile(fset, modulesPath, src, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}

	lit, err := modulesList(file)
	if err != nil {
		return nil, fmt.Errorf("%w; add %s.Module{} by hand", err, n.Package)
	}

	importPath := n.ModulePath + "/modules/" + n.Name
	spec := importSpec(file, importPath)

	if moduleValue(lit, n.Package) != nil && spec != nil {
		return src, nil // registered already
	}

	if moduleValue(lit, n.Package) != nil || spec != nil {
		return nil, fmt.Errorf("%w: %s is half registered (import or %s.Module{} missing); fix it by hand", errShape, n.Name, n.Package)
	}

	importAt, err := importInsertion(fset, file, n.ModulePath)
	if err != nil {
		return nil, fmt.Errorf("%w; add %s.Module{} by hand", err, n.Package)
	}

	// Before the list's closing brace, on a line of its own: gofmt indents it.
	elemAt := fset.Position(lit.Rbrace).Offset
	elem := n.Package + ".Module{},\n"

	if len(lit.Elts) > 0 && fset.Position(lit.Elts[len(lit.Elts)-1].End()).Line == fset.Position(lit.Rbrace).Line {
		elem = ", " + n.Package + ".Module{}"
	}

	return apply(src,
		splice{from: importAt, to: importAt, text: "\t" + n.ImportName + strconv.Quote(importPath) + "\n"},
		splice{from: elemAt, to: elemAt, text: elem},
	)
}

// importInsertion returns where a module's import line goes: after the
// last import of a module, or of the project, in the parenthesized import
// block (gofmt sorts the group).
func importInsertion(fset *token.FileSet, file *ast.File, modulePath string) (int, error) {
	var block *ast.GenDecl

	for _, d := range file.Decls {
		if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.IMPORT && g.Lparen.IsValid() {
			block = g

			break
		}
	}

	if block == nil || len(block.Specs) == 0 {
		return 0, fmt.Errorf("%w: no parenthesized import block", errShape)
	}

	after := lastImport(block, modulePath+"/modules/")
	if after == nil {
		after = lastImport(block, modulePath+"/")
	}

	if after == nil {
		after = block.Specs[len(block.Specs)-1]
	}

	return lineEnd(fset, after.End()), nil
}

// lastImport is the last import in block whose path starts with prefix.
func lastImport(block *ast.GenDecl, prefix string) ast.Spec {
	var last ast.Spec

	for _, s := range block.Specs {
		if spec, ok := s.(*ast.ImportSpec); ok && strings.HasPrefix(strings.Trim(spec.Path.Value, `"`), prefix) {
			last = s
		}
	}

	return last
}

// lineEnd is the offset just after the newline that ends the line of pos.
func lineEnd(fset *token.FileSet, pos token.Pos) int {
	f := fset.File(pos)
	line := f.Line(pos)

	if line == f.LineCount() {
		return f.Size()
	}

	return f.Offset(f.LineStart(line + 1))
}

// removeModule undoes addModule.
func removeModule(src []byte, n Names) ([]byte, error) {
	fset := token.NewFileSet()

	file, err := parser.ParseFile(fset, modulesPath, src, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}

	lit, err := modulesList(file)
	if err != nil {
		return nil, fmt.Errorf("%w; unadd %s.Module{} by hand", err, n.Package)
	}

	var splices []splice

	if e := moduleValue(lit, n.Package); e != nil {
		splices = append(splices, cut(fset, src, e.Pos(), e.End()))
	}

	if spec := importSpec(file, n.ModulePath+"/modules/"+n.Name); spec != nil {
		splices = append(splices, cut(fset, src, spec.Pos(), spec.End()))
	}

	if len(splices) == 0 {
		return src, nil
	}

	return apply(src, splices...)
}

// cut removes the node at [pos, end): its whole line when it stands alone
// on it (with a trailing comma), else the node and the comma after it.
func cut(fset *token.FileSet, src []byte, pos, end token.Pos) splice {
	from, to := fset.Position(pos).Offset, fset.Position(end).Offset
	if to < len(src) && src[to] == ',' {
		to++
	}

	lineStart := bytes.LastIndexByte(src[:from], '\n') + 1
	rest := bytes.IndexByte(src[to:], '\n')

	if strings.TrimSpace(string(src[lineStart:from])) == "" && rest >= 0 && strings.TrimSpace(string(src[to:to+rest])) == "" {
		return splice{from: lineStart, to: to + rest + 1}
	}

	return splice{from: from, to: to}
}
