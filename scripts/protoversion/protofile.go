package main

import (
	"fmt"
	"regexp"
	"strings"
)

// segmentKind tells code from comments and string literals in a .proto
// file, because each is rewritten by its own rules.
type segmentKind int

const (
	code segmentKind = iota
	comment
	str // a string literal, quotes included
)

// segment is a run of one kind of text; a file is the concatenation of its
// segments.
type segment struct {
	kind segmentKind
	text string
}

// scan splits a .proto source into code, comments and string literals. It
// never fails: an unterminated comment or string runs to the end.
func scan(src string) []segment {
	var out []segment

	start := 0
	flush := func(end int) {
		if end > start {
			out = append(out, segment{code, src[start:end]})
		}
	}

	for i := 0; i < len(src); {
		end, kind := literalEnd(src, i)
		if end == i {
			i++

			continue
		}

		flush(i)
		out = append(out, segment{kind, src[i:end]})
		i, start = end, end
	}

	flush(len(src))

	return out
}

// literalEnd returns where the comment or string starting at i ends, or i
// when none starts there.
func literalEnd(src string, i int) (int, segmentKind) {
	rest := src[i:]

	switch {
	case strings.HasPrefix(rest, "//") || strings.HasPrefix(rest, "/*"):
		return i + commentLen(rest), comment
	case rest[0] == '"' || rest[0] == '\'':
		return i + stringLen(rest), str
	default:
		return i, code
	}
}

// commentLen returns the length of the comment that s starts with: a line
// comment without its newline, a block comment with its "*/" (all of s
// when it is not terminated).
func commentLen(s string) int {
	closer, keep := "\n", 0
	if strings.HasPrefix(s, "/*") {
		closer, keep = "*/", len("*/")
	}

	n := strings.Index(s[2:], closer)
	if n < 0 {
		return len(s)
	}

	return 2 + n + keep
}

// stringLen returns the length of the string literal that s starts with,
// quotes included (all of s when it is not terminated).
func stringLen(s string) int {
	for j := 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case s[0]:
			return j + 1
		}
	}

	return len(s)
}

// protoFile is what the generator needs to know of a .proto file.
type protoFile struct {
	name      string // base name, e.g. auth.proto
	src       string
	pkg       string // proto package, e.g. auth.v1
	goPackage string // go_package option, e.g. github.com/x/gen/go/auth/v1;authv1
	services  []service
}

type service struct {
	name string
	http bool // some method has a google.api.http binding: the gateway serves it
	rpcs []rpc
}

type rpc struct {
	name      string
	req, resp string // message names as written, e.g. RequestLoginRequest or google.protobuf.Empty
	streaming bool
}

var (
	packageRE    = regexp.MustCompile(`\bpackage\s+([\w.]+)\s*;`)
	serviceRE    = regexp.MustCompile(`\bservice\s+(\w+)\s*\{`)
	rpcRE        = regexp.MustCompile(`\brpc\s+(\w+)\s*\(\s*(stream\s+)?([\w.]+)\s*\)\s*returns\s*\(\s*(stream\s+)?([\w.]+)\s*\)`)
	goPackageRE  = regexp.MustCompile(`\bgo_package\s*=\s*$`)
	importRE     = regexp.MustCompile(`\bimport\s+(?:public\s+|weak\s+)?$`)
	versionKeyRE = regexp.MustCompile(`\bversion\s*:\s*$`)
	textKeyRE    = regexp.MustCompile(`\b(title|summary|description)\s*:\s*$`)
)

// parseProto reads the package, go_package and services of a .proto file.
func parseProto(name, src string) (protoFile, error) {
	f := protoFile{name: name, src: src}

	// Code with every string emptied and every comment blanked: braces and
	// keywords in them cannot confuse the expressions below.
	var (
		b    strings.Builder
		prev string // the code before a string: the option it sets
	)

	for _, s := range scan(src) {
		switch s.kind {
		case code:
			b.WriteString(s.text)
			prev = s.text
		case comment:
			b.WriteString(" ")
		case str:
			b.WriteString(`""`)

			if goPackageRE.MatchString(prev) {
				f.goPackage = unquote(s.text)
			}
		}
	}

	codeOnly := b.String()

	m := packageRE.FindStringSubmatch(codeOnly)
	if m == nil {
		return f, fmt.Errorf("%s: %w", name, errNoPackage)
	}

	f.pkg = m[1]
	f.services = parseServices(codeOnly)

	return f, nil
}

func parseServices(codeOnly string) []service {
	var out []service

	for _, loc := range serviceRE.FindAllStringSubmatchIndex(codeOnly, -1) {
		body := block(codeOnly, loc[1])
		s := service{name: codeOnly[loc[2]:loc[3]], http: strings.Contains(body, "google.api.http")}

		for _, m := range rpcRE.FindAllStringSubmatch(body, -1) {
			s.rpcs = append(s.rpcs, rpc{name: m[1], req: m[3], resp: m[5], streaming: m[2] != "" || m[4] != ""})
		}

		out = append(out, s)
	}

	return out
}

// block returns the text from start up to the brace that closes the one
// just before start.
func block(s string, start int) string {
	depth := 1

	for i := start; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return s[start:i]
			}
		}
	}

	return s[start:]
}

// unquote strips the quotes of a string literal; the literals it is used
// on (go_package) have no escapes.
func unquote(lit string) string {
	if len(lit) >= 2 {
		return lit[1 : len(lit)-1]
	}

	return ""
}

// rename says how a version's files become the next version's.
type rename struct {
	module         string // auth
	oldVer, newVer string // v1, v2
	oldPkg, newPkg string // auth.v1, auth.v2 (proto packages)

	pkgRE, verRE *regexp.Regexp // set by rewrite
}

// rewrite returns src with every version-specific part renamed: the proto
// package wherever it appears, go_package, imports of the module's own
// files of that version, URL path segments (google.api.http rules, texts
// such as OpenAPI descriptions), the OpenAPI info version, and the version
// named in comments and in OpenAPI titles, summaries and descriptions.
// Other strings are left alone: a pattern or an example value is data.
func rewrite(src string, r rename) string {
	r.pkgRE = regexp.MustCompile(`(^|[^\w])` + regexp.QuoteMeta(r.oldPkg) + `\b`)
	r.verRE = regexp.MustCompile(`\b` + regexp.QuoteMeta(r.oldVer) + `\b`)

	var (
		b    strings.Builder
		prev string
	)

	for _, s := range scan(src) {
		text := s.text

		switch s.kind {
		case code:
			text = r.pkgRE.ReplaceAllString(text, "${1}"+r.newPkg)
			prev = s.text
		case comment:
			text = r.prose(text)
		case str:
			text = text[:1] + r.literal(prev, text[1:len(text)-1]) + text[len(text)-1:]
		}

		b.WriteString(text)
	}

	return b.String()
}

// prose renames the package and the version in text meant for people.
func (r rename) prose(s string) string {
	return r.verRE.ReplaceAllString(r.pkgRE.ReplaceAllString(s, "${1}"+r.newPkg), r.newVer)
}

// literal rewrites the inside of a string literal that follows the code prev.
func (r rename) literal(prev, s string) string {
	switch {
	case goPackageRE.MatchString(prev):
		return r.goPackage(s)
	case importRE.MatchString(prev):
		if rest, ok := strings.CutPrefix(s, r.module+"/"+r.oldVer+"/"); ok {
			return r.module + "/" + r.newVer + "/" + rest
		}

		return s
	case versionKeyRE.MatchString(prev):
		if v, ok := r.infoVersion(s); ok {
			return v
		}

		return s
	case textKeyRE.MatchString(prev):
		return r.prose(s)
	default:
		s = r.pkgRE.ReplaceAllString(s, "${1}"+r.newPkg)
		s = strings.ReplaceAll(s, "/"+r.oldVer+"/", "/"+r.newVer+"/")

		if rest, ok := strings.CutSuffix(s, "/"+r.oldVer); ok {
			s = rest + "/" + r.newVer
		}

		return s
	}
}

// goPackage renames the last path element and the package name of a
// go_package value: ".../gen/go/auth/v1;authv1" becomes ".../auth/v2;authv2".
func (r rename) goPackage(s string) string {
	path, name, hasName := strings.Cut(s, ";")
	if rest, ok := strings.CutSuffix(path, "/"+r.oldVer); ok {
		path = rest + "/" + r.newVer
	}

	if !hasName {
		return path
	}

	if rest, ok := strings.CutSuffix(name, r.oldVer); ok {
		name = rest + r.newVer
	}

	return path + ";" + name
}

var (
	infoVersionRE = regexp.MustCompile(`^(v?)(\d+)((?:\.\d+)*)$`)
	numberRE      = regexp.MustCompile(`\d+`)
)

// infoVersion moves an OpenAPI info version of the old major version to the
// new one: with v1 to v2, "1.0" becomes "2.0", "v1" "v2", "1.2.3" "2.0.0".
// It reports false for any other text.
func (r rename) infoVersion(s string) (string, bool) {
	m := infoVersionRE.FindStringSubmatch(s)
	if m == nil || "v"+m[2] != r.oldVer {
		return "", false
	}

	return m[1] + strings.TrimPrefix(r.newVer, "v") + numberRE.ReplaceAllString(m[3], "0"), true
}
