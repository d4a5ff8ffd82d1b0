package main

import (
	"errors"
	"io/fs"
	"net/url"
	"strings"
	"testing"
)

func TestResolveNATSURL(t *testing.T) {
	const (
		envURL    = "nats://127.0.0.1:4301"
		dotenvURL = "nats://127.0.0.1:4302"
		yamlURL   = "nats://127.0.0.1:4303"
		otherURL  = "nats://127.0.0.1:4304"
	)

	serverYAML := "db_dsn: postgres://yaml@127.0.0.1:5432/fromyaml\nevents:\n  transport: nats\n  nats_url: " + yamlURL + "\n"
	otherYAML := "events:\n  nats_url: " + otherURL + "\n"

	tests := []struct {
		name       string
		files      map[string]string
		env        map[string]string
		wantURL    string
		wantSource string
		wantErr    error
	}{
		{
			name:       "nothing configured",
			wantURL:    defaultNATSURL,
			wantSource: "the default",
		},
		{
			name:       "config file",
			files:      map[string]string{"configs/server.yaml": serverYAML},
			wantURL:    yamlURL,
			wantSource: "configs/server.yaml",
		},
		{
			name:       "config file without events.nats_url",
			files:      map[string]string{"configs/server.yaml": "db_dsn: postgres://yaml@127.0.0.1/x\nevents:\n  consume: true\n"},
			wantURL:    defaultNATSURL,
			wantSource: "the default",
		},
		{
			name:       "nats_url outside the events section does not count",
			files:      map[string]string{"configs/server.yaml": "nats_url: " + otherURL + "\n"},
			wantURL:    defaultNATSURL,
			wantSource: "the default",
		},
		{
			name:       ".env over config file",
			files:      map[string]string{"configs/server.yaml": serverYAML, ".env": "NATS_URL=" + dotenvURL + "\n"},
			wantURL:    dotenvURL,
			wantSource: ".env",
		},
		{
			name:       "environment over .env and config file",
			files:      map[string]string{"configs/server.yaml": serverYAML, ".env": "NATS_URL=" + dotenvURL + "\n"},
			env:        map[string]string{"NATS_URL": envURL},
			wantURL:    envURL,
			wantSource: "the NATS_URL environment variable",
		},
		{
			name:       "CONFIG_FILE in .env",
			files:      map[string]string{"configs/server.yaml": serverYAML, "other.yaml": otherYAML, ".env": "CONFIG_FILE=other.yaml\n"},
			wantURL:    otherURL,
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

			got, source, err := resolveNATSURL(dir, getenv)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("resolveNATSURL() error = %v, want %v", err, tt.wantErr)
			}

			if got != tt.wantURL || source != tt.wantSource {
				t.Errorf("resolveNATSURL() = %q, %q; want %q, %q", got, source, tt.wantURL, tt.wantSource)
			}
		})
	}
}

// TestResolveDSNBesideEvents checks that the events section, which devdb
// reads for NATS_URL, leaves the resolution of DB_DSN as it was.
func TestResolveDSNBesideEvents(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"configs/server.yaml": "db_dsn: postgres://yaml@127.0.0.1:5432/fromyaml\nevents:\n  nats_url: nats://n:4222\n",
	})

	dsn, source, err := resolveDSN(dir, func(string) string { return "" })
	if err != nil || dsn != "postgres://yaml@127.0.0.1:5432/fromyaml" || source != "configs/server.yaml" {
		t.Errorf("resolveDSN() = %q, %q, %v; want the db_dsn of configs/server.yaml", dsn, source, err)
	}
}

func TestParseNATSTarget(t *testing.T) {
	tests := []struct {
		raw         string
		wantAddress string
		wantScheme  string
	}{
		{raw: "nats://127.0.0.1:4222", wantAddress: "127.0.0.1:4222", wantScheme: "nats"},
		{raw: "nats://localhost", wantAddress: "localhost:4222", wantScheme: "nats"},
		{raw: "127.0.0.1:4999", wantAddress: "127.0.0.1:4999", wantScheme: "nats"},
		{raw: "nats://[::1]:4223", wantAddress: "[::1]:4223", wantScheme: "nats"},
		{raw: "tls://nats.internal:4443", wantAddress: "nats.internal:4443", wantScheme: "tls"},
		{raw: "nats://a:4001, nats://b:4002", wantAddress: "a:4001", wantScheme: "nats"},
	}

	for _, tt := range tests {
		got, err := parseNATSTarget(tt.raw)
		if err != nil {
			t.Errorf("parseNATSTarget(%q) error = %v", tt.raw, err)

			continue
		}

		if a := got.address(); a != tt.wantAddress || got.url.Scheme != tt.wantScheme {
			t.Errorf("parseNATSTarget(%q) = %s, scheme %q; want %s, scheme %q", tt.raw, a, got.url.Scheme, tt.wantAddress, tt.wantScheme)
		}

		if got.raw != tt.raw {
			t.Errorf("parseNATSTarget(%q).raw = %q, want it unchanged", tt.raw, got.raw)
		}
	}
}

func TestParseNATSTargetRejects(t *testing.T) {
	for _, raw := range []string{"", "http://127.0.0.1:4222", "nats://127.0.0.1:99999", "nats://127.0.0.1:port", "nats://"} {
		if _, err := parseNATSTarget(raw); !errors.Is(err, errNotNATSURL) {
			t.Errorf("parseNATSTarget(%q) error = %v, want %v", raw, err, errNotNATSURL)
		}
	}
}

func TestNATSTargetRedacts(t *testing.T) {
	tests := []struct {
		name     string
		user     *url.Userinfo
		password string // added to user when set
		want     string // the user info, if any, gains ":***" when password is set
	}{
		{name: "no credentials", want: "nats://127.0.0.1:4222"},
		{name: "user and password", user: url.User("app"), password: "hunter2", want: "nats://app@127.0.0.1:4222"},
		{name: "token", user: url.User("s3cr3tt0ken"), want: "nats://***@127.0.0.1:4222"},
	}

	for _, tt := range tests {
		raw := (&url.URL{Scheme: "nats", User: tt.user, Host: "127.0.0.1:4222"}).String()

		want := tt.want
		if tt.password != "" {
			raw = withPassword(t, raw, tt.password)
			want = strings.Replace(want, "@", ":***@", 1)
		}

		tg, err := parseNATSTarget(raw)
		if err != nil {
			t.Fatalf("%s: parseNATSTarget() error = %v", tt.name, err)
		}

		if got := tg.String(); got != want {
			t.Errorf("%s: String() = %q, want %q", tt.name, got, want)
		}

		if got := tg.serverURL(); got != raw {
			t.Errorf("%s: serverURL() = %q, want %q", tt.name, got, raw)
		}
	}
}
