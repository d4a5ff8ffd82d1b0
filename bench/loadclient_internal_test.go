package bench

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestLoadClientReportsItsCalls(t *testing.T) {
	var calls atomic.Int64

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)

		if r.URL.Path != "/v1/auth/profile" || r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusUnauthorized)

			return
		}

		_, _ = w.Write([]byte(`{"user":{}}`))
	}))
	t.Cleanup(srv.Close)

	env := map[string]string{envLoad: "rest", envLoadTarget: srv.URL, envLoadToken: "tok", envLoadN: "100"}

	var out bytes.Buffer
	if code := runLoadClient(func(k string) string { return env[k] }, &out); code != 0 {
		t.Fatalf("exit code %d: %s", code, out.String())
	}

	r, err := parseLoad(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}

	if r.requests != 100 || r.elapsed <= 0 || r.p50 <= 0 || r.p99 < r.p50 {
		t.Errorf("report %+v, want 100 timed calls with p50 ≤ p99", r)
	}

	if got := calls.Load(); got != 100+loadWarmUp {
		t.Errorf("the server saw %d calls, want %d timed and %d to warm up", got, 100, loadWarmUp)
	}
}

func TestLoadClientFailsOnAFailedCall(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)

	for name, env := range map[string]map[string]string{
		"refused call": {envLoad: "rest", envLoadTarget: srv.URL, envLoadN: "10"},
		"unknown call": {envLoad: "ftp", envLoadTarget: srv.URL, envLoadN: "10"},
		"no count":     {envLoad: "rest", envLoadTarget: srv.URL},
	} {
		var out bytes.Buffer
		if code := runLoadClient(func(k string) string { return env[k] }, &out); code == 0 {
			t.Errorf("%s: exit code 0, want a failure", name)
		}

		if _, err := parseLoad(out.Bytes()); err == nil || !strings.Contains(out.String(), "loadbench error") {
			t.Errorf("%s: report %q parsed as a result (%v)", name, out.String(), err)
		}
	}
}
