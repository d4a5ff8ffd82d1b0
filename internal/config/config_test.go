package config_test

import (
	"crypto/rand"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modulith/modulith/internal/config"
)

// prodSecret is a valid JWT_SECRET for tests: random, as prod requires.
var prodSecret = rand.Text() + rand.Text()

// prodDSN is a valid DB_DSN whose password is "s3cret-pw".
var prodDSN = postgresURL("app", "s3cret-pw", "db.internal:5432", "app", "sslmode=require")

// postgresURL builds a DSN; tests build them rather than spell them out.
func postgresURL(user, password, host, db, query string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(user, password), Host: host, Path: "/" + db, RawQuery: query}

	return u.String()
}

func TestLoadDevDefaults(t *testing.T) {
	t.Parallel()

	cfg, l, report, err := config.Load(config.Files{}, envOf(nil))
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}

	want := &config.Config{
		Env:                  "dev",
		ServiceName:          "modulith",
		HTTPPort:             8080,
		GRPCPort:             9090,
		AdminPort:            9100,
		PprofEnabled:         true,
		DBDSN:                postgresURL("postgres", "postgres", "127.0.0.1:5432", "modulith", "sslmode=disable"),
		DBMaxConns:           25,
		DBMinConns:           2,
		DBConnMaxLifetime:    30 * time.Minute,
		JWTSecret:            config.DevJWTSecret,
		JWTIssuer:            "modulith",
		JWTAudience:          "modulith",
		LogLevel:             "debug",
		LogFormat:            "text",
		LogSlowRequest:       500 * time.Millisecond,
		LogSkipPaths:         []string{"/livez", "/healthz", "/readyz", "/metrics"},
		RequestTimeout:       30 * time.Second,
		RequestReadTimeout:   15 * time.Second,
		ShutdownTimeout:      30 * time.Second,
		MigrateOnStart:       true,
		CORSAllowedOrigins:   []string{"http://localhost:3000", "http://localhost:5173"},
		MaxBodyBytes:         1 << 20,
		SwaggerEnabled:       true,
		GRPCReflection:       true,
		GraphQLEnabled:       true,
		GraphQLPlayground:    true,
		GraphQLIntrospection: true,
		GraphQLMaxDepth:      10,
		GraphQLMaxComplexity: 250,
		GRPCMaxConnectionAge: 5 * time.Minute,
		EmailProvider:        "log",
		SMTPPort:             587,
		SMTPTLS:              "starttls",
		SMSProvider:          "log",
		RemoteTimeout:        10 * time.Second,
		RemoteRetries:        3,
		BreakerFailures:      5,
		BreakerCooldown:      10 * time.Second,
		OutboundRetries:      2,
		RateLimits:           "default=100/s,auth.v1.AuthService/RequestLogin=20/s,auth.v1.AuthService/CompleteLogin=20/s",
		CachePrefix:          "modulith:",
		SessionCacheTTL:      30 * time.Second,
		SecretsProvider:      "env",
		SecretsTTL:           time.Minute,
		VaultMount:           "secret",
		VaultTimeout:         10 * time.Second,
	}
	// Outside the literal: the longer name would realign every field.
	want.FeatureReloadInterval = 30 * time.Second

	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("Load() mismatch (-want +got):\n%s", diff)
	}

	if l == nil || l.Env() != "dev" {
		t.Errorf("Load() layers = %v, want layers with Env() dev", l)
	}

	if got, want := len(report.Entries), reflect.TypeFor[config.Config]().NumField(); got != want {
		t.Errorf("len(report.Entries) = %d, want one per Config field (%d)", got, want)
	}

	if !cfg.IsDev() {
		t.Error("IsDev() = false, want true")
	}
}

func TestLoadDevWithoutSecret(t *testing.T) {
	t.Parallel()

	cfg, _, report, err := config.Load(config.Files{}, envOf(nil))
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}

	if cfg.JWTSecret != config.DevJWTSecret {
		t.Errorf("JWTSecret = %q, want DevJWTSecret", cfg.JWTSecret)
	}

	if len(report.Warnings) != 1 || !strings.Contains(report.Warnings[0], "JWT_SECRET") {
		t.Errorf("report.Warnings = %q, want one warning about JWT_SECRET", report.Warnings)
	}

	want := config.Entry{Key: "JWT_SECRET", Value: fmt.Sprintf("[%d bytes]", len(config.DevJWTSecret)), Source: config.SourceDefault}
	for _, e := range report.Entries {
		if e.Key == want.Key && e != want {
			t.Errorf("JWT_SECRET entry = %+v, want %+v", e, want)
		}
	}
}

func TestLoadDevWithSecretHasNoWarning(t *testing.T) {
	t.Parallel()

	cfg, _, report, err := config.Load(config.Files{}, envOf(map[string]string{"JWT_SECRET": prodSecret}))
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}

	if cfg.JWTSecret != prodSecret {
		t.Errorf("JWTSecret = %q, want the one from env", cfg.JWTSecret)
	}

	if len(report.Warnings) != 0 {
		t.Errorf("report.Warnings = %q, want none", report.Warnings)
	}
}

func TestLoadProdMinimal(t *testing.T) {
	t.Parallel()

	env := map[string]string{"ENV": "prod", "DB_DSN": prodDSN, "JWT_SECRET": prodSecret}

	cfg, _, report, err := config.Load(config.Files{}, envOf(env))
	if err != nil {
		t.Fatalf("Load(%v) = %v", env, err)
	}

	if cfg.IsDev() {
		t.Error("IsDev() = true, want false")
	}

	type profile struct {
		LogLevel, LogFormat                  string
		ShutdownDelay                        time.Duration
		CORSAllowedOrigins                   []string
		SwaggerEnabled, GRPCReflection       bool
		GraphQLPlayground, Introspection     bool
		Pprof                                bool
		EmailProvider, SMSProvider, JWT, DSN string
	}

	got := profile{
		cfg.LogLevel, cfg.LogFormat, cfg.ShutdownDelay, cfg.CORSAllowedOrigins, cfg.SwaggerEnabled,
		cfg.GRPCReflection, cfg.GraphQLPlayground, cfg.GraphQLIntrospection, cfg.PprofEnabled,
		cfg.EmailProvider, cfg.SMSProvider, cfg.JWTSecret, cfg.DBDSN,
	}
	want := profile{"info", "json", 5 * time.Second, nil, false, false, false, false, false, "", "", prodSecret, prodDSN}

	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load() prod profile mismatch (-want +got):\n%s", diff)
	}

	if cfg.AdminAddr() != "127.0.0.1:9100" {
		t.Errorf("AdminAddr() in prod = %q, want 127.0.0.1:9100 (operational endpoints on loopback)", cfg.AdminAddr())
	}

	for _, e := range report.Entries {
		if strings.Contains(e.Value, "s3cret-pw") || strings.Contains(e.Value, prodSecret) {
			t.Errorf("entry %s = %q leaks a secret", e.Key, e.Value)
		}
	}

	if len(report.Warnings) != 0 {
		t.Errorf("report.Warnings = %q, want none", report.Warnings)
	}
}

// TestLoadProviders loads the provider keys as an operator sets them and
// checks that the report, which the server logs, redacts their secrets.
func TestLoadProviders(t *testing.T) {
	t.Parallel()

	env := map[string]string{
		"ENV": "prod", "DB_DSN": prodDSN, "JWT_SECRET": prodSecret,
		"EMAIL_PROVIDER": "smtp", "SMTP_HOST": "smtp.example.com", "SMTP_PORT": "465", "SMTP_TLS": "tls",
		"SMTP_USERNAME": "mailer", "SMTP_PASSWORD": "smtp-s3cret", "SMTP_FROM": "Example <no-reply@example.com>",
		"SMS_PROVIDER": "http", "SMS_HTTP_URL": "https://sms.example.com/v1/messages", "SMS_HTTP_TOKEN": "sms-t0ken",
		"SMS_FROM": "+14155550199",
	}

	cfg, _, report, err := config.Load(config.Files{}, envOf(env))
	if err != nil {
		t.Fatalf("Load(%v) = %v", env, err)
	}

	got := map[string]string{
		"SMTP_HOST": cfg.SMTPHost, "SMTP_PORT": fmt.Sprint(cfg.SMTPPort), "SMTP_TLS": cfg.SMTPTLS,
		"SMTP_USERNAME": cfg.SMTPUsername, "SMTP_PASSWORD": cfg.SMTPPassword, "SMTP_FROM": cfg.SMTPFrom,
		"SMS_HTTP_URL": cfg.SMSHTTPURL, "SMS_HTTP_TOKEN": cfg.SMSHTTPToken, "SMS_FROM": cfg.SMSFrom,
	}
	want := map[string]string{}

	for k := range got {
		want[k] = env[k]
	}

	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load() provider keys mismatch (-want +got):\n%s", diff)
	}

	logged := values(report)
	for key, secret := range map[string]string{"SMTP_PASSWORD": "smtp-s3cret", "SMS_HTTP_TOKEN": "sms-t0ken"} {
		if want := fmt.Sprintf("[%d bytes]", len(secret)); logged[key] != want {
			t.Errorf("report value of %s = %q, want %q", key, logged[key], want)
		}
	}
}

func TestLoadProdRequires(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{name: "nothing", env: map[string]string{"ENV": "prod"}, want: []string{"DB_DSN", "JWT_SECRET"}},
		{name: "no JWT_SECRET", env: map[string]string{"ENV": "prod", "DB_DSN": prodDSN}, want: []string{"JWT_SECRET"}},
		{name: "no DB_DSN", env: map[string]string{"ENV": "prod", "JWT_SECRET": prodSecret}, want: []string{"DB_DSN"}},
		{
			name: "dev secret", env: map[string]string{"ENV": "prod", "DB_DSN": prodDSN, "JWT_SECRET": config.DevJWTSecret},
			want: []string{"JWT_SECRET"},
		},
		{
			name: "swagger switched on", env: map[string]string{"ENV": "prod", "DB_DSN": prodDSN, "JWT_SECRET": prodSecret, "SWAGGER_ENABLED": "true"},
			want: []string{"SWAGGER_ENABLED"},
		},
		{
			name: "smtp without its keys", env: map[string]string{"ENV": "prod", "DB_DSN": prodDSN, "JWT_SECRET": prodSecret, "EMAIL_PROVIDER": "smtp"},
			want: []string{"SMTP_FROM", "SMTP_HOST"},
		},
		{
			name: "http SMS without its keys", env: map[string]string{"ENV": "prod", "DB_DSN": prodDSN, "JWT_SECRET": prodSecret, "SMS_PROVIDER": "http"},
			want: []string{"SMS_HTTP_TOKEN", "SMS_HTTP_URL"},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			cfg, _, _, err := config.Load(config.Files{}, envOf(tt.env))
			if cfg != nil {
				t.Errorf("Load(%v) config = %+v, want nil", tt.env, cfg)
			}

			if diff := cmp.Diff(tt.want, errorKeys(err)); diff != "" {
				t.Errorf("Load(%v) = %v; keys mismatch (-want +got):\n%s", tt.env, err, diff)
			}
		})
	}
}

// TestLoadEnvBeatsYAML is the reason for the precedence: a YAML file baked
// into an image must not beat what the orchestrator sets.
func TestLoadEnvBeatsYAML(t *testing.T) {
	t.Parallel()

	yamlPath := writeFile(t, "server.yaml", "env: dev\nhttp_port: 8081\nlog_level: debug\nswagger_enabled: false\n")
	dotenvPath := writeFile(t, ".env", "HTTP_PORT=8082\nJWT_SECRET="+prodSecret+"\n")
	env := map[string]string{"ENV": "prod", "DB_DSN": prodDSN, "LOG_LEVEL": "warn"}

	cfg, _, report, err := config.Load(config.Files{YAML: yamlPath, YAMLRequired: true, Dotenv: dotenvPath}, envOf(env))
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}

	got := map[string]string{"ENV": cfg.Env, "HTTP_PORT": cfg.HTTPAddr(), "LOG_LEVEL": cfg.LogLevel, "LOG_FORMAT": cfg.LogFormat}
	want := map[string]string{"ENV": "prod", "HTTP_PORT": ":8082", "LOG_LEVEL": "warn", "LOG_FORMAT": "json"}

	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load() mismatch (-want +got):\n%s", diff)
	}

	sources := map[string]config.Source{}
	for _, key := range []string{"ENV", "HTTP_PORT", "JWT_SECRET", "SWAGGER_ENABLED", "LOG_FORMAT"} {
		sources[key] = report.Source(key)
	}

	wantSources := map[string]config.Source{
		"ENV": config.SourceEnv, "HTTP_PORT": config.SourceDotenv, "JWT_SECRET": config.SourceDotenv,
		"SWAGGER_ENABLED": config.SourceYAML, "LOG_FORMAT": config.SourceDefault,
	}
	if diff := cmp.Diff(wantSources, sources); diff != "" {
		t.Errorf("report sources mismatch (-want +got):\n%s", diff)
	}
}

func TestLoadNamesMalformedKey(t *testing.T) {
	t.Parallel()

	_, _, _, err := config.Load(config.Files{}, envOf(map[string]string{"HTTP_PORT": "abc"}))

	want := []*config.KeyError{{Key: "HTTP_PORT", Source: config.SourceEnv}}
	if diff := cmp.Diff(want, keyErrors(err), cmp.FilterPath(isErrField, cmp.Ignore())); diff != "" {
		t.Errorf("Load() = %v; mismatch (-want +got):\n%s", err, diff)
	}
}

func TestLoadMissingRequiredYAML(t *testing.T) {
	t.Parallel()

	files := config.Files{YAML: t.TempDir() + "/missing.yaml", YAMLRequired: true}
	if _, _, _, err := config.Load(files, envOf(nil)); err == nil {
		t.Errorf("Load(%+v) = nil, want an error", files)
	}
}

func TestAddrs(t *testing.T) {
	t.Parallel()

	tests := []struct {
		host     string
		wantHTTP string
		wantGRPC string
	}{
		{host: "", wantHTTP: ":8080", wantGRPC: ":9090"},
		{host: "127.0.0.1", wantHTTP: "127.0.0.1:8080", wantGRPC: "127.0.0.1:9090"},
		{host: "::1", wantHTTP: "[::1]:8080", wantGRPC: "[::1]:9090"},
	}

	for _, tt := range tests {
		cfg := config.Config{BindHost: tt.host, HTTPPort: 8080, GRPCPort: 9090}
		if got := cfg.HTTPAddr(); got != tt.wantHTTP {
			t.Errorf("HTTPAddr() with BindHost %q = %q, want %q", tt.host, got, tt.wantHTTP)
		}

		if got := cfg.GRPCAddr(); got != tt.wantGRPC {
			t.Errorf("GRPCAddr() with BindHost %q = %q, want %q", tt.host, got, tt.wantGRPC)
		}
	}
}
