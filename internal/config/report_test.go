package config_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/modulith/modulith/internal/config"
)

type secrets struct {
	Hidden string `yaml:"hidden" env:"T_HIDDEN" secret:"true"`
	DSN    string `yaml:"dsn" env:"T_DSN" secret:"dsn"`
}

func TestLoadRedacts(t *testing.T) {
	t.Parallel()

	// plain is the secret text that no report entry may contain.
	const plain = "hunter2-Sup3r"

	// mask is what replaces a DSN password.
	const mask = "***"

	tests := []struct {
		name       string
		hidden     string
		dsn        string
		wantHidden string
		wantDSN    string
	}{
		{name: "unset", wantHidden: "(unset)", wantDSN: "(unset)"},
		{
			name: "URL", hidden: plain, dsn: "postgres://app:" + plain + "@db:5432/app?sslmode=require",
			wantHidden: "[13 bytes]", wantDSN: "postgres://app:" + mask + "@db:5432/app?sslmode=require",
		},
		{
			name: "URL with escaped password", hidden: plain + "!", dsn: "postgresql://app:" + plain + "%40%2F@db/app",
			wantHidden: "[14 bytes]", wantDSN: "postgresql://app:" + mask + "@db/app",
		},
		{name: "URL without password", dsn: "postgres://app@db/app", wantHidden: "(unset)", wantDSN: "postgres://app@db/app"},
		{
			name: "URL password in query", dsn: "postgres://db/app?user=app&password=" + plain + "&sslmode=disable",
			wantHidden: "(unset)", wantDSN: "postgres://db/app?user=app&password=" + mask + "&sslmode=disable",
		},
		{
			name: "key=value", dsn: "host=db user=app password=" + plain + " dbname=app",
			wantHidden: "(unset)", wantDSN: "host=db user=app password=" + mask + " dbname=app",
		},
		{
			name: "key=value quoted with spaces", dsn: "host=db password = '" + plain + " \\' x' dbname=app",
			wantHidden: "(unset)", wantDSN: "host=db password = " + mask + " dbname=app",
		},
		{
			name: "key=value sslpassword", dsn: "host=db sslpassword=" + plain,
			wantHidden: "(unset)", wantDSN: "host=db sslpassword=" + mask,
		},
		{
			name: "unescaped slash in password", dsn: "postgres://app:12/" + plain + "@db/app",
			wantHidden: "(unset)", wantDSN: "[" + strconv.Itoa(len("postgres://app:12/"+plain+"@db/app")) + " bytes]",
		},
		{
			name: "unescaped hash in password", dsn: "postgres://app:12#" + plain + "@db/app",
			wantHidden: "(unset)", wantDSN: "[" + strconv.Itoa(len("postgres://app:12#"+plain+"@db/app")) + " bytes]",
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			var got secrets

			report, err := layers(t, "", "", map[string]string{"T_HIDDEN": tt.hidden, "T_DSN": tt.dsn}).Load("", &got)
			if err != nil {
				t.Fatalf("Load() = %v", err)
			}

			if got.Hidden != tt.hidden || got.DSN != tt.dsn {
				t.Errorf("Load() = %+v, want the secrets unredacted in the struct", got)
			}

			want := map[string]string{"T_HIDDEN": tt.wantHidden, "T_DSN": tt.wantDSN}
			if diff := cmp.Diff(want, values(report)); diff != "" {
				t.Errorf("Load() report values mismatch (-want +got):\n%s", diff)
			}

			for _, e := range report.Entries {
				if strings.Contains(e.Value, plain) || strings.Contains(e.Value, "hunter2") {
					t.Errorf("entry %s = %q leaks the secret", e.Key, e.Value)
				}
			}
		})
	}
}

func TestReportLog(t *testing.T) {
	t.Parallel()

	report := config.Report{
		Entries: []config.Entry{
			{Key: "HTTP_PORT", Value: "8080", Source: config.SourceDefault},
			{Key: "JWT_SECRET", Value: "[40 bytes]", Source: config.SourceEnv},
		},
		Warnings: []string{`unknown key "foo" in server.yaml`},
	}

	var buf bytes.Buffer

	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}

			return a
		},
	}))

	report.Log(context.Background(), logger)

	var got []map[string]string

	for line := range strings.Lines(buf.String()) {
		var m map[string]string
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}

		got = append(got, m)
	}

	want := []map[string]string{
		{"level": "INFO", "msg": "config", "key": "HTTP_PORT", "value": "8080", "source": "default"},
		{"level": "INFO", "msg": "config", "key": "JWT_SECRET", "value": "[40 bytes]", "source": "env"},
		{"level": "WARN", "msg": "config", "warning": `unknown key "foo" in server.yaml`},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Log() mismatch (-want +got):\n%s", diff)
	}
}
