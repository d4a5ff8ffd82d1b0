package config_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modulith/modulith/internal/config"
)

// ordersConfig is a module's configuration: every variable starts with
// ORDERS_.
type ordersConfig struct {
	Limit   int           `yaml:"limit" env:"ORDERS_LIMIT" default:"5"`
	Expiry  time.Duration `yaml:"expiry" env:"ORDERS_EXPIRY" default:"1h"`
	APIKey  string        `yaml:"api_key" env:"ORDERS_API_KEY" secret:"true"`
	Regions []string      `yaml:"regions" env:"ORDERS_REGIONS" default:"eu"`
}

func TestLoadModulePrefix(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		section string
		dst     any
		badKey  string // "" = accepted
	}{
		{name: "own settings", section: "orders", dst: &ordersConfig{}},
		{name: "no settings", section: "orders", dst: &struct{}{}},
		{name: "name with underscore", section: "order_items", dst: &struct {
			Max int `env:"ORDER_ITEMS_MAX"`
		}{}},
		{name: "platform setting", section: "orders", badKey: "JWT_SECRET", dst: &struct {
			Limit  int    `env:"ORDERS_LIMIT"`
			Secret string `env:"JWT_SECRET"`
		}{}},
		{name: "database DSN", section: "orders", badKey: "DB_DSN", dst: &struct {
			DSN string `env:"DB_DSN"`
		}{}},
		{name: "another module's setting", section: "orders", badKey: "AUTH_CODE_TTL", dst: &struct {
			TTL time.Duration `env:"AUTH_CODE_TTL"`
		}{}},
		{name: "longer name", section: "orders", badKey: "ORDERSX_LIMIT", dst: &struct {
			Limit int `env:"ORDERSX_LIMIT"`
		}{}},
		{name: "name without separator", section: "orders", badKey: "ORDERS", dst: &struct {
			Limit int `env:"ORDERS"`
		}{}},
		{name: "lower case", section: "orders", badKey: "orders_limit", dst: &struct {
			Limit int `env:"orders_limit"`
		}{}},
		{name: "shorter module's prefix", section: "order_items", badKey: "ORDER_MAX", dst: &struct {
			Max int `env:"ORDER_MAX"`
		}{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			env := map[string]string{
				"ORDERS_LIMIT": "7", "JWT_SECRET": "s", "DB_DSN": "d", "AUTH_CODE_TTL": "1m", "ORDERSX_LIMIT": "1",
				"ORDERS": "1", "orders_limit": "1", "ORDER_MAX": "1", "ORDER_ITEMS_MAX": "1",
			}

			_, err := layers(t, "", "", env).LoadModule(tt.section, tt.dst)
			if tt.badKey == "" {
				if err != nil {
					t.Errorf("LoadModule(%q, %T) = %v, want nil", tt.section, tt.dst, err)
				}

				return
			}

			if diff := cmp.Diff([]string{tt.badKey}, errorKeys(err)); diff != "" {
				t.Errorf("LoadModule(%q) = %v, want a *config.KeyError for %s (-want +got):\n%s", tt.section, err, tt.badKey, diff)
			}
		})
	}
}

// TestLoadModuleRefusesBeforeLoading checks that a refused struct is left
// as it was: no field is read, not even the allowed ones.
func TestLoadModuleRefusesBeforeLoading(t *testing.T) {
	t.Parallel()

	type mixed struct {
		Limit  int    `env:"ORDERS_LIMIT" default:"5"`
		Secret string `env:"JWT_SECRET"`
	}

	got := mixed{Limit: -1}

	report, err := layers(t, "", "", map[string]string{"ORDERS_LIMIT": "7", "JWT_SECRET": "platform"}).LoadModule("orders", &got)

	var keyErr *config.KeyError
	if !errors.As(err, &keyErr) || keyErr.Key != "JWT_SECRET" {
		t.Fatalf("LoadModule() = %v, want a *config.KeyError for JWT_SECRET", err)
	}

	if diff := cmp.Diff(mixed{Limit: -1}, got); diff != "" {
		t.Errorf("LoadModule() changed the refused struct (-want +got):\n%s", diff)
	}

	if diff := cmp.Diff(config.Report{}, report); diff != "" {
		t.Errorf("LoadModule() report of a refused struct (-want +got):\n%s", diff)
	}
}

// TestLoadModuleIsLoad checks that, for a struct it accepts, LoadModule
// gives what Load gives: the same values, report, warnings and errors.
func TestLoadModuleIsLoad(t *testing.T) {
	t.Parallel()

	const yamlText = `
limit: 1
orders:
  limit: 3
  api_key: from-yaml-0123456789
  regions: [eu, us]
  unknown: x
auth:
  limit: 99
`

	tests := []struct {
		name    string
		yaml    string
		dotenv  string
		env     map[string]string
		wantErr bool
	}{
		{name: "defaults"},
		{name: "section", yaml: yamlText},
		{name: "layers", yaml: yamlText, dotenv: "ORDERS_EXPIRY=2h\n", env: map[string]string{"ORDERS_LIMIT": "7"}},
		{name: "prod", yaml: yamlText, env: map[string]string{"ENV": "prod"}},
		{name: "malformed values", yaml: "orders:\n  regions: {a: b}\n", env: map[string]string{"ORDERS_LIMIT": "many"}, wantErr: true},
		{name: "section is not a mapping", yaml: "orders: [a]\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			l := layers(t, tt.yaml, tt.dotenv, tt.env)

			var want, got ordersConfig

			wantReport, wantErr := l.Load("orders", &want)
			gotReport, gotErr := l.LoadModule("orders", &got)

			if (wantErr != nil) != tt.wantErr {
				t.Fatalf("Load() = %v, want error %t", wantErr, tt.wantErr)
			}

			if (gotErr == nil) != (wantErr == nil) || !cmp.Equal(errorKeys(wantErr), errorKeys(gotErr)) {
				t.Fatalf("LoadModule() = %v, want Load's %v", gotErr, wantErr)
			}

			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("LoadModule() values differ from Load's (-Load +LoadModule):\n%s", diff)
			}

			if diff := cmp.Diff(wantReport, gotReport); diff != "" {
				t.Errorf("LoadModule() report differs from Load's (-Load +LoadModule):\n%s", diff)
			}
		})
	}
}

// TestLoadModuleSection checks what the module reads: its section and its
// variables, never the top level or another module's section.
func TestLoadModuleSection(t *testing.T) {
	t.Parallel()

	l := layers(t, "limit: 1\nexpiry: 5m\norders:\n  limit: 3\n  unknown: x\nauth:\n  expiry: 9m\n", "",
		map[string]string{"ORDERS_API_KEY": "from-env-0123456789", "AUTH_EXPIRY": "8m"})

	var got ordersConfig

	report, err := l.LoadModule("orders", &got)
	if err != nil {
		t.Fatalf("LoadModule() = %v", err)
	}

	want := ordersConfig{Limit: 3, Expiry: time.Hour, APIKey: "from-env-0123456789", Regions: []string{"eu"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LoadModule() mismatch (-want +got):\n%s", diff)
	}

	sources := map[string]config.Source{}
	for _, e := range report.Entries {
		sources[e.Key] = e.Source
	}

	wantSources := map[string]config.Source{
		"ORDERS_LIMIT": config.SourceYAML, "ORDERS_EXPIRY": config.SourceDefault,
		"ORDERS_API_KEY": config.SourceEnv, "ORDERS_REGIONS": config.SourceDefault,
	}
	if diff := cmp.Diff(wantSources, sources); diff != "" {
		t.Errorf("LoadModule() sources mismatch (-want +got):\n%s", diff)
	}

	if values(report)["ORDERS_API_KEY"] == "from-env-0123456789" {
		t.Errorf("LoadModule() report shows the secret ORDERS_API_KEY in clear")
	}

	if len(report.Warnings) != 1 {
		t.Errorf("LoadModule() warnings = %q, want one, for orders.unknown", report.Warnings)
	}
}

// TestEnvPrefixes: the platform reserves the first word of every setting's
// environment variable, lower case and once each, so that no module is
// named after one.
func TestEnvPrefixes(t *testing.T) {
	t.Parallel()

	type platform struct {
		Secret string `env:"JWT_SECRET"`
		DSN    string `env:"DB_DSN"`
		Pool   int    `env:"DB_MAX_CONNS"`
		Env    string `env:"ENV"`
	}

	type other struct {
		URL string `env:"NATS_URL"`
	}

	got, err := config.EnvPrefixes(&platform{}, &other{})
	if err != nil {
		t.Fatal(err)
	}

	if diff := cmp.Diff([]string{"jwt", "db", "env", "nats"}, got); diff != "" {
		t.Errorf("EnvPrefixes() mismatch (-want +got):\n%s", diff)
	}

	if _, err := config.EnvPrefixes(platform{}); err == nil {
		t.Error("EnvPrefixes(struct value) = nil error, want one: it needs pointers")
	}
}
