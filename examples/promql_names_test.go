package examples

import (
	"slices"
	"strings"
	"testing"
)

// promqlKeywords are the words of PromQL that are not metric names when
// they stand alone: aggregation operators (written before "by (...)" or
// their parenthesised argument), set and comparison operators, modifiers
// and the special numbers.
var promqlKeywords = map[string]bool{
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
	"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
	"limitk": true, "limit_ratio": true,
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"and": true, "or": true, "unless": true, "bool": true, "atan2": true, "offset": true,
	"inf": true, "nan": true,
}

// labelListKeywords are followed by a parenthesised list of label names.
var labelListKeywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

// promqlMetricNames returns the metric names a PromQL expression (or a
// Grafana query: $variables allowed) reads, sorted and without repeats. It
// is a small tokenizer, not a parser: it skips strings, comments, label
// matchers {...}, ranges and subqueries [...], the label lists of by,
// without, on, ignoring, group_left and group_right, function names (a
// word followed by "("), keywords, numbers, durations and $variables.
// What is left are the bare words, which PromQL reads as metric names.
func promqlMetricNames(expr string) []string {
	var names []string

	for i := 0; i < len(expr); {
		if !isWordStart(expr[i]) {
			i = skipNonWord(expr, i)

			continue
		}

		var name string

		i, name = scanWord(expr, i)
		if name != "" {
			names = append(names, name)
		}
	}

	slices.Sort(names)

	return slices.Compact(names)
}

// skipNonWord returns the index past what starts at i when it is not a
// word: a string, a comment, label matchers, a range, a $variable, a number
// or duration (0.5, 1e18, 1.5e-3, 5m, 1h30m), or any other single byte.
func skipNonWord(expr string, i int) int {
	switch expr[i] {
	case '"', '\'', '`':
		return skipString(expr, i)
	case '#':
		if end := strings.IndexByte(expr[i:], '\n'); end >= 0 {
			return i + end
		}

		return len(expr)
	case '{':
		return skipPast(expr, i, '}')
	case '[':
		return skipPast(expr, i, ']')
	case '$':
		return skipWord(expr, i+1)
	}

	if end, ok := skipNumber(expr, i); ok {
		return end
	}

	return i + 1
}

// skipNumber returns the index past the number or duration at i, and
// false if there is none.
func skipNumber(expr string, i int) (int, bool) {
	if !isDigit(expr[i]) && (expr[i] != '.' || i+1 >= len(expr) || !isDigit(expr[i+1])) {
		return i, false
	}

	for i++; i < len(expr) && inNumber(expr, i); {
		i++
	}

	return i, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// inNumber reports whether expr[i] continues the number or duration before
// it: a digit, a letter (unit, exponent, hex), a dot, or the sign of an
// exponent.
func inNumber(expr string, i int) bool {
	c := expr[i]
	sign := (c == '+' || c == '-') && (expr[i-1] == 'e' || expr[i-1] == 'E')

	return isWordByte(c) || c == '.' || sign
}

// scanWord reads the word at i and what follows it; it returns where to go
// on and the word if it is a metric name.
func scanWord(expr string, i int) (next int, name string) {
	end := skipWord(expr, i)
	word := expr[i:end]
	after := skipSpace(expr, end)
	call := after < len(expr) && expr[after] == '('

	switch {
	case call && labelListKeywords[strings.ToLower(word)]:
		return skipPast(expr, after, ')'), ""
	case call, promqlKeywords[strings.ToLower(word)]:
		// A function (its arguments are read on) or a keyword.
		return end, ""
	default:
		return end, word
	}
}

func isWordStart(c byte) bool {
	return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isWordByte(c byte) bool { return isWordStart(c) || isDigit(c) }

func skipWord(s string, i int) int {
	for i < len(s) && isWordByte(s[i]) {
		i++
	}

	return i
}

func skipSpace(s string, i int) int {
	for i < len(s) && strings.IndexByte(" \t\r\n", s[i]) >= 0 {
		i++
	}

	return i
}

// skipString returns the index past the string literal starting at i; a
// backslash escapes the next byte in "..." and '...', not in `...`.
func skipString(s string, i int) int {
	quote := s[i]

	for i++; i < len(s); i++ {
		switch {
		case s[i] == '\\' && quote != '`':
			i++
		case s[i] == quote:
			return i + 1
		}
	}

	return i
}

// skipPast returns the index past the closing byte of the bracket at i,
// skipping strings inside (a label value may hold "}" or "]").
func skipPast(s string, i int, closing byte) int {
	for i++; i < len(s); {
		switch s[i] {
		case '"', '\'', '`':
			i = skipString(s, i)
		case closing:
			return i + 1
		default:
			i++
		}
	}

	return i
}

func TestPromQLMetricNames(t *testing.T) {
	t.Parallel()

	tests := []struct {
		expr string
		want []string
	}{
		{`up`, []string{"up"}},
		{`up{job=~"$job"} == 0`, []string{"up"}},
		{
			`sum by (module) (label_replace(rate(http_request_duration_seconds_count{http_route=~"/v1/.+"}[5m]), "module", "$1", "http_route", "/v1/([^/]+).*"))`,
			[]string{"http_request_duration_seconds_count"},
		},
		{
			"histogram_quantile(0.99, sum by (le, grpc_service) (rate(grpc_server_handling_seconds_bucket{job=~\"$job\"}[$__rate_interval])))",
			[]string{"grpc_server_handling_seconds_bucket"},
		},
		// Aggregation with the clause after the argument; on/ignoring/group_left lists.
		{`sum(rate(a_total[5m])) without (instance) / on (job) group_left (version) go_info`, []string{"a_total", "go_info"}},
		{`a / ignoring (le) b and bool c or d unless e`, []string{"a", "b", "c", "d", "e"}},
		// Recording rule names have colons; numbers, durations, offsets and time().
		{`module:slo_errors:ratio_rate1h > (14.4 * 0.001) offset 1h30m`, []string{"module:slo_errors:ratio_rate1h"}},
		{`time() - process_start_time_seconds`, []string{"process_start_time_seconds"}},
		{`go_gc_gomemlimit_bytes < 1e18 and x > 1.5e-3 and y > .5`, []string{"go_gc_gomemlimit_bytes", "x", "y"}},
		// Strings and matchers holding braces, brackets, words and escaped quotes.
		{`count_values("v{x}", m{a="}[by (z)]", b='q\'r'})`, []string{"m"}},
		{"topk(3, x) # trailing comment naming not_a_metric", []string{"x"}},
		// A subquery, the @ modifier, a repeated name, Inf.
		{`max_over_time(rate(c_total[1m])[1h:5m]) @ end() + c_total > Inf`, []string{"c_total"}},
		{`sum(x) by (le) > bool 2`, []string{"x"}},
	}

	for _, tt := range tests {
		if got := promqlMetricNames(tt.expr); !slices.Equal(got, tt.want) {
			t.Errorf("promqlMetricNames(%q) = %q, want %q", tt.expr, got, tt.want)
		}
	}
}
