package main

import (
	"errors"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestResolveDSN(t *testing.T) {
	const (
		envDSN    = "postgres://env@127.0.0.1:5432/fromenv"
		dotenvDSN = "postgres://dotenv@127.0.0.1:5432/fromdotenv"
		yamlDSN   = "postgres://yaml@127.0.0.1:5432/fromyaml"
		otherDSN  = "postgres://other@127.0.0.1:5432/fromother"
	)

	serverYAML := "http_addr: :8080\ndb_dsn: " + yamlDSN + "\n"
	otherYAML := "db_dsn: " + otherDSN + "\n"

	tests := []struct {
		name       string
		files      map[string]string
		env        map[string]string
		wantDSN    string
		wantSource string
		wantErr    error
	}{
		{
			name:       "nothing configured",
			wantDSN:    defaultDSN,
			wantSource: "the default",
		},
		{
			name:       "config file",
			files:      map[string]string{"configs/server.yaml": serverYAML},
			wantDSN:    yamlDSN,
			wantSource: "configs/server.yaml",
		},
		{
			name:       "config file without db_dsn",
			files:      map[string]string{"configs/server.yaml": "http_addr: :8080\n"},
			wantDSN:    defaultDSN,
			wantSource: "the default",
		},
		{
			name:       ".env over config file",
			files:      map[string]string{"configs/server.yaml": serverYAML, ".env": "DB_DSN=" + dotenvDSN + "\n"},
			wantDSN:    dotenvDSN,
			wantSource: ".env",
		},
		{
			name:       "environment over .env and config file",
			files:      map[string]string{"configs/server.yaml": serverYAML, ".env": "DB_DSN=" + dotenvDSN + "\n"},
			env:        map[string]string{"DB_DSN": envDSN},
			wantDSN:    envDSN,
			wantSource: "the DB_DSN environment variable",
		},
		{
			name:       "empty DB_DSN in the environment counts as unset",
			files:      map[string]string{".env": "DB_DSN=" + dotenvDSN + "\n"},
			env:        map[string]string{"DB_DSN": ""},
			wantDSN:    dotenvDSN,
			wantSource: ".env",
		},
		{
			name:       "CONFIG_FILE in the environment",
			files:      map[string]string{"configs/server.yaml": serverYAML, "other.yaml": otherYAML},
			env:        map[string]string{"CONFIG_FILE": "other.yaml"},
			wantDSN:    otherDSN,
			wantSource: "other.yaml",
		},
		{
			name:       "CONFIG_FILE in .env",
			files:      map[string]string{"configs/server.yaml": serverYAML, "other.yaml": otherYAML, ".env": "CONFIG_FILE=other.yaml\n"},
			wantDSN:    otherDSN,
			wantSource: "other.yaml",
		},
		{
			name:    "CONFIG_FILE names a missing file",
			env:     map[string]string{"CONFIG_FILE": "missing.yaml"},
			wantErr: fs.ErrNotExist,
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)

			getenv := func(key string) string { return tt.env[key] }

			dsn, source, err := resolveDSN(dir, getenv)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("resolveDSN() error = %v, want %v", err, tt.wantErr)
			}

			if dsn != tt.wantDSN || source != tt.wantSource {
				t.Errorf("resolveDSN() = %q, %q; want %q, %q", dsn, source, tt.wantDSN, tt.wantSource)
			}
		})
	}
}

func TestResolveDSNLeavesEnvironmentAlone(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{".env": "DB_DSN=postgres://dotenv@127.0.0.1/x\nDEVDB_TEST_MARKER=set\n"})

	if _, _, err := resolveDSN(dir, func(string) string { return "" }); err != nil {
		t.Fatalf("resolveDSN() error = %v", err)
	}

	if v, ok := os.LookupEnv("DEVDB_TEST_MARKER"); ok {
		t.Errorf("resolveDSN() set DEVDB_TEST_MARKER=%q in the process environment", v)
	}
}

func TestParseTarget(t *testing.T) {
	tests := []struct {
		dsn         string
		want        target
		wantAddress string
	}{
		{
			dsn:         defaultDSN,
			want:        target{host: "127.0.0.1", port: 5432, database: "modulith"},
			wantAddress: "127.0.0.1:5432",
		},
		{
			dsn:         "postgresql://app@localhost/appdb",
			want:        target{host: "localhost", port: 5432, database: "appdb"},
			wantAddress: "localhost:5432",
		},
		{
			dsn:         "postgres://app@[::1]:5433/appdb",
			want:        target{host: "::1", port: 5433, database: "appdb"},
			wantAddress: "[::1]:5433",
		},
		{
			dsn:         "postgres:///appdb?host=/var/run/postgresql&port=5499",
			want:        target{host: "/var/run/postgresql", port: 5499, database: "appdb"},
			wantAddress: "/var/run/postgresql",
		},
	}

	for _, tt := range tests {
		got, err := parseTarget(tt.dsn)
		if err != nil {
			t.Fatalf("parseTarget(%q) error = %v", tt.dsn, err)
		}

		got.url = nil
		if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(target{})); diff != "" {
			t.Errorf("parseTarget(%q) mismatch (-want +got):\n%s", tt.dsn, diff)
		}

		if a := got.address(); a != tt.wantAddress {
			t.Errorf("parseTarget(%q).address() = %q, want %q", tt.dsn, a, tt.wantAddress)
		}
	}
}

func TestParseTargetRejects(t *testing.T) {
	tests := []struct {
		dsn     string
		wantErr error
	}{
		{dsn: "host=127.0.0.1 user=postgres password=secret dbname=modulith", wantErr: errNotURL},
		{dsn: "mysql://root@127.0.0.1/modulith", wantErr: errNotURL},
	}

	for _, tt := range tests {
		if _, err := parseTarget(tt.dsn); !errors.Is(err, tt.wantErr) {
			t.Errorf("parseTarget(%q) error = %v, want %v", tt.dsn, err, tt.wantErr)
		}
	}

	if _, err := parseTarget("postgres://postgres@127.0.0.1:5432"); err == nil {
		t.Errorf("parseTarget of a URL without a database: error = nil, want one")
	}
}

func TestRedact(t *testing.T) {
	tests := []struct {
		name     string
		dsn      string
		password string // put into the user info of dsn when set
		want     string // the user info, if any, gains ":***" when password is set
	}{
		{
			name:     "password in user info",
			dsn:      "postgres://postgres@127.0.0.1:5432/modulith?sslmode=disable",
			password: "postgres",
			want:     "postgres://postgres@127.0.0.1:5432/modulith?sslmode=disable",
		},
		{
			name:     "password that needs escaping",
			dsn:      "postgres://app@db.internal:5432/app",
			password: "p@ss/w:rd",
			want:     "postgres://app@db.internal:5432/app",
		},
		{
			name: "password in the query",
			dsn:  "postgres://app@db.internal/app?sslmode=require&password=s3cret",
			want: "postgres://app@db.internal/app?password=***&sslmode=require",
		},
		{
			name: "no password",
			dsn:  "postgres://app@db.internal:5432/app?sslmode=disable",
			want: "postgres://app@db.internal:5432/app?sslmode=disable",
		},
		{
			name: "unix socket",
			dsn:  "postgres:///app?host=/var/run/postgresql",
			want: "postgres:///app?host=/var/run/postgresql",
		},
	}

	for _, tt := range tests {
		dsn, want := tt.dsn, tt.want
		if tt.password != "" {
			dsn = withPassword(t, dsn, tt.password)
			want = strings.Replace(want, "@", ":***@", 1)
		}

		tg, err := parseTarget(dsn)
		if err != nil {
			t.Fatalf("%s: parseTarget() error = %v", tt.name, err)
		}

		if got := tg.String(); got != want {
			t.Errorf("%s: String() = %q, want %q", tt.name, got, want)
		}

		if got := tg.dsn(); got != dsn {
			t.Errorf("%s: dsn() = %q, want it unchanged", tt.name, got)
		}
	}
}

// withPassword returns dsn with password in its user info. Test URLs are
// built this way so that no literal in the tests looks like a credential.
func withPassword(t *testing.T, dsn, password string) string {
	t.Helper()

	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}

	u.User = url.UserPassword(u.User.Username(), password)

	return u.String()
}

func TestWithDatabase(t *testing.T) {
	tests := []struct {
		dsn  string
		want string
	}{
		{
			dsn:  defaultDSN,
			want: strings.Replace(defaultDSN, "/modulith?", "/postgres?", 1),
		},
		{
			dsn:  "postgres://app@127.0.0.1/ignored?dbname=app&sslmode=disable",
			want: "postgres://app@127.0.0.1/postgres?sslmode=disable",
		},
	}

	for _, tt := range tests {
		tg, err := parseTarget(tt.dsn)
		if err != nil {
			t.Fatalf("parseTarget(%q) error = %v", tt.dsn, err)
		}

		if got := tg.withDatabase(maintenanceDB); got != tt.want {
			t.Errorf("withDatabase(%q) of %q = %q, want %q", maintenanceDB, tt.dsn, got, tt.want)
		}
	}
}

func TestIsLocalHost(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{host: "localhost", want: true},
		{host: "127.0.0.1", want: true},
		{host: "127.0.0.2", want: true},
		{host: "::1", want: true},
		{host: "/var/run/postgresql", want: true},
		{host: "/tmp", want: true},
		{host: "", want: false},
		{host: "db", want: false},
		{host: "localhost.example.com", want: false},
		{host: "10.0.0.5", want: false},
		{host: "::ffff:10.0.0.5", want: false},
	}

	for _, tt := range tests {
		if got := isLocalHost(tt.host); got != tt.want {
			t.Errorf("isLocalHost(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}

// writeFiles writes files, keyed by slash-separated path, below dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()

	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			t.Fatal(err)
		}

		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
