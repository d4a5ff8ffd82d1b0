package feature

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/modulith/modulith/internal/errors"
)

// Type is the type of a flag's values.
type Type string

// The flag types, and the Go type of their values.
const (
	TypeBoolean Type = "boolean" // bool
	TypeString  Type = "string"  // string
	TypeInt     Type = "int"     // int64
	TypeFloat   Type = "float"   // float64
)

// Limits of a flag's definition.
const (
	maxDescription = 500
	maxRules       = 50
	maxUserIDs     = 1000
	maxRoles       = 20
	maxIDLen       = 100
	maxStringValue = 4096
	// maxSafeInt is the largest integer a JSON number (a float64) carries
	// exactly: int flags travel as JSON (REST, google.protobuf.Value).
	maxSafeInt = 1<<53 - 1
)

// keyPattern is "<module>.<name>": the module part is a module name
// (registry's rule), the name lowercase words.
var keyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,30}\.[a-z0-9][a-z0-9_.-]{0,62}$`)

// Flag is a feature flag. Its value for a caller is the Value of the first
// of its Rules that matches the caller, else its own Value; a disabled
// flag gives every caller the default that the evaluating code passes.
type Flag struct {
	// Key is "<module>.<name>"; only that module evaluates it.
	Key         string
	Type        Type
	Description string
	Enabled     bool
	// Value is served when no rule matches: bool, string, int64 or
	// float64, as Type says.
	Value any
	Rules []Rule
	// Version counts the flag's changes, from 1.
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
	// UpdatedBy is the actor of the last change.
	UpdatedBy string
}

// Rule gives Value to the callers it matches: every condition it sets
// must hold, and it sets at least one.
type Rule struct {
	UserIDs []string `json:"user_ids,omitempty"`
	Roles   []string `json:"roles,omitempty"`
	// Percentage, when set, admits that share (0 to 100) of user IDs, by a
	// stable hash of the flag's key and the ID (Bucket).
	Percentage *int `json:"percentage,omitempty"`
	Value      any  `json:"value"`
}

// Module returns the module whose namespace key is in: what precedes its
// first dot.
func Module(key string) string {
	module, _, _ := strings.Cut(key, ".")

	return module
}

// Validate checks a definition before it is stored, and returns a
// validation error naming every invalid field. It normalizes the values to
// the flag's Go type (a JSON 3 becomes int64(3) for an int flag).
func (f *Flag) Validate() error {
	var v violations

	v.check(keyPattern.MatchString(f.Key), "flag.key", "must be <module>.<name>: a module name, a dot, then up to 63 of a-z 0-9 _ . - (e.g. orders.create_enabled)")
	v.check(f.Type.valid(), "flag.type", "must be boolean, string, int or float")
	v.check(len(f.Description) <= maxDescription, "flag.description", fmt.Sprintf("must be at most %d characters", maxDescription))
	v.check(len(f.Rules) <= maxRules, "flag.rules", fmt.Sprintf("at most %d rules", maxRules))

	if f.Type.valid() {
		f.Value = v.value(f.Type, f.Value, "flag.value")

		for i := range f.Rules {
			v.rule(f.Type, &f.Rules[i], fmt.Sprintf("flag.rules[%d]", i))
		}
	}

	return v.err()
}

func (t Type) valid() bool {
	return t == TypeBoolean || t == TypeString || t == TypeInt || t == TypeFloat
}

// violations collects the invalid fields of a definition.
type violations []errors.Option

func (v *violations) check(ok bool, field, description string) {
	if !ok {
		*v = append(*v, errors.WithField(field, description))
	}
}

func (v *violations) err() error {
	if len(*v) == 0 {
		return nil
	}

	return errors.Validation("invalid flag", *v...)
}

func (v *violations) rule(t Type, r *Rule, field string) {
	v.check(len(r.UserIDs) > 0 || len(r.Roles) > 0 || r.Percentage != nil, field,
		"must set user_ids, roles or percentage (a rule for everyone is the flag's own value)")
	v.check(len(r.UserIDs) <= maxUserIDs, field+".user_ids", fmt.Sprintf("at most %d", maxUserIDs))
	v.check(len(r.Roles) <= maxRoles, field+".roles", fmt.Sprintf("at most %d", maxRoles))
	v.check(validIDs(r.UserIDs) && validIDs(r.Roles), field, fmt.Sprintf("user IDs and roles must be 1 to %d characters", maxIDLen))
	v.check(r.Percentage == nil || (*r.Percentage >= 0 && *r.Percentage <= 100), field+".percentage", "must be 0 to 100")
	r.Value = v.value(t, r.Value, field+".value")
}

func validIDs(ids []string) bool {
	for _, id := range ids {
		if id == "" || len(id) > maxIDLen {
			return false
		}
	}

	return true
}

// value checks that x is a value of type t and returns it as t's Go type.
func (v *violations) value(t Type, x any, field string) any {
	out, ok := normalize(t, x)
	if !ok {
		v.check(false, field, "must be of type "+string(t)+typeHint(t))
	}

	return out
}

func typeHint(t Type) string {
	switch t {
	case TypeInt:
		return " (a whole number within ±2^53)"
	case TypeString:
		return fmt.Sprintf(" (at most %d bytes)", maxStringValue)
	default:
		return ""
	}
}

// normalize returns x as the Go type of t, when it is a value of t: what
// JSON decoding, protobuf Values and Go code give (float64, json.Number,
// int) all fit.
func normalize(t Type, x any) (any, bool) {
	switch t {
	case TypeBoolean:
		b, ok := x.(bool)

		return b, ok
	case TypeString:
		s, ok := x.(string)

		return s, ok && len(s) <= maxStringValue
	case TypeInt:
		return toInt(x)
	case TypeFloat:
		return toFloat(x)
	default:
		return nil, false
	}
}

func toInt(x any) (any, bool) {
	var n int64

	switch v := x.(type) {
	case int:
		n = int64(v)
	case int64:
		n = v
	case float64:
		if v != math.Trunc(v) || math.Abs(v) > maxSafeInt {
			return nil, false
		}

		n = int64(v)
	case json.Number:
		i, err := v.Int64()
		if err != nil {
			return nil, false
		}

		n = i
	default:
		return nil, false
	}

	return n, n >= -maxSafeInt && n <= maxSafeInt
}

func toFloat(x any) (any, bool) {
	switch v := x.(type) {
	case float64:
		return v, !math.IsNaN(v) && !math.IsInf(v, 0)
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	case json.Number:
		f, err := v.Float64()

		return f, err == nil
	default:
		return nil, false
	}
}

// decodeValue reads a stored JSON value as the Go type of t.
func decodeValue(t Type, raw []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()

	var x any
	if err := d.Decode(&x); err != nil {
		return nil, fmt.Errorf("decode %s value: %w", t, err)
	}

	v, ok := normalize(t, x)
	if !ok {
		return nil, fmt.Errorf("stored value %s is not a %s", raw, t)
	}

	return v, nil
}

// decodeRules reads stored rules, their values as the Go type of t.
func decodeRules(t Type, raw []byte) ([]Rule, error) {
	var stored []struct {
		Rule

		Value json.RawMessage `json:"value"`
	}

	if err := json.Unmarshal(raw, &stored); err != nil {
		return nil, fmt.Errorf("decode rules: %w", err)
	}

	rules := make([]Rule, len(stored))

	for i, s := range stored {
		v, err := decodeValue(t, s.Value)
		if err != nil {
			return nil, fmt.Errorf("rule %d: %w", i+1, err)
		}

		rules[i] = s.Rule
		rules[i].Value = v
	}

	return rules, nil
}
