package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRunPrintsAWorkingProvider: the printed issuer serves its discovery
// document, and run stops when its context ends.
func TestRunPrintsAWorkingProvider(t *testing.T) {
	t.Parallel()

	ctx, cancel := context.WithCancel(t.Context())
	out, in := io.Pipe()
	done := make(chan error, 1)

	go func() {
		err := run(ctx, []string{"-addr", "127.0.0.1:0", "-base", "http://localhost:9999"}, in)

		_ = in.Close()

		done <- err
	}()

	vars := map[string]string{}
	sc := bufio.NewScanner(out)

	for len(vars) < 6 && sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "=")
		vars[k] = v
	}

	if vars["AUTH_OAUTH_PROVIDERS"] != "dev" || vars["AUTH_OAUTH_BASE_URL"] != "http://localhost:9999" ||
		!strings.HasPrefix(vars["AUTH_OAUTH_OIDC_CLIENT_IDS"], "dev=") || !strings.HasPrefix(vars["AUTH_OAUTH_OIDC_CLIENT_SECRETS"], "dev=") {
		t.Fatalf("printed %v, want the variables of provider dev", vars)
	}

	issuer := strings.TrimPrefix(vars["AUTH_OAUTH_OIDC_ISSUERS"], "dev=")
	wantDiscovery(t, issuer)

	cancel()

	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run() after cancel = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop after its context ended")
	}
}

// wantDiscovery checks issuer serves its OpenID Connect discovery document.
func wantDiscovery(t *testing.T, issuer string) {
	t.Helper()

	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, issuer+"/.well-known/openid-configuration", nil)
	if err != nil {
		t.Fatal(err)
	}

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("discovery of %s: %v", issuer, err)
	}
	defer resp.Body.Close()

	var doc struct {
		Issuer string `json:"issuer"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || doc.Issuer != issuer {
		t.Errorf("discovery of %s = %d, issuer %q, %v; want the issuer", issuer, resp.StatusCode, doc.Issuer, err)
	}
}
