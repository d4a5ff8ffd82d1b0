package examples

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/modulith/modulith/internal/config"
	"github.com/modulith/modulith/internal/pgtest"
)

// TestConfigLoggedAtStart checks the configuration report an operator
// reads first: one "config" line per key with its value and source, the
// JWT secret shown only by its length and the database password masked.
func TestConfigLoggedAtStart(t *testing.T) {
	t.Parallel()

	dsn, password := withPassword(t, pgtest.NewDatabase(t, migrationSources()...).DSN)
	s := runServer(t, harnessEnv(dsn))
	entries := configLines(t, s.logs)

	for _, key := range platformKeys() {
		if _, ok := entries[key]; !ok {
			t.Errorf("no config line for %s", key)
		}
	}

	wants := []struct{ key, value, source string }{
		{"JWT_SECRET", fmt.Sprintf("[%d bytes]", len(testSecret)), "env"},
		{"HTTP_PORT", "0", "env"},
		{"SERVICE_NAME", "modulith", "default"},
		{"REQUEST_TIMEOUT", "30s", "default"},
		{"AUTH_CODE_TTL", "10m0s", "default"},
	}
	for _, w := range wants {
		if got := entries[w.key]; got.String("value") != w.value || got.String("source") != w.source {
			t.Errorf("config line of %s = %v, want value %q, source %q", w.key, got, w.value, w.source)
		}
	}

	if got := entries["DB_DSN"]; !strings.Contains(got.String("value"), ":***@") || got.String("source") != "env" {
		t.Errorf("config line of DB_DSN = %v, want the password masked as ***, source env", got)
	}

	if strings.Contains(s.Logs(), password) {
		t.Error("the log contains the database password")
	}
}

// configLines returns the "config" lines by key, failing the test for a
// key logged twice.
func configLines(t *testing.T, l *logs) map[string]logLine {
	t.Helper()

	entries := make(map[string]logLine)

	for _, line := range l.snapshot() {
		key := line.String("key")
		if line.Msg() != "config" || key == "" {
			continue
		}

		if _, dup := entries[key]; dup {
			t.Errorf("config line for %s logged twice", key)
		}

		entries[key] = line
	}

	return entries
}

// platformKeys are the environment variables of config.Config.
func platformKeys() []string {
	var keys []string

	for f := range reflect.TypeFor[config.Config]().Fields() {
		if key := f.Tag.Get("env"); key != "" {
			keys = append(keys, key)
		}
	}

	return keys
}

// withPassword returns dsn with a random password, and the password.
func withPassword(t *testing.T, dsn string) (string, string) {
	t.Helper()

	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}

	// A random password (the test server trusts local connections) that
	// cannot appear in the log by coincidence, as "postgres" would.
	password := rand.Text()
	u.User = url.UserPassword(u.User.Username(), password)

	return u.String(), password
}

// TestConfigErrorsStopStartEarly checks that bad or unsafe configuration
// makes the server refuse to start, naming the key, before it opens the
// database pool (so before it listens) or logs anything.
func TestConfigErrorsStopStartEarly(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"malformed port", []string{"HTTP_PORT", "abc"}, "HTTP_PORT"},
		{"short JWT secret", []string{"JWT_SECRET", "only-31-bytes-long-0123456789ab"}, "JWT_SECRET"},
		{"prod with CORS wildcard", []string{"ENV", "prod", "CORS_ALLOWED_ORIGINS", "*"}, "CORS_ALLOWED_ORIGINS"},
		{"prod with Swagger UI", []string{"ENV", "prod", "SWAGGER_ENABLED", "true"}, "SWAGGER_ENABLED"},
		{"prod with log notifier", []string{"ENV", "prod", "EMAIL_PROVIDER", "log"}, "EMAIL_PROVIDER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			db := newCountingListener(t)
			env := envWith(map[string]string{"DB_DSN": db.DSN(), "JWT_SECRET": testSecret}, tt.env...)

			out, err := runCommand(t, env)
			if got := configKeys(err); !slices.Equal(got, []string{tt.want}) || !strings.Contains(fmt.Sprint(err), tt.want) {
				t.Errorf("serve with %v = %v (keys %v), want an error naming only %s", tt.env, err, got, tt.want)
			}

			if out != "" || db.Connections() != 0 {
				t.Errorf("serve with %v logged %q and opened %d database connections, want nothing before the refusal",
					tt.env, out, db.Connections())
			}
		})
	}
}

// configKeys returns the keys of the *config.KeyError in err's tree.
func configKeys(err error) []string {
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		var keys []string
		for _, e := range joined.Unwrap() {
			keys = append(keys, configKeys(e)...)
		}

		return keys
	}

	var keyErr *config.KeyError
	if errors.As(err, &keyErr) {
		return []string{keyErr.Key}
	}

	return nil
}

// TestProdStartsWithOnlyRequiredKeys starts ENV=prod with nothing but the
// database and the JWT secret (plus loopback ports and no shutdown delay,
// for the test): prod defaults apply, and the missing notification
// provider is a warning, not a refusal.
func TestProdStartsWithOnlyRequiredKeys(t *testing.T) {
	t.Parallel()

	s := runServer(t, map[string]string{
		"ENV": "prod", "DB_DSN": freshDSN(t), "JWT_SECRET": testSecret,
		"BIND_HOST": "127.0.0.1", "HTTP_PORT": "0", "GRPC_PORT": "0", "ADMIN_PORT": "0", "SHUTDOWN_DELAY": "0s",
	})

	warning, err := s.logs.wait(logWait, msgPrefix("no email or SMS provider configured"))
	if err != nil || warning.String("level") != "WARN" {
		t.Errorf("log has no WARN line about the missing provider (%v)", warning)
	}

	entries := configLines(t, s.logs)
	for key, want := range map[string]string{"LOG_FORMAT": "json", "LOG_LEVEL": "info", "SWAGGER_ENABLED": "false", "EMAIL_PROVIDER": ""} {
		if got := entries[key]; got.String("value") != want || got.String("source") != "default" {
			t.Errorf("config line of %s in prod = %v, want the prod default %q", key, got, want)
		}
	}

	r := s.do(t, http.MethodGet, "/readyz", nil, "")
	if r.Status != http.StatusOK || r.Header.Get("Strict-Transport-Security") == "" {
		t.Errorf("GET /readyz in prod = %d with HSTS %q, want 200 with HSTS", r.Status, r.Header.Get("Strict-Transport-Security"))
	}

	if r := s.do(t, http.MethodGet, "/openapi.json", nil, ""); r.Status != http.StatusNotFound {
		t.Errorf("GET /openapi.json in prod = %d, want 404 (Swagger is dev-only)", r.Status)
	}
}
