package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFindCode(t *testing.T) {
	t.Parallel()

	const email = "smoke-0a1b2c@example.com"

	text := `time=2026-12-05T03:00:00Z level=INFO msg="dev email (not sent)" to=other@example.com subject="Your sign-in code" text="Your sign-in code is 111111.\n"
time=2026-12-05T03:00:01Z level=INFO msg="dev email (not sent)" to=smoke-0a1b2c@example.com subject="Your sign-in code" text="Your sign-in code is 123456.\nIt expires in 10 minutes.\n"
time=2026-12-05T03:00:02Z level=INFO msg="request" path=/v1/auth/login/request to=smoke-0a1b2c@example.com text="sign-in code is 999999."`
	jsonLog := `{"time":"2026-12-05T03:00:01Z","level":"INFO","msg":"dev email (not sent)","to":"smoke-0a1b2c@example.com","text":"Your sign-in code is 654321.\n"}`

	tests := []struct {
		name, log, want string
	}{
		{"text log, other lines ignored", text, "123456"},
		{"json log", jsonLog, "654321"},
		{"the latest code wins", text + "\n" + strings.ReplaceAll(jsonLog, "654321", "777777"), "777777"},
		{"no code for this address", strings.ReplaceAll(text, email, "x@example.com"), ""},
		{"empty log", "", ""},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			if got := findCode(tt.log, email); got != tt.want {
				t.Fatalf("findCode = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseChecks(t *testing.T) {
	t.Parallel()

	got, err := parseChecks(" readyz, grpc ,")
	if err != nil || len(got) != 2 || !got[checkReadyz] || !got[checkGRPC] {
		t.Fatalf("parseChecks = %v, %v; want readyz and grpc", got, err)
	}

	for _, bad := range []string{"", ",", "readyz,login"} {
		if _, err := parseChecks(bad); err == nil {
			t.Errorf("parseChecks(%q) succeeded, want an error", bad)
		}
	}
}

func TestParseFlags(t *testing.T) {
	t.Parallel()

	opts, err := parseFlags([]string{"-http", "http://127.0.0.1:8081/", "-logs-file", "x.log"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}

	if opts.httpURL != "http://127.0.0.1:8081" || len(opts.grpcServices) != 2 ||
		opts.grpcServices[0] != "" || opts.grpcServices[1] != "auth.v1.AuthService" {
		t.Fatalf("options = %+v", opts)
	}

	for _, args := range [][]string{
		{},                                    // signin without a log
		{"-logs-file", "a", "-logs-cmd", "b"}, // two logs
		{"-checks", "readyz", "extra"},        // stray argument
		{"-checks", "readyz,bogus"},           // unknown check
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) succeeded, want an error", args)
		}
	}

	if _, err := parseFlags([]string{"-checks", "readyz"}, io.Discard); err != nil {
		t.Errorf("readyz alone needs no log: %v", err)
	}
}

// fakeAuth answers the sign-in flow like the server does and writes the
// code to a log file like EMAIL_PROVIDER=log does; wrongCode makes it
// refuse every code.
func fakeAuth(t *testing.T, logFile string, wrongCode bool) *httptest.Server {
	t.Helper()

	var email string

	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, `{}`) })
	mux.HandleFunc("POST /v1/auth/login/request", func(w http.ResponseWriter, r *http.Request) {
		var req map[string]string

		_ = json.NewDecoder(r.Body).Decode(&req)
		email = req["email"]
		line := `level=INFO msg="dev email (not sent)" to=` + email + ` text="Your sign-in code is 424242.\n"` + "\n"
		_ = os.WriteFile(logFile, []byte(line), 0o600)
		_, _ = io.WriteString(w, `{"expires_in":600}`)
	})
	mux.HandleFunc("POST /v1/auth/login/complete", func(w http.ResponseWriter, r *http.Request) {
		var req map[string]string

		_ = json.NewDecoder(r.Body).Decode(&req)

		if wrongCode || req["code"] != "424242" || req["email"] != email {
			http.Error(w, `{"code":"AUTH_CODE_INVALID"}`, http.StatusUnauthorized)

			return
		}

		_, _ = io.WriteString(w, `{"tokens":{"access_token":"tok"}}`)
	})
	mux.HandleFunc("GET /v1/auth/profile", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, `{}`, http.StatusUnauthorized)

			return
		}

		_ = json.NewEncoder(w).Encode(map[string]any{"user": map[string]string{"email": email}})
	})

	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	return srv
}

func TestRunSignInAgainstFake(t *testing.T) {
	t.Parallel()

	for _, tt := range []struct {
		name      string
		wrongCode bool
		wantErr   string
	}{
		{"passes", false, ""},
		{"fails on a refused code", true, "401"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			logFile := filepath.Join(t.TempDir(), "server.log")
			srv := fakeAuth(t, logFile, tt.wrongCode)

			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()

			var out strings.Builder

			err := run(ctx, []string{"-http", srv.URL, "-checks", "readyz,signin", "-logs-file", logFile, "-timeout", "10s"}, &out)

			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("run: %v\n%s", err, out.String())
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("run error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestHelpPrintsUsage(t *testing.T) {
	t.Parallel()

	var usage strings.Builder
	if err := run(context.Background(), []string{"-h"}, &usage); err != nil || !strings.Contains(usage.String(), "-logs-cmd") {
		t.Errorf("-h: %v, usage %q; want no error and the flags", err, usage.String())
	}
}

func TestRunTimesOutWhenNotReady(t *testing.T) {
	t.Parallel()

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"database":"down"}`, http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)

	err := run(context.Background(), []string{"-http", srv.URL, "-checks", "readyz", "-timeout", "1500ms"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("run error = %v, want the last 503 named", err)
	}
}

func TestWaitCodeNamesWhatIsMissing(t *testing.T) {
	t.Parallel()

	ctx, cancel := context.WithTimeout(context.Background(), 1200*time.Millisecond)
	defer cancel()

	read := logSource("echo 'msg=\"dev email (not sent)\" to=someone-else@example.com text=\"Your sign-in code is 123456.\"'", "")

	_, err := waitCode(ctx, read, "smoke-1@example.com")
	if err == nil || !strings.Contains(err.Error(), "no line") || !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("waitCode error = %v, want the deadline and what the log lacks", err)
	}

	read = logSource("echo 'msg=\"dev email (not sent)\" to=smoke-1@example.com text=\"Your sign-in code is 123456.\"'", "")
	if code, err := waitCode(context.Background(), read, "smoke-1@example.com"); err != nil || code != "123456" {
		t.Fatalf("waitCode = %q, %v; want 123456", code, err)
	}

	if got := tail("abcdef", 3); got != "...def" {
		t.Fatalf("tail = %q", got)
	}
}
