package boundary

import (
	"fmt"
	"go/ast"
	"go/token"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
)

// sqlLiteralRE matches a Go string that holds an SQL statement: it starts
// with a statement keyword in upper case, as the project writes SQL. Error
// and log text is lower case by convention, so it never matches.
var sqlLiteralRE = regexp.MustCompile(
	`^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|MERGE|TRUNCATE|COPY|CREATE|ALTER|DROP|LOCK|CALL|DO)\b`)

// checkSQLFile applies RuleSchema to a .sql file of module.
func (a *analyzer) checkSQLFile(module, name string) error {
	src, err := fs.ReadFile(a.fsys, name)
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}

	for _, ref := range qualifiedRefs(tokenizeSQL(string(src))) {
		line, col := lineCol(string(src), ref.offset)
		a.checkRef(module, ref, Position{File: name, Line: line, Column: col})
	}

	return nil
}

// checkGoSQL applies RuleSchema to the SQL statements in the string
// literals of a Go file of module.
func (a *analyzer) checkGoSQL(module string, f *goFile) {
	ast.Inspect(f.ast, func(n ast.Node) bool {
		lit, ok := n.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return true
		}

		value, err := strconv.Unquote(lit.Value)
		if err != nil || !sqlLiteralRE.MatchString(value) {
			return true
		}

		start := a.position(lit.Pos())

		for _, ref := range qualifiedRefs(tokenizeSQL(value)) {
			line, col := lineCol(value, ref.offset)
			pos := Position{File: start.File, Line: start.Line + line - 1, Column: col}

			if line == 1 {
				pos.Column = start.Column + col // after the opening quote
			}

			a.checkRef(module, ref, pos)
		}

		return true
	})
}

// checkRef reports ref when it names a schema module does not own.
func (a *analyzer) checkRef(module string, ref sqlRef, pos Position) {
	switch {
	case ref.schema == module:
	case a.modules[ref.schema] != nil:
		a.violation(pos, RuleSchema,
			"module %s names %s.%s: the schema %s belongs to module %s; call its gRPC API or consume its events",
			module, ref.schema, ref.name, ref.schema, ref.schema)
	case slices.Contains(a.schemas, ref.schema):
		a.violation(pos, RuleSchema,
			"module %s names %s.%s: the schema %s belongs to the platform; use its Go API (the event bus publishes and subscribes)",
			module, ref.schema, ref.name, ref.schema)
	}
}
