package secrets_test

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modulith/modulith/internal/secrets"
)

// TestVaultTLS checks VAULT_CACERT reaches the client: a server whose
// certificate the system does not trust is reached with its CA, and
// refused without. The server answers as Vault's KV v2 read does.
func TestVaultTLS(t *testing.T) {
	t.Parallel()

	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/secret/data/modulith" || r.Header.Get("X-Vault-Token") != "t0ken" {
			http.Error(w, `{"errors":["permission denied"]}`, http.StatusForbidden)

			return
		}

		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":{"data":{"jwt_secret":"` + string(secretA) + `"},"metadata":{"version":1}}}`))
	}))
	t.Cleanup(srv.Close)

	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}

	cfg := secrets.VaultConfig{Addr: srv.URL, Token: "t0ken", Mount: "secret", Path: "modulith", Timeout: 5 * time.Second}

	untrusted, err := secrets.NewVault(cfg)
	if err != nil {
		t.Fatal(err)
	}

	if _, err := untrusted.Read(t.Context()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("Read() without VAULT_CACERT = %v, want a certificate error", err)
	}

	cfg.CACert, cfg.TLSServerName = caFile, "example.com" // the name httptest's certificate holds

	trusted, err := secrets.NewVault(cfg)
	if err != nil {
		t.Fatal(err)
	}

	if got, err := trusted.Read(t.Context()); err != nil || string(got.Current) != string(secretA) {
		t.Errorf("Read() with VAULT_CACERT = %q, %v; want the secret", got.Current, err)
	}
}
