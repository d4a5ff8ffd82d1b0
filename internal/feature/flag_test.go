package feature_test

import (
	"encoding/json"
	stderrors "errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/modulith/modulith/internal/errors"
	"github.com/modulith/modulith/internal/feature"
)

func TestValidate(t *testing.T) {
	t.Parallel()

	valid := func() feature.Flag {
		return feature.Flag{Key: "orders.max_items", Type: feature.TypeInt, Enabled: true, Value: float64(50),
			Rules: []feature.Rule{{Roles: []string{"admin"}, Value: json.Number("100")}}}
	}

	tests := []struct {
		name   string
		mutate func(f *feature.Flag)
		fields []string // invalid fields named, in order; none: valid
	}{
		{name: "valid", mutate: func(*feature.Flag) {}},
		{name: "key without module", mutate: func(f *feature.Flag) { f.Key = "max_items" }, fields: []string{"flag.key"}},
		{name: "key with capitals", mutate: func(f *feature.Flag) { f.Key = "Orders.Max" }, fields: []string{"flag.key"}},
		{name: "no type", mutate: func(f *feature.Flag) { f.Type = "" }, fields: []string{"flag.type"}},
		{name: "value of another type", mutate: func(f *feature.Flag) { f.Value = "fifty" }, fields: []string{"flag.value"}},
		{name: "fractional int", mutate: func(f *feature.Flag) { f.Value = 1.5 }, fields: []string{"flag.value"}},
		{name: "int beyond 2^53", mutate: func(f *feature.Flag) { f.Value = json.Number("9007199254740993") }, fields: []string{"flag.value"}},
		{name: "no value", mutate: func(f *feature.Flag) { f.Value = nil }, fields: []string{"flag.value"}},
		{name: "long description", mutate: func(f *feature.Flag) { f.Description = strings.Repeat("x", 501) }, fields: []string{"flag.description"}},
		{name: "rule for everyone", mutate: func(f *feature.Flag) { f.Rules[0].Roles = nil }, fields: []string{"flag.rules[0]"}},
		{name: "percentage over 100", mutate: func(f *feature.Flag) { f.Rules[0].Percentage = pct(101) }, fields: []string{"flag.rules[0].percentage"}},
		{name: "rule value of another type", mutate: func(f *feature.Flag) { f.Rules[0].Value = true }, fields: []string{"flag.rules[0].value"}},
		{name: "empty user ID", mutate: func(f *feature.Flag) { f.Rules[0].UserIDs = []string{""} }, fields: []string{"flag.rules[0]"}},
		{name: "too many rules", mutate: func(f *feature.Flag) { f.Rules = slices.Repeat(f.Rules, 51) }, fields: []string{"flag.rules"}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := valid()
			tt.mutate(&f)

			err := f.Validate()
			if diff := cmp.Diff(tt.fields, invalidFields(err)); diff != "" {
				t.Errorf("Validate() = %v, invalid fields (-want +got):\n%s", err, diff)
			}

			if tt.fields != nil && !errors.IsType(err, errors.TypeValidation) {
				t.Errorf("Validate() = %v, want a validation error", err)
			}
		})
	}

	f := valid()
	if err := f.Validate(); err != nil || f.Value != int64(50) || f.Rules[0].Value != int64(100) {
		t.Errorf("Validate() normalized values to %T %v and %T %v, %v; want int64 50 and 100", f.Value, f.Value, f.Rules[0].Value, f.Rules[0].Value, err)
	}
}

// invalidFields returns the fields a validation error names.
func invalidFields(err error) []string {
	var de *errors.DomainError
	if !stderrors.As(err, &de) {
		return nil
	}

	var out []string
	for _, f := range de.Fields {
		if !slices.Contains(out, f.Field) {
			out = append(out, f.Field)
		}
	}

	return out
}
