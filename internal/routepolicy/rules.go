package routepolicy

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/modulith/modulith/internal/ratelimit"
)

// Default is the pattern of the rule for every route no other rule names.
const Default = "default"

// Rules map route patterns to values. A route is a gRPC full method
// without its leading slash ("auth.v1.AuthService/StartSignIn"), which
// names a call alike over gRPC, REST (the gateway) and GraphQL, or the
// path of an HTTP endpoint that is not a gRPC method ("/graphql", "/ws").
// A pattern is a route, a prefix ending in "*" ("auth.v1.AuthService/*",
// "auth.*"), or Default. Match prefers the exact route, then the longest
// prefix, then Default.
type Rules[T any] struct {
	exact    map[string]T
	prefixes []rule[T] // longest first
	def      *rule[T]
}

type rule[T any] struct {
	pattern string
	value   T
}

// Match returns the rule of route: its pattern and value; false when no
// rule applies.
func (r Rules[T]) Match(route string) (pattern string, value T, ok bool) {
	if v, ok := r.exact[route]; ok {
		return route, v, true
	}

	for _, p := range r.prefixes {
		if strings.HasPrefix(route, strings.TrimSuffix(p.pattern, "*")) {
			return p.pattern, p.value, true
		}
	}

	if r.def != nil {
		return r.def.pattern, r.def.value, true
	}

	var zero T

	return "", zero, false
}

// Empty reports whether r has no rule.
func (r Rules[T]) Empty() bool { return len(r.exact) == 0 && len(r.prefixes) == 0 && r.def == nil }

// validPattern is a route, a route prefix followed by "*", or "*" alone:
// the characters of proto names, "/" and the "-" and "_" of paths.
var validPattern = regexp.MustCompile(`^(/?[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]*)*\*?|\*)$`)

// parseRules reads "pattern=value" entries separated by sep, each value
// read by parse.
func parseRules[T any](s, sep string, parse func(string) (T, error)) (Rules[T], error) {
	r := Rules[T]{exact: map[string]T{}}
	seen := map[string]bool{}

	for entry := range strings.SplitSeq(s, sep) {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}

		pattern, text, ok := strings.Cut(entry, "=")
		pattern = strings.TrimSpace(pattern)

		if !ok || (pattern != Default && !validPattern.MatchString(pattern)) {
			return Rules[T]{}, fmt.Errorf("%q is not pattern=value (a pattern is default, a gRPC method "+
				"such as auth.v1.AuthService/StartSignIn, a prefix ending in * such as auth.v1.AuthService/*, or a path such as /graphql)", entry)
		}

		if seen[pattern] {
			return Rules[T]{}, fmt.Errorf("pattern %q is given twice", pattern)
		}

		seen[pattern] = true

		v, err := parse(strings.TrimSpace(text))
		if err != nil {
			return Rules[T]{}, fmt.Errorf("%s: %w", pattern, err)
		}

		r.add(rule[T]{pattern: pattern, value: v})
	}

	slices.SortFunc(r.prefixes, func(a, b rule[T]) int { return cmp.Compare(len(b.pattern), len(a.pattern)) })

	return r, nil
}

func (r *Rules[T]) add(x rule[T]) {
	switch {
	case x.pattern == Default:
		r.def = &x
	case strings.HasSuffix(x.pattern, "*"):
		r.prefixes = append(r.prefixes, x)
	default:
		r.exact[x.pattern] = x.value
	}
}

// Off is the value of a rate-limit rule that lifts every limit from its
// routes.
const Off = "off"

// ParseLimits reads RATE_LIMITS: "pattern=COUNT/UNIT[:BURST]" entries
// separated by commas ("default=100/s,auth.v1.AuthService/*=20/s:5"), or
// "pattern=off". Each rule is a budget per caller, shared by the routes it
// matches. A zero Limit stands for off.
func ParseLimits(s string) (Rules[ratelimit.Limit], error) {
	return parseRules(s, ",", func(v string) (ratelimit.Limit, error) {
		if v == Off {
			return ratelimit.Limit{}, nil
		}

		return ratelimit.ParseLimit(v)
	})
}

// validRole is a role name.
var validRole = regexp.MustCompile(`^[a-z][a-z0-9_\-]{0,63}$`)

// ParseRoles reads ROUTE_ROLES: "pattern=role[|role…]" entries separated
// by commas ("orders.v1.OrdersService/*=admin|support"). A route's caller
// must have one of its rule's roles. Default is refused: it would lock
// sign-in itself.
func ParseRoles(s string) (Rules[[]string], error) {
	r, err := parseRules(s, ",", func(v string) ([]string, error) {
		roles := strings.Split(v, "|")
		for _, role := range roles {
			if !validRole.MatchString(role) {
				return nil, fmt.Errorf("%q is not role[|role…] (lower-case role names)", v)
			}
		}

		return roles, nil
	})
	if err == nil && r.def != nil {
		return Rules[[]string]{}, fmt.Errorf("%q would require a role of every route, sign-in included: name the routes", Default)
	}

	return r, err
}

// validCacheControl is a list of Cache-Control directives: token or
// token=value (RFC 9111 §5.2), separated by commas.
var validCacheControl = regexp.MustCompile(`^[a-z-]+(=[A-Za-z0-9"-]+)?(\s*,\s*[a-z-]+(=[A-Za-z0-9"-]+)?)*$`)

// ParseCacheControl reads HTTP_CACHE_CONTROL: "pattern=directives" entries
// separated by semicolons, since directives are separated by commas
// ("users.v1.UsersService/GetProfile=public, max-age=60").
func ParseCacheControl(s string) (Rules[string], error) {
	return parseRules(s, ";", func(v string) (string, error) {
		if !validCacheControl.MatchString(v) {
			return "", fmt.Errorf("%q is not a list of Cache-Control directives (e.g. public, max-age=60)", v)
		}

		return v, nil
	})
}
