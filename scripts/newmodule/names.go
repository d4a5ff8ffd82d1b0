package main

import (
	"fmt"
	"go/token"
	"hash/crc32"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/modulith/modulith/internal/config"
	"github.com/modulith/modulith/internal/registry"
)

// validName is a module name: lower-case words of letters and digits, each
// starting with a letter, joined by single underscores, at most 31
// characters (the registry's limit, a PostgreSQL schema name).
var validName = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z][a-z0-9]*)*$`)

const maxNameLen = 31

// reservedNames cannot name a module: the platform's own schemas and
// configuration sections; the names of cmd/ and of the list of modules;
// the packages that a file importing the module also imports
// (modules/modules.go, the module's module_test.go and graphql/resolver.go),
// whose names the module's would clash with, and the names of the GraphQL
// root resolver (modules/graphql.go: its imports, its type resolver and a
// variable named after each module); directory names the go command treats
// specially; and PostgreSQL's system schemas.
var reservedNames = []string{
	"auth", "events", "scheduler", "websocket", // schemas and sections of the platform
	"setup", "commands", "server", "worker", "modules", "main", // cmd/ and the list of modules
	"registry", "bytes", "context", "json", "http", "strings", "testing", "time", "cmp", "cmpopts", // imports beside the module's
	"codes", "status", "protocmp", "authz", "bustest", "errors", "moduletest", "pgtest",
	"model", "graphql", "page", "gqlgen", "exec", "resolver", // the module's resolvers and the root's
	"internal", "testdata", "vendor", // directory names the go command treats specially
	"public", "information_schema",
}

// predeclared Go identifiers would shadow the universe scope where the
// module's package is imported.
var predeclared = []string{
	"any", "append", "bool", "byte", "cap", "clear", "close", "comparable", "complex",
	"complex64", "complex128", "copy", "delete", "error", "false", "float32", "float64",
	"imag", "int", "int8", "int16", "int32", "int64", "iota", "len", "make", "max", "min",
	"new", "nil", "panic", "print", "println", "real", "recover", "rune", "string", "true",
	"uint", "uint8", "uint16", "uint32", "uint64", "uintptr",
}

// reservedEntities would collide with the generated repository's own
// methods and those of repo.Base, which it embeds.
var reservedEntities = []string{"WithTx", "Publish", "InTx", "Span", "Q"}

// initialisms are written in upper case in Go identifiers (Go style, and
// what the linter enforces): api_keys gives APIKey, not ApiKey. They are
// gqlgen's too, so that the Go names of the GraphQL models it generates
// (gen/graphql/model) are the entity's: pdf_files gives PDFFile there and
// here.
var initialisms = map[string]bool{
	"acl": true, "api": true, "ascii": true, "aws": true, "cpu": true, "css": true, "csv": true,
	"dns": true, "eof": true, "gcp": true, "guid": true, "html": true, "http": true, "https": true,
	"icmp": true, "id": true, "ip": true, "json": true, "kvk": true, "lhs": true, "pdf": true,
	"pgp": true, "qps": true, "qr": true, "ram": true, "rhs": true, "rpc": true, "sla": true,
	"smtp": true, "sql": true, "ssh": true, "svg": true, "tcp": true, "tls": true, "ttl": true,
	"udp": true, "ui": true, "uid": true, "uri": true, "url": true, "utf8": true, "uuid": true,
	"vm": true, "xml": true, "xmpp": true, "xsrf": true, "xss": true,
}

// sqlReserved are PostgreSQL's reserved key words, which must be quoted to
// name a schema or a table (the module "order" lives in schema "order").
var sqlReserved = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`all analyse analyze and any array as asc asymmetric
		authorization binary both case cast check collate collation column concurrently
		constraint create cross current_catalog current_date current_role current_schema
		current_time current_timestamp current_user default deferrable desc distinct do else
		end except false fetch for foreign freeze from full grant group having ilike in
		initially inner intersect into is isnull join lateral leading left like limit
		localtime localtimestamp natural not notnull null offset on only or order outer
		overlaps placing primary references returning right select session_user similar
		some symmetric system_user table tablesample then to trailing true union unique user
		using variadic verbose when where window with`) {
		sqlReserved[w] = true
	}
}

// Names are the spellings of a module's name that the templates use, e.g.
// for "line_items".
type Names struct {
	ModulePath    string // the Go module: github.com/modulith/modulith
	Name          string // module, schema, proto package, directories: line_items
	Package       string // Go package: lineitems
	Entity        string // Go and proto type: LineItem
	Entities      string // plural, in List<Entities>: LineItems
	EntityField   string // protoc-gen-go's name of the field line_item: LineItem
	EntitiesField string // and of the list field line_items: LineItems
	EntitySnake   string // proto fields and event names: line_item
	EntitiesSnake string // the table and the list field: line_items
	Human         string // in messages and comments: line item
	HumanPlural   string // line items
	Prefix        string // TypeID prefix (letters and underscores only): line_item
	GraphQLField  string // GraphQL fields of one entity: lineItem, apiKey
	GraphQLFields string // and of the list: lineItems, apiKeys, newsList (news: the plural is the singular)
	ListResolver  string // the list's resolver method, as gqlgen names it: LineItems, APIKeys, NewsList
	Env           string // environment variable prefix: LINE_ITEMS
	Schema        string // SQL schema, quoted when reserved: line_items
	Table         string // SQL table: line_items.line_items
	StoreType     string // the row type sqlc generates: LineItemsLineItem
	// ServiceV1 is the module's method that returns the implementation of
	// version 1 of the service, named as scripts/protoversion's apis.go
	// expects: paymentServiceV1, apiKeyServiceV1.
	ServiceV1 string
	// ImportName names the package in an import when it differs from the
	// directory: "lineitems " (with the space), or "".
	ImportName string
	// HTTPPort and GRPCPort serve the module alone (cmd/<name>): derived
	// from the name, so that modules run side by side do not collide.
	HTTPPort, GRPCPort int
}

// NewNames checks name and derives its spellings. modulePath is the Go
// module the generated code lives in.
func NewNames(modulePath, name string) (Names, error) {
	if err := checkName(name); err != nil {
		return Names{}, err
	}

	words := strings.Split(name, "_")
	last := len(words) - 1
	entityWords := slices.Clone(words)
	entityWords[last] = singular(words[last])
	entitiesWords := slices.Clone(words)
	entitiesWords[last] = plural(entityWords[last])

	n := Names{
		ModulePath:    modulePath,
		Name:          name,
		Package:       strings.ReplaceAll(name, "_", ""),
		Entity:        camel(entityWords),
		Entities:      camel(entitiesWords),
		EntityField:   goCamel(strings.Join(entityWords, "_")),
		EntitiesField: goCamel(strings.Join(entitiesWords, "_")),
		EntitySnake:   strings.Join(entityWords, "_"),
		EntitiesSnake: strings.Join(entitiesWords, "_"),
		Human:         strings.Join(entityWords, " "),
		HumanPlural:   strings.Join(entitiesWords, " "),
		Prefix:        typeIDPrefix(entityWords),
		Env:           strings.ToUpper(name),
		Schema:        sqlIdent(name),
	}

	n.GraphQLField, n.GraphQLFields, n.ListResolver = lowerFirstWord(n.Entity), lowerFirstWord(n.Entities), n.Entities
	if n.Entities == n.Entity {
		n.GraphQLFields, n.ListResolver = n.GraphQLFields+"List", n.Entities+"List"
	}

	n.Table = n.Schema + "." + sqlIdent(n.EntitiesSnake)
	n.StoreType = camel(words) + n.Entity
	n.ServiceV1 = lowerFirstWord(n.Entity+"Service") + "V1"
	n.HTTPPort = 8100 + int(crc32.ChecksumIEEE([]byte(name))%900)
	n.GRPCPort = n.HTTPPort + 1000

	if n.Package != name {
		n.ImportName = n.Package + " "
	}

	if slices.Contains(reservedEntities, n.Entity) {
		return Names{}, fmt.Errorf("module name %q: its entity %s would collide with the repository's method %s", name, n.Entity, n.Entity)
	}

	return n, nil
}

// checkName refuses names that are not valid or are reserved.
func checkName(name string) error {
	switch {
	case !validName.MatchString(name):
		return fmt.Errorf("module name %q: use lower-case words of letters and digits, each starting with a letter, "+
			"joined by single underscores (e.g. payments, line_items)", name)
	case len(name) > maxNameLen:
		return fmt.Errorf("module name %q: at most %d characters (it names a PostgreSQL schema)", name, maxNameLen)
	case strings.HasPrefix(name, "pg_"):
		return fmt.Errorf("module name %q: PostgreSQL reserves schema names starting with pg_", name)
	case slices.Contains(configKeys(), name):
		return fmt.Errorf("module name %q is a key of the platform configuration", name)
	case slices.Contains(platformNames(), name):
		return fmt.Errorf("module name %q is reserved by the platform: a module so named would read its settings (%s_…)",
			name, strings.ToUpper(name))
	}

	pkg := strings.ReplaceAll(name, "_", "")
	if slices.Contains(reservedNames, name) || slices.Contains(reservedNames, pkg) {
		return fmt.Errorf("module name %q is reserved by the platform", name)
	}

	if token.IsKeyword(pkg) || slices.Contains(predeclared, pkg) {
		return fmt.Errorf("module name %q: its Go package %s would be a keyword or predeclared identifier", name, pkg)
	}

	return nil
}

// configKeys are the top-level keys of the platform configuration: a module
// named like one would find its configuration section taken.
func configKeys() []string {
	var keys []string

	t := reflect.TypeFor[config.Config]()
	for i := range t.NumField() {
		if key, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); key != "" {
			keys = append(keys, key)
		}
	}

	return keys
}

// platformNames are the names the registry refuses (registry.ReservedNames):
// the platform's schemas and sections, and the first word of its settings.
func platformNames() []string {
	names, err := registry.ReservedNames()
	if err != nil {
		panic("newmodule: " + err.Error()) // the platform's own structs: a bug, caught by its tests
	}

	return names
}

// camel joins words in Go's MixedCaps, initialisms in upper case.
func camel(words []string) string {
	var b strings.Builder

	for _, w := range words {
		if initialisms[w] {
			b.WriteString(strings.ToUpper(w))

			continue
		}

		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}

	return b.String()
}

// goCamel is how protoc-gen-go names the Go field of a snake_case proto
// field (line_item_id gives LineItemId): each letter after an underscore
// and the first letter upper-cased, no initialisms.
func goCamel(snake string) string {
	var b strings.Builder

	upper := true

	for _, c := range snake {
		switch {
		case c == '_':
			upper = true
		case upper && c >= 'a' && c <= 'z':
			b.WriteRune(c - 'a' + 'A')

			upper = false
		default:
			b.WriteRune(c)

			upper = c >= '0' && c <= '9'
		}
	}

	return b.String()
}

// lowerFirstWord lower-cases the first word of a MixedCaps name, an
// initialism included: PaymentService gives paymentService, APIKeyService
// apiKeyService.
func lowerFirstWord(s string) string {
	i := 0
	for i < len(s) && s[i] >= 'A' && s[i] <= 'Z' {
		i++
	}

	if i > 1 && i < len(s) {
		i-- // the last capital starts the next word
	}

	return strings.ToLower(s[:i]) + s[i:]
}

// typeIDPrefix is the entity in snake case without digits, which TypeID
// prefixes may not hold.
func typeIDPrefix(words []string) string {
	parts := make([]string, 0, len(words))

	for _, w := range words {
		w = strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return -1
			}

			return r
		}, w)
		parts = append(parts, w)
	}

	return strings.Join(parts, "_")
}

// sqlIdent quotes a PostgreSQL reserved key word.
func sqlIdent(s string) string {
	if sqlReserved[s] {
		return `"` + s + `"`
	}

	return s
}
