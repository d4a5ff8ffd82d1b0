package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modulith/modulith/internal/config"
)

type portConfig struct {
	Port int `yaml:"port" env:"T_PORT" default:"1000"`
}

func TestLoadPrecedence(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name       string
		yaml       string
		dotenv     string
		env        map[string]string
		wantPort   int
		wantSource config.Source
	}{
		{name: "default", wantPort: 1000, wantSource: config.SourceDefault},
		{name: "yaml beats default", yaml: "port: 2000\n", wantPort: 2000, wantSource: config.SourceYAML},
		{name: ".env beats yaml", yaml: "port: 2000\n", dotenv: "T_PORT=3000\n", wantPort: 3000, wantSource: config.SourceDotenv},
		{
			name: "env beats .env and yaml", yaml: "port: 2000\n", dotenv: "T_PORT=3000\n", env: map[string]string{"T_PORT": "4000"},
			wantPort: 4000, wantSource: config.SourceEnv,
		},
		{name: "env beats yaml", yaml: "port: 2000\n", env: map[string]string{"T_PORT": "4000"}, wantPort: 4000, wantSource: config.SourceEnv},
		{name: "empty env is unset", dotenv: "T_PORT=3000\n", env: map[string]string{"T_PORT": ""}, wantPort: 3000, wantSource: config.SourceDotenv},
		{name: "empty .env value is unset", yaml: "port: 2000\n", dotenv: "T_PORT=\n", wantPort: 2000, wantSource: config.SourceYAML},
		{name: "yaml null is unset", yaml: "port: ~\n", wantPort: 1000, wantSource: config.SourceDefault},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			var got portConfig

			report, err := layers(t, tt.yaml, tt.dotenv, tt.env).Load("", &got)
			if err != nil {
				t.Fatalf("Load() = %v", err)
			}

			if got.Port != tt.wantPort {
				t.Errorf("Port = %d, want %d", got.Port, tt.wantPort)
			}

			if src := report.Source("T_PORT"); src != tt.wantSource {
				t.Errorf("Source(T_PORT) = %q, want %q", src, tt.wantSource)
			}
		})
	}
}

type fourLayers struct {
	FromDefault string `yaml:"from_default" env:"T_FROM_DEFAULT" default:"d"`
	FromYAML    string `yaml:"from_yaml" env:"T_FROM_YAML" default:"d"`
	FromDotenv  string `yaml:"from_dotenv" env:"T_FROM_DOTENV" default:"d"`
	FromEnv     string `yaml:"from_env" env:"T_FROM_ENV" default:"d"`
	NoYAML      string `yaml:"-" env:"T_NO_YAML" default:"d"`
}

func TestLoadReportsSources(t *testing.T) {
	t.Parallel()

	l := layers(t,
		"from_yaml: y\nfrom_dotenv: y\nfrom_env: y\n",
		"T_FROM_DOTENV=dot\nT_FROM_ENV=dot\n",
		map[string]string{"T_FROM_ENV": "e", "OTHER": "x"})

	var got fourLayers

	report, err := l.Load("", &got)
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}

	want := config.Report{
		Entries: []config.Entry{
			{Key: "T_FROM_DEFAULT", Value: "d", Source: config.SourceDefault},
			{Key: "T_FROM_YAML", Value: "y", Source: config.SourceYAML},
			{Key: "T_FROM_DOTENV", Value: "dot", Source: config.SourceDotenv},
			{Key: "T_FROM_ENV", Value: "e", Source: config.SourceEnv},
			{Key: "T_NO_YAML", Value: "d", Source: config.SourceDefault},
		},
	}
	if diff := cmp.Diff(want, report); diff != "" {
		t.Errorf("Load() report mismatch (-want +got):\n%s", diff)
	}

	if src := report.Source("OTHER"); src != "" {
		t.Errorf("Source(OTHER) = %q, want empty", src)
	}
}

type authConfig struct {
	Issuer string        `yaml:"issuer" env:"AUTH_ISSUER" default:"me"`
	TTL    time.Duration `yaml:"ttl" env:"AUTH_TTL" default:"15m"`
}

func TestLoadSection(t *testing.T) {
	t.Parallel()

	const yamlText = `
issuer: top-level-is-not-auth
ttl: 1h
auth:
  issuer: auth-yaml
billing:
  currency: EUR
`

	tests := []struct {
		name    string
		yaml    string
		env     map[string]string
		want    authConfig
		wantErr bool
	}{
		{name: "section", yaml: yamlText, want: authConfig{Issuer: "auth-yaml", TTL: 15 * time.Minute}},
		{name: "env beats section", yaml: yamlText, env: map[string]string{"AUTH_ISSUER": "env"}, want: authConfig{Issuer: "env", TTL: 15 * time.Minute}},
		{name: "missing section", yaml: "http_port: 1\n", want: authConfig{Issuer: "me", TTL: 15 * time.Minute}},
		{name: "null section", yaml: "auth:\n", want: authConfig{Issuer: "me", TTL: 15 * time.Minute}},
		{name: "no YAML file", want: authConfig{Issuer: "me", TTL: 15 * time.Minute}},
		{name: "section is not a mapping", yaml: "auth: [a]\n", wantErr: true},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			var got authConfig

			_, err := layers(t, tt.yaml, "", tt.env).Load("auth", &got)
			if (err != nil) != tt.wantErr {
				t.Fatalf(`Load("auth") error = %v, want error %v`, err, tt.wantErr)
			}

			if err != nil {
				return
			}

			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf(`Load("auth") mismatch (-want +got):\n%s`, diff)
			}
		})
	}
}

type level string

type allKinds struct {
	S   string        `yaml:"s" env:"K_S"`
	N   level         `yaml:"n" env:"K_N"`
	B   bool          `yaml:"b" env:"K_B"`
	I   int           `yaml:"i" env:"K_I"`
	I32 int32         `yaml:"i32" env:"K_I32"`
	I64 int64         `yaml:"i64" env:"K_I64"`
	F   float64       `yaml:"f" env:"K_F"`
	D   time.Duration `yaml:"d" env:"K_D"`
	L   []string      `yaml:"l" env:"K_L"`

	unexported int
}

func TestLoadKinds(t *testing.T) {
	t.Parallel()

	want := allKinds{
		S: "text", N: "warn", B: true, I: -7, I32: 2147483647, I64: 9007199254740993,
		F: 0.25, D: 90 * time.Second, L: []string{"a", "b"},
		unexported: 5, // Load leaves unexported fields alone
	}
	wantValues := map[string]string{
		"K_S": "text", "K_N": "warn", "K_B": "true", "K_I": "-7", "K_I32": "2147483647", "K_I64": "9007199254740993",
		"K_F": "0.25", "K_D": "1m30s", "K_L": "a,b",
	}

	tests := []struct {
		name   string
		yaml   string
		dotenv string
		env    map[string]string
	}{
		{
			name: "yaml typed",
			yaml: "s: text\nn: warn\nb: true\ni: -7\ni32: 2147483647\ni64: 9007199254740993\nf: 0.25\nd: 1m30s\nl: [a, b]\n",
		},
		{
			name: "yaml quoted",
			yaml: "s: \"text\"\nn: 'warn'\nb: \"true\"\ni: \"-7\"\ni32: \"2147483647\"\ni64: \"9007199254740993\"\nf: \"0.25\"\nd: \"90s\"\nl: \"a, b\"\n",
		},
		{
			name:   ".env",
			dotenv: "K_S=text\nK_N=warn\nK_B=1\nK_I=-7\nK_I32=2147483647\nK_I64=9007199254740993\nK_F=.25\nK_D=90s\nK_L=a,b\n",
		},
		{
			name: "env",
			env: map[string]string{
				"K_S": "text", "K_N": "warn", "K_B": "TRUE", "K_I": " -7 ", "K_I32": "2147483647", "K_I64": "9007199254740993",
				"K_F": "2.5e-1", "K_D": "1m30s", "K_L": " a , b ",
			},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			got := allKinds{unexported: 5}

			report, err := layers(t, tt.yaml, tt.dotenv, tt.env).Load("", &got)
			if err != nil {
				t.Fatalf("Load() = %v", err)
			}

			if diff := cmp.Diff(want, got, cmp.AllowUnexported(allKinds{})); diff != "" {
				t.Errorf("Load() mismatch (-want +got):\n%s", diff)
			}

			if diff := cmp.Diff(wantValues, values(report)); diff != "" {
				t.Errorf("Load() report values mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

type listConfig struct {
	L []string `yaml:"l" env:"T_L" default:"x,y"`
}

func TestLoadLists(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		yaml string
		env  string
		want []string
	}{
		{name: "default", want: []string{"x", "y"}},
		{name: "comma list trimmed, blanks dropped", env: " a ,b,, c ,", want: []string{"a", "b", "c"}},
		{name: "lone comma empties the list", env: ",", want: nil},
		{name: "single item", env: "only", want: []string{"only"}},
		{name: "yaml list", yaml: "l:\n  - a\n  - ' b '\n  - ''\n  - ~\n", want: []string{"a", "b"}},
		{name: "yaml empty list", yaml: "l: []\n", want: nil},
		{name: "yaml empty string", yaml: "l: ''\n", want: nil},
		{name: "yaml comma string", yaml: "l: a, b\n", want: []string{"a", "b"}},
		{name: "yaml anchors", yaml: "x: &item a\nl: [*item, b]\n", want: []string{"a", "b"}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			var got listConfig

			if _, err := layers(t, tt.yaml, "", map[string]string{"T_L": tt.env}).Load("", &got); err != nil {
				t.Fatalf("Load() = %v", err)
			}

			if diff := cmp.Diff(tt.want, got.L); diff != "" {
				t.Errorf("Load() list mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadMalformed(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name       string
		yaml       string
		dotenv     string
		env        map[string]string
		wantKey    string
		wantSource config.Source
	}{
		{name: "env integer", env: map[string]string{"K_I": "abc"}, wantKey: "K_I", wantSource: config.SourceEnv},
		{name: ".env integer", dotenv: "K_I=abc\n", wantKey: "K_I", wantSource: config.SourceDotenv},
		{name: "yaml integer", yaml: "i: abc\n", wantKey: "K_I", wantSource: config.SourceYAML},
		{name: "yaml float for integer", yaml: "i: 1.5\n", wantKey: "K_I", wantSource: config.SourceYAML},
		{name: "int32 out of range", env: map[string]string{"K_I32": "2147483648"}, wantKey: "K_I32", wantSource: config.SourceEnv},
		{name: "env boolean", env: map[string]string{"K_B": "yes please"}, wantKey: "K_B", wantSource: config.SourceEnv},
		{name: ".env number", dotenv: "K_F=one\n", wantKey: "K_F", wantSource: config.SourceDotenv},
		{name: "env duration without unit", env: map[string]string{"K_D": "30"}, wantKey: "K_D", wantSource: config.SourceEnv},
		{name: "yaml duration", yaml: "d: 30\n", wantKey: "K_D", wantSource: config.SourceYAML},
		{name: "yaml mapping for string", yaml: "s:\n  nested: x\n", wantKey: "K_S", wantSource: config.SourceYAML},
		{name: "yaml list for integer", yaml: "i: [1]\n", wantKey: "K_I", wantSource: config.SourceYAML},
		{name: "yaml mapping for list", yaml: "l:\n  a: b\n", wantKey: "K_L", wantSource: config.SourceYAML},
		{name: "yaml nested list for list", yaml: "l: [[a]]\n", wantKey: "K_L", wantSource: config.SourceYAML},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			var got allKinds

			_, err := layers(t, tt.yaml, tt.dotenv, tt.env).Load("", &got)

			want := []*config.KeyError{{Key: tt.wantKey, Source: tt.wantSource}}
			if diff := cmp.Diff(want, keyErrors(err), cmp.FilterPath(isErrField, cmp.Ignore())); diff != "" {
				t.Errorf("Load() = %v; KeyError mismatch (-want +got):\n%s", err, diff)
			}
		})
	}
}

// isErrField skips KeyError.Err, whose text is not part of the contract.
func isErrField(p cmp.Path) bool {
	return p.Last().String() == ".Err"
}

func TestLoadMalformedReportsEveryKey(t *testing.T) {
	t.Parallel()

	var got allKinds

	_, err := layers(t, "i: x\n", "", map[string]string{"K_B": "x", "K_D": "x"}).Load("", &got)
	if diff := cmp.Diff([]string{"K_B", "K_D", "K_I"}, errorKeys(err)); diff != "" {
		t.Errorf("Load() = %v; keys mismatch (-want +got):\n%s", err, diff)
	}
}

// TestLoadErrorMessage pins the one message format operators read at start-up.
func TestLoadErrorMessage(t *testing.T) {
	t.Parallel()

	var got struct {
		Port int `env:"HTTP_PORT" default:"8080"`
	}

	_, err := layers(t, "", "", map[string]string{"HTTP_PORT": "abc"}).Load("", &got)

	const want = `config: HTTP_PORT (env): invalid integer "abc"`
	if err == nil || err.Error() != want {
		t.Errorf("Load() = %v, want %s", err, want)
	}
}

func TestLoadUnknownKeys(t *testing.T) {
	t.Parallel()

	const yamlText = `
i: 1
foo: bar
list: [a]
billing:
  currency: EUR
auth:
  issuer: x
  bar: 1
  nested:
    a: b
`

	tests := []struct {
		section string
		dst     any
		want    []string
	}{
		{section: "", dst: &allKinds{}, want: []string{`unknown key "foo" in `, `unknown key "list" in `}},
		{section: "auth", dst: &authConfig{}, want: []string{`unknown key "auth.bar" in `, `unknown key "auth.nested" in `}},
		{section: "billing", dst: &struct {
			Currency string `yaml:"currency" env:"BILLING_CURRENCY"`
		}{}, want: nil},
	}

	for _, tt := range tests {
		t.Run(tt.section, func(t *testing.T) {
			t.Parallel()

			path := writeFile(t, "server.yaml", yamlText)

			l, err := config.NewLayers(config.Files{YAML: path}, envOf(nil))
			if err != nil {
				t.Fatalf("NewLayers() = %v", err)
			}

			report, err := l.Load(tt.section, tt.dst)
			if err != nil {
				t.Fatalf("Load(%q) = %v", tt.section, err)
			}

			var want []string
			for _, w := range tt.want {
				want = append(want, w+path)
			}

			if diff := cmp.Diff(want, report.Warnings); diff != "" {
				t.Errorf("Load(%q) warnings mismatch (-want +got):\n%s", tt.section, diff)
			}
		})
	}
}

func TestLoadProgrammerErrors(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		dst  any
	}{
		{name: "nil", dst: nil},
		{name: "not a pointer", dst: portConfig{}},
		{name: "pointer to non-struct", dst: new(int)},
		{name: "nil pointer", dst: (*portConfig)(nil)},
		{name: "unsupported kind", dst: &struct {
			M map[string]int `env:"T_M"`
		}{}},
		{name: "unsupported int kind", dst: &struct {
			U uint `env:"T_U"`
		}{}},
		{name: "unsupported slice", dst: &struct {
			L []int `env:"T_L"`
		}{}},
		{name: "missing env tag", dst: &struct {
			S string `yaml:"s"`
		}{}},
		{name: "unknown secret tag", dst: &struct {
			S string `env:"T_S" secret:"yes"`
		}{}},
		{name: "malformed default", dst: &struct {
			I int `env:"T_I" default:"ten"`
		}{}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			if _, err := layers(t, "", "", nil).Load("", tt.dst); err == nil {
				t.Errorf("Load(%T) = nil, want an error", tt.dst)
			}
		})
	}
}

func TestLoadUnsupportedKindNamesField(t *testing.T) {
	t.Parallel()

	var dst struct {
		Limits map[string]int `env:"T_LIMITS"`
	}

	_, err := layers(t, "", "", nil).Load("", &dst)
	if err == nil || !strings.Contains(err.Error(), "Limits") {
		t.Errorf("Load() = %v, want an error naming field Limits", err)
	}
}

type profileConfig struct {
	Level   string   `yaml:"level" env:"T_LEVEL" default:"debug" proddefault:"info"`
	Origins []string `yaml:"origins" env:"T_ORIGINS" default:"a,b" proddefault:""`
	Plain   string   `yaml:"plain" env:"T_PLAIN" default:"same"`
}

func TestLoadProdDefault(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want profileConfig
	}{
		{name: "dev", want: profileConfig{Level: "debug", Origins: []string{"a", "b"}, Plain: "same"}},
		{name: "prod from env", env: map[string]string{"ENV": "prod"}, want: profileConfig{Level: "info", Plain: "same"}},
		{name: "prod from yaml", yaml: "env: prod\n", want: profileConfig{Level: "info", Plain: "same"}},
		{
			name: "explicit value beats proddefault", env: map[string]string{"ENV": "prod", "T_LEVEL": "warn"},
			want: profileConfig{Level: "warn", Plain: "same"},
		},
		{
			name: "env dev beats yaml prod", yaml: "env: prod\n", env: map[string]string{"ENV": "dev"},
			want: profileConfig{Level: "debug", Origins: []string{"a", "b"}, Plain: "same"},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			var got profileConfig

			report, err := layers(t, tt.yaml, "", tt.env).Load("", &got)
			if err != nil {
				t.Fatalf("Load() = %v", err)
			}

			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Load() mismatch (-want +got):\n%s", diff)
			}

			if src := report.Source("T_PLAIN"); src != config.SourceDefault {
				t.Errorf("Source(T_PLAIN) = %q, want %q", src, config.SourceDefault)
			}
		})
	}
}
