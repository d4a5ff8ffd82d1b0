package boundary

import (
	"fmt"
	"maps"
	"slices"
)

// Rule names a boundary rule.
type Rule string

// The rules that Analyze checks.
const (
	// RuleImport: a module imports only its own packages, the generated code
	// of any module (gen/go/<module>/...), another module's events package
	// (modules/<module>/events) and packages outside modules/ and cmd/.
	RuleImport Rule = "module-import"
	// RuleCycle: the dependencies between modules form no cycle.
	RuleCycle Rule = "module-cycle"
	// RuleSchema: a module's SQL names no other module's schema and no
	// platform schema.
	RuleSchema Rule = "foreign-schema"
)

// Position is a place in a file of the repository.
type Position struct {
	File   string // slash-separated, relative to the repository root
	Line   int
	Column int
}

func (p Position) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column) }

// before orders positions by file, line and column.
func (p Position) before(q Position) bool {
	if p.File != q.File {
		return p.File < q.File
	}

	if p.Line != q.Line {
		return p.Line < q.Line
	}

	return p.Column < q.Column
}

// Violation is one broken rule.
type Violation struct {
	Pos     Position
	Rule    Rule
	Message string
}

func (v Violation) String() string { return fmt.Sprintf("%s: [%s] %s", v.Pos, v.Rule, v.Message) }

// Report is what Analyze found; every list is sorted.
type Report struct {
	Modules    []Module
	Platform   []Subscriber
	Violations []Violation
}

// Module is a business module: modules/<Name>/, which owns the schema Name.
type Module struct {
	Name      string
	Services  []string // fully qualified gRPC services, from proto/<Name>/
	DependsOn []Dependency
	Publishes []string // event names
	Consumes  []string // event names
}

// Dependency is one reason a module depends on another.
type Dependency struct {
	Module string
	Via    string   // "gRPC <service>" or "events package"
	Pos    Position // the first place in the code that shows it
}

// Subscriber is a platform package (under internal/) that handles events.
type Subscriber struct {
	Package   string // e.g. internal/notifier
	Consumes  []string
	Publishes []string
}

// set is a set of names.
type set map[string]bool

func (s set) sorted() []string { return slices.Sorted(maps.Keys(s)) }
