package boundary

import (
	"maps"
	"regexp"
	"strings"
)

// tokKind is the kind of an SQL token; the scanner keeps only what finding
// schema-qualified names needs.
type tokKind int

const (
	tokName tokKind = iota // an identifier or a quoted identifier
	tokDot
	tokSemicolon
	tokLParen
	tokOther
)

// sqlToken is a token of SQL source.
type sqlToken struct {
	kind   tokKind
	text   string // names: lower-cased unless quoted
	quoted bool
	offset int // in bytes from the start of the source
}

// dollarTagRE matches the delimiter of a dollar-quoted string.
var dollarTagRE = regexp.MustCompile(`^\$([A-Za-z_][A-Za-z0-9_]*)?\$`)

// sqlScanner splits PostgreSQL source into tokens, dropping whitespace,
// comments (-- and nested /* */) and string constants ('...', E'...').
// Dollar-quoted bodies are scanned as code: they hold the SQL of functions.
type sqlScanner struct {
	src  string
	pos  int
	toks []sqlToken
}

func tokenizeSQL(src string) []sqlToken {
	s := &sqlScanner{src: src}
	for s.pos < len(s.src) {
		s.next()
	}

	return s.toks
}

func (s *sqlScanner) next() {
	c, rest := s.src[s.pos], s.src[s.pos:]

	switch {
	case strings.HasPrefix(rest, "--"):
		s.skipLine()
	case strings.HasPrefix(rest, "/*"):
		s.skipBlockComment()
	case c == '\'':
		s.skipString(false)
	case c == '"':
		s.quotedName()
	case c == '$':
		s.dollar()
	case isNameStart(c):
		s.name()
	case c >= '0' && c <= '9':
		s.number()
	default:
		s.punct(c)
	}
}

func (s *sqlScanner) emit(kind tokKind, text string, offset int) {
	s.toks = append(s.toks, sqlToken{kind: kind, text: text, offset: offset})
}

func (s *sqlScanner) skipLine() {
	if i := strings.IndexByte(s.src[s.pos:], '\n'); i >= 0 {
		s.pos += i + 1
	} else {
		s.pos = len(s.src)
	}
}

// skipBlockComment skips a comment, which may nest in PostgreSQL.
func (s *sqlScanner) skipBlockComment() {
	s.pos += 2

	for depth := 1; depth > 0 && s.pos < len(s.src); {
		switch rest := s.src[s.pos:]; {
		case strings.HasPrefix(rest, "/*"):
			depth++
			s.pos += 2
		case strings.HasPrefix(rest, "*/"):
			depth--
			s.pos += 2
		default:
			s.pos++
		}
	}
}

// skipString skips a string constant, in which a doubled quote stands for
// one, and so does a backslash and a quote in an escape string (E'...').
func (s *sqlScanner) skipString(escapes bool) {
	for s.pos++; s.pos < len(s.src); s.pos++ {
		switch c := s.src[s.pos]; {
		case escapes && c == '\\':
			s.pos++
		case c == '\'' && strings.HasPrefix(s.src[s.pos:], "''"):
			s.pos++
		case c == '\'':
			s.pos++

			return
		}
	}
}

// quotedName reads "name", where "" is a quote.
func (s *sqlScanner) quotedName() {
	start := s.pos

	var b strings.Builder

	for s.pos++; s.pos < len(s.src); s.pos++ {
		if c := s.src[s.pos]; c != '"' {
			b.WriteByte(c)

			continue
		}

		if !strings.HasPrefix(s.src[s.pos:], `""`) {
			s.pos++

			break
		}

		b.WriteByte('"')

		s.pos++
	}

	s.toks = append(s.toks, sqlToken{kind: tokName, text: b.String(), quoted: true, offset: start})
}

// dollar skips the delimiter of a dollar-quoted body, or reads a parameter
// ($1).
func (s *sqlScanner) dollar() {
	if tag := dollarTagRE.FindString(s.src[s.pos:]); tag != "" {
		s.pos += len(tag)

		return
	}

	start := s.pos
	for s.pos++; s.pos < len(s.src) && s.src[s.pos] >= '0' && s.src[s.pos] <= '9'; {
		s.pos++
	}

	s.emit(tokOther, s.src[start:s.pos], start)
}

func (s *sqlScanner) name() {
	start := s.pos
	for s.pos < len(s.src) && isNameChar(s.src[s.pos]) {
		s.pos++
	}

	text := s.src[start:s.pos]
	if strings.EqualFold(text, "e") && strings.HasPrefix(s.src[s.pos:], "'") {
		s.skipString(true)

		return
	}

	s.emit(tokName, strings.ToLower(text), start)
}

// number reads a numeric constant, whose dots are not qualifiers.
func (s *sqlScanner) number() {
	start := s.pos
	for s.pos < len(s.src) && (isNameChar(s.src[s.pos]) || s.src[s.pos] == '.') {
		s.pos++
	}

	s.emit(tokOther, s.src[start:s.pos], start)
}

func (s *sqlScanner) punct(c byte) {
	switch c {
	case ' ', '\t', '\n', '\r', '\f', '\v':
	case '.':
		s.emit(tokDot, ".", s.pos)
	case ';':
		s.emit(tokSemicolon, ";", s.pos)
	case '(':
		s.emit(tokLParen, "(", s.pos)
	default:
		s.emit(tokOther, string(c), s.pos)
	}

	s.pos++
}

func isNameStart(c byte) bool {
	return c == '_' || c >= 0x80 || (c|0x20 >= 'a' && c|0x20 <= 'z')
}

func isNameChar(c byte) bool { return isNameStart(c) || c == '$' || (c >= '0' && c <= '9') }

// sqlRef is a schema-qualified name: schema.name.
type sqlRef struct {
	schema string
	name   string
	offset int
}

// qualifiedRefs returns the first two parts of every dotted name (a.b,
// a.b.c). In a table position (FROM a.b) the first part is always a schema;
// elsewhere it is skipped when the statement declares it for its own use: an
// alias, a common table expression, or a table (FROM s.a ... a.col).
func qualifiedRefs(toks []sqlToken) []sqlRef {
	var refs []sqlRef

	for _, stmt := range statements(toks) {
		local := localNames(stmt)

		for i := range stmt {
			if !startsDottedName(stmt, i) || (local[stmt[i].text] && !inTablePosition(stmt, i)) {
				continue
			}

			refs = append(refs, sqlRef{schema: stmt[i].text, name: stmt[i+2].text, offset: stmt[i].offset})
		}
	}

	return refs
}

func statements(toks []sqlToken) [][]sqlToken {
	var stmts [][]sqlToken

	start := 0

	for i, t := range toks {
		if t.kind == tokSemicolon {
			stmts = append(stmts, toks[start:i])
			start = i + 1
		}
	}

	return append(stmts, toks[start:])
}

// startsDottedName reports whether stmt[i] is the first part of a dotted
// name.
func startsDottedName(stmt []sqlToken, i int) bool {
	return i+2 < len(stmt) && stmt[i].kind == tokName && stmt[i+1].kind == tokDot && stmt[i+2].kind == tokName &&
		(i == 0 || stmt[i-1].kind != tokDot)
}

// isKeyword reports whether t is the unquoted keyword kw (lower case).
func (t sqlToken) isKeyword(kw string) bool { return t.kind == tokName && !t.quoted && t.text == kw }

// isKeywordIn reports whether t is an unquoted keyword of kws.
func (t sqlToken) isKeywordIn(kws set) bool { return t.kind == tokName && !t.quoted && kws[t.text] }

// tableClause holds the keywords that a table reference follows, with an
// optional alias after it.
var tableClause = set{"from": true, "join": true, "update": true, "into": true, "using": true}

// tableKeyword holds the keywords that a table name follows.
var tableKeyword = union(tableClause, set{"references": true, "table": true, "truncate": true})

func union(s, t set) set {
	u := maps.Clone(s)
	maps.Copy(u, t)

	return u
}

// inTablePosition reports whether the name at stmt[i] follows a keyword
// that a table name follows (FROM, JOIN, REFERENCES, TABLE, ... [ONLY]).
func inTablePosition(stmt []sqlToken, i int) bool {
	if i > 0 && stmt[i-1].isKeyword("only") {
		i--
	}

	return i > 0 && stmt[i-1].isKeywordIn(tableKeyword)
}

// localNames returns the names a statement declares for its own use.
func localNames(stmt []sqlToken) set {
	local := set{}

	for i, t := range stmt {
		switch {
		case t.isKeyword("as") && i+1 < len(stmt) && stmt[i+1].kind == tokName: // AS alias
			local[stmt[i+1].text] = true
		case isCTEName(stmt, i):
			local[t.text] = true
		case t.isKeywordIn(tableClause):
			for _, name := range tableReference(stmt, i+1) {
				local[name] = true
			}
		}
	}

	return local
}

// isCTEName reports whether stmt[i] names a common table expression:
// name AS ( or name AS [NOT] MATERIALIZED.
func isCTEName(stmt []sqlToken, i int) bool {
	if stmt[i].kind != tokName || i+2 >= len(stmt) || !stmt[i+1].isKeyword("as") {
		return false
	}

	next := stmt[i+2]

	return next.kind == tokLParen || next.isKeyword("materialized") || next.isKeyword("not")
}

// notAlias holds the keywords that may follow a table reference.
var notAlias = set{
	"where": true, "on": true, "using": true, "join": true, "inner": true, "left": true, "right": true,
	"full": true, "cross": true, "natural": true, "lateral": true, "set": true, "values": true,
	"select": true, "default": true, "group": true, "order": true, "limit": true, "offset": true,
	"having": true, "window": true, "union": true, "except": true, "intersect": true, "returning": true,
	"for": true, "fetch": true, "as": true, "tablesample": true, "overriding": true, "only": true,
	"from": true, "with": true,
}

// tableReference returns the names that the table reference starting at
// stmt[i] declares: the table's own name (a in s.a) and its alias, if any
// (FROM auth.users u).
func tableReference(stmt []sqlToken, i int) []string {
	if i < len(stmt) && stmt[i].isKeyword("only") {
		i++
	}

	end := afterName(stmt, i)
	if end < 0 {
		return nil
	}

	names := []string{stmt[end-1].text}
	if end < len(stmt) && stmt[end].kind == tokName && !stmt[end].isKeywordIn(notAlias) {
		names = append(names, stmt[end].text)
	}

	return names
}

// afterName returns the index after the (dotted) name at stmt[i], or -1
// when there is none.
func afterName(stmt []sqlToken, i int) int {
	if i >= len(stmt) || stmt[i].kind != tokName {
		return -1
	}

	i++
	for i+1 < len(stmt) && stmt[i].kind == tokDot && stmt[i+1].kind == tokName {
		i += 2
	}

	return i
}

// lineCol returns the 1-based line and byte column of offset in src.
func lineCol(src string, offset int) (line, col int) {
	before := src[:offset]

	return strings.Count(before, "\n") + 1, offset - strings.LastIndexByte(before, '\n')
}
