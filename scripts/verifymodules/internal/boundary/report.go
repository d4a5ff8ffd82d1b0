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
	// RulePlatform: the platform (the packages under internal/ and
	// cmd/server/, tests and the composition root cmd/server/main.go
	// excepted) imports nothing under modules/ and has no string literal
	// that names a module.
	RulePlatform Rule = "platform-names-module"
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
	Events    []Event  // the payloads its events package declares, by name
	Publishes []string // event names
	Consumes  []string // event names
}

// Event is a typed event payload that a module declares in its events
// package (modules/<module>/events).
type Event struct {
	Name       string // what EventName returns, e.g. order.created
	Version    int    // what EventVersion returns; 0 when it is not a constant
	Type       string // the Go type, e.g. events.OrderCreated
	Fields     []Field
	ConsumedBy []Consumer
	Pos        Position // the type's declaration
}

// Field is a field of an event payload.
type Field struct {
	Name    string // the JSON name, or for a sealed field its secret key
	Type    string // the Go type as declared, e.g. time.Time
	Sealed  bool   // tagged json:"-" secret:"<key>": travels in the event's secrets
	Options string // the options of the json tag, e.g. omitempty
}

// Consumer is a module or platform package that handles an event.
type Consumer struct {
	Name       string // a module, or a platform package such as internal/websocket
	Platform   bool
	Subscriber string // the bus subscriber name, when the code states it
}

// Dependency is one reason a module depends on another.
type Dependency struct {
	Module string
	Via    string   // "gRPC <service>" or "events package"
	Pos    Position // the first place in the code that shows it
}

// Subscriber is a platform package (under internal/) that handles events
// because a module routes them to it (websocket.ToUser(func(e T) ...)).
type Subscriber struct {
	Package  string // e.g. internal/websocket
	Consumes []string
}

// set is a set of names.
type set map[string]bool

func (s set) sorted() []string { return slices.Sorted(maps.Keys(s)) }
