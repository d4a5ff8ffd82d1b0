package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// KeyError reports a value that could not be used. Key is the environment
// variable name, also for values that came from YAML, and Source the layer
// the value came from ("" when unknown).
type KeyError struct {
	Key    string
	Source Source
	Err    error
}

func (e *KeyError) Error() string {
	if e.Source == "" {
		return fmt.Sprintf("config: %s: %v", e.Key, e.Err)
	}

	return fmt.Sprintf("config: %s (%s): %v", e.Key, e.Source, e.Err)
}

func (e *KeyError) Unwrap() error { return e.Err }

var durationType = reflect.TypeFor[time.Duration]()

// field is one settable struct field and its tags.
type field struct {
	yamlKey    string // "" = not read from YAML
	envKey     string
	def        string
	prodDef    string
	hasProdDef bool
	secret     string // "", "true" or "dsn"
	value      reflect.Value
}

// Load fills dst, a pointer to a struct, from the layers. section "" reads
// top-level YAML keys; section "events" reads the keys nested under a
// top-level events: mapping. It returns one Entry per field, in field order, and a
// Warning per unknown YAML key in the section. Every value that does not
// parse is reported, joined, as a *KeyError.
func (l *Layers) Load(section string, dst any) (Report, error) {
	fields, err := fieldsOf(dst)
	if err != nil {
		return Report{}, err
	}

	node, err := l.section(section)
	if err != nil {
		return Report{}, err
	}

	report := Report{Warnings: l.unknownKeys(section, node, fields)}
	prod := l.Env() == envProd

	var errs []error

	for _, f := range fields {
		src, err := l.assign(f, node, prod)
		if err != nil {
			errs = append(errs, &KeyError{Key: f.envKey, Source: src, Err: err})
			continue
		}

		report.Entries = append(report.Entries, Entry{Key: f.envKey, Value: display(f), Source: src})
	}

	if len(errs) > 0 {
		return Report{}, errors.Join(errs...)
	}

	return report, nil
}

// LoadModule is Load for a module's own section: every environment
// variable dst names must start with the section's name in upper case
// ("ORDERS_" for orders), so that a module reads its own settings and no
// one else's (JWT_SECRET, DB_DSN, another module's).
func (l *Layers) LoadModule(section string, dst any) (Report, error) {
	fields, err := fieldsOf(dst)
	if err != nil {
		return Report{}, err
	}

	prefix := strings.ToUpper(section) + "_"
	for _, f := range fields {
		if !strings.HasPrefix(f.envKey, prefix) {
			return Report{}, &KeyError{Key: f.envKey, Err: fmt.Errorf("a setting of module %s must be named %s…", section, prefix)}
		}
	}

	return l.Load(section, dst)
}

// EnvPrefixes returns the first word, in lower case, of every environment
// variable that the tags of the structs dst point to name ("jwt" for
// JWT_SECRET): the platform reserves them, so that no module named after
// one can read the platform's settings through LoadModule.
func EnvPrefixes(dst ...any) ([]string, error) {
	var prefixes []string

	for _, d := range dst {
		fields, err := fieldsOf(d)
		if err != nil {
			return nil, err
		}

		for _, f := range fields {
			word, _, _ := strings.Cut(f.envKey, "_")
			if w := strings.ToLower(word); !slices.Contains(prefixes, w) {
				prefixes = append(prefixes, w)
			}
		}
	}

	return prefixes, nil
}

// assign sets f from the highest layer that has a value and returns that
// layer.
func (l *Layers) assign(f field, section *yaml.Node, prod bool) (Source, error) {
	if s := l.getenv(f.envKey); s != "" {
		return SourceEnv, setString(f.value, s)
	}

	if s := l.dotenv[f.envKey]; s != "" {
		return SourceDotenv, setString(f.value, s)
	}

	if f.yamlKey != "" {
		if n := mappingValue(section, f.yamlKey); n != nil && !isNull(n) {
			return SourceYAML, setNode(f.value, n)
		}
	}

	def := f.def
	if prod && f.hasProdDef {
		def = f.prodDef
	}

	if def == "" { // no default: the zero value, whatever the kind
		f.value.SetZero()

		return SourceDefault, nil
	}

	return SourceDefault, setString(f.value, def)
}

// section returns the YAML mapping a Load reads, or nil when there is none.
func (l *Layers) section(name string) (*yaml.Node, error) {
	if name == "" {
		return l.root, nil
	}

	n := mappingValue(l.root, name)
	if n == nil || isNull(n) {
		return nil, nil
	}

	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("config: section %q in %s must be a mapping, got %s", name, l.yamlPath, kindName(n))
	}

	return n, nil
}

// unknownKeys warns about keys of the section that no field reads. At top
// level, keys holding a mapping are other modules' sections.
func (l *Layers) unknownKeys(section string, node *yaml.Node, fields []field) []string {
	if node == nil {
		return nil
	}

	known := make(map[string]bool, len(fields))
	for _, f := range fields {
		known[f.yamlKey] = true
	}

	var warnings []string

	for i := 0; i+1 < len(node.Content); i += 2 {
		key, value := node.Content[i].Value, resolveAlias(node.Content[i+1])
		if known[key] || (section == "" && value.Kind == yaml.MappingNode) {
			continue
		}

		if section != "" {
			key = section + "." + key
		}

		warnings = append(warnings, fmt.Sprintf("unknown key %q in %s", key, l.yamlPath))
	}

	return warnings
}

// fieldsOf lists the exported fields of the struct dst points to. Untagged or
// unsupported fields are programmer errors.
func fieldsOf(dst any) ([]field, error) {
	v := reflect.ValueOf(dst)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("config: Load needs a non-nil pointer to a struct, got %T", dst)
	}

	v = v.Elem()
	fields := make([]field, 0, v.NumField())

	for i := range v.NumField() {
		sf := v.Type().Field(i)
		if !sf.IsExported() {
			continue
		}

		f, err := newField(sf, v.Field(i))
		if err != nil {
			return nil, fmt.Errorf("config: field %s.%s: %w", v.Type().Name(), sf.Name, err)
		}

		fields = append(fields, f)
	}

	return fields, nil
}

func newField(sf reflect.StructField, v reflect.Value) (field, error) {
	f := field{envKey: sf.Tag.Get("env"), def: sf.Tag.Get("default"), secret: sf.Tag.Get("secret"), value: v}
	f.prodDef, f.hasProdDef = sf.Tag.Lookup("proddefault")

	if yamlKey, _, _ := strings.Cut(sf.Tag.Get("yaml"), ","); yamlKey != "-" {
		f.yamlKey = yamlKey
	}

	switch {
	case f.envKey == "":
		return field{}, errors.New("missing env tag")
	case f.secret != "" && f.secret != "true" && f.secret != "dsn":
		return field{}, fmt.Errorf(`secret tag must be "true" or "dsn", got %q`, f.secret)
	case !supported(sf.Type):
		return field{}, fmt.Errorf("unsupported type %s", sf.Type)
	}

	return f, nil
}

func supported(t reflect.Type) bool {
	if t == durationType {
		return true
	}

	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int32, reflect.Int64, reflect.Float64:
		return true
	case reflect.Slice:
		return t.Elem().Kind() == reflect.String
	default:
		return false
	}
}

// setString parses s, a value from the environment, .env, a YAML scalar or a
// default, into v.
func setString(v reflect.Value, s string) error {
	if v.Type() == durationType {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("invalid duration %q", s)
		}

		v.SetInt(int64(d))

		return nil
	}

	switch v.Kind() {
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("invalid boolean %q", s)
		}

		v.SetBool(b)
	case reflect.Int, reflect.Int32, reflect.Int64:
		return setInt(v, s)
	case reflect.Float64:
		x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return fmt.Errorf("invalid number %q", s)
		}

		v.SetFloat(x)
	case reflect.Slice:
		setList(v, strings.Split(s, ","))
	default: // reflect.String; fieldsOf rejected the rest
		v.SetString(s)
	}

	return nil
}

func setInt(v reflect.Value, s string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, v.Type().Bits())
	if errors.Is(err, strconv.ErrRange) {
		return fmt.Errorf("integer out of range %q", s)
	}

	if err != nil {
		return fmt.Errorf("invalid integer %q", s)
	}

	v.SetInt(n)

	return nil
}

// setList trims the items and drops blank ones; no items leaves a nil slice.
func setList(v reflect.Value, items []string) {
	var list []string

	for _, item := range items {
		if item = strings.TrimSpace(item); item != "" {
			list = append(list, item)
		}
	}

	v.Set(reflect.ValueOf(list).Convert(v.Type()))
}

// setNode sets v from a YAML value: a scalar parses like an environment
// string; a list fills a []string.
func setNode(v reflect.Value, n *yaml.Node) error {
	switch {
	case n.Kind == yaml.ScalarNode:
		return setString(v, n.Value)
	case n.Kind == yaml.SequenceNode && v.Kind() == reflect.Slice:
		items := make([]string, 0, len(n.Content))

		for _, item := range n.Content {
			item = resolveAlias(item)
			if item.Kind != yaml.ScalarNode {
				return fmt.Errorf("expected a list of strings, got %s in the list", kindName(item))
			}

			if !isNull(item) {
				items = append(items, item.Value)
			}
		}

		setList(v, items)

		return nil
	case v.Kind() == reflect.Slice:
		return fmt.Errorf("expected a list or a comma-separated string, got %s", kindName(n))
	default:
		return fmt.Errorf("expected a scalar, got %s", kindName(n))
	}
}
