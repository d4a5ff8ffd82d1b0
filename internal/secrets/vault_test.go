package secrets_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/modulith/modulith/internal/secrets"
	"github.com/modulith/modulith/internal/vaulttest"
)

// vaultFixture is a secret path of its own on the shared Vault server, and
// a client that writes it as an operator would (vault kv put).
type vaultFixture struct {
	t      *testing.T
	cfg    secrets.VaultConfig
	writer *vault.KVv2
}

func newVaultFixture(t *testing.T) *vaultFixture {
	t.Helper()

	addr, token := vaulttest.Server(t)
	cfg := secrets.VaultConfig{Addr: addr, Token: token, Mount: "secret", Path: vaulttest.Path(t), Timeout: 5 * time.Second}

	vc := vault.DefaultConfig()
	vc.Address = addr

	client, err := vault.NewClient(vc)
	if err != nil {
		t.Fatal(err)
	}

	client.SetToken(token)
	f := &vaultFixture{t: t, cfg: cfg, writer: client.KVv2("secret")}
	t.Cleanup(func() {
		if err := f.writer.DeleteMetadata(context.Background(), cfg.Path); err != nil {
			t.Errorf("delete %s: %v", cfg.Path, err)
		}
	})

	return f
}

// put writes a new version of the secret.
func (f *vaultFixture) put(data map[string]any) {
	f.t.Helper()

	if _, err := f.writer.Put(f.t.Context(), f.cfg.Path, data); err != nil {
		f.t.Fatalf("vault kv put %s: %v", f.cfg.Path, err)
	}
}

func (f *vaultFixture) provider(cfg secrets.VaultConfig) *secrets.Vault {
	f.t.Helper()

	v, err := secrets.NewVault(cfg)
	if err != nil {
		f.t.Fatalf("NewVault() = %v", err)
	}

	return v
}

// TestVaultRotation checks the Vault provider reads jwt_secret and
// jwt_secret_previous from the latest version of a KV v2 secret on a real
// Vault server, and that a started Secret follows a rotation written with
// the official client, and its end.
func TestVaultRotation(t *testing.T) {
	t.Parallel()

	f := newVaultFixture(t)
	f.put(map[string]any{"jwt_secret": string(secretA)})

	s := start(t, f.provider(f.cfg), 10*time.Millisecond)
	if got := s.Value(); !bytes.Equal(got.Current, secretA) || got.Previous != nil {
		t.Fatalf("Value() = %q, want jwt_secret and no previous", got)
	}

	f.put(map[string]any{"jwt_secret": string(secretB), "jwt_secret_previous": string(secretA)})
	eventually(t, "the rotation is read", func() bool { return bytes.Equal(s.Value().Current, secretB) })

	if got := s.Value(); !bytes.Equal(got.Previous, secretA) {
		t.Errorf("Value().Previous = %q, want %q", got.Previous, secretA)
	}

	f.put(map[string]any{"jwt_secret": string(secretB)})
	eventually(t, "the end of the rotation is read", func() bool { return s.Value().Previous == nil })
}

// TestVaultRefuses checks what the Vault provider refuses, and that no
// error shows a secret.
func TestVaultRefuses(t *testing.T) {
	t.Parallel()

	f := newVaultFixture(t)
	f.put(map[string]any{"jwt_secret": 42, "jwt_secret_previous": string(secretA)})

	badToken := f.cfg
	badToken.Token = "not-a-token"

	elsewhere := f.cfg
	elsewhere.Path += "-missing"

	tests := []struct {
		name string
		cfg  secrets.VaultConfig
		want string
	}{
		{"a number where a string belongs", f.cfg, "field jwt_secret must be a string"},
		{"a token Vault does not know", badToken, "403"},
		{"no secret at the path", elsewhere, "secret not found"},
	}
	for _, tt := range tests {
		v, err := f.provider(tt.cfg).Read(t.Context())
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Read() = %q, %v; want an error saying %q", tt.name, v, err, tt.want)
		}

		if err != nil && strings.Contains(err.Error(), string(secretA)) {
			t.Errorf("%s: Read() = %v: the error shows a secret", tt.name, err)
		}
	}

	f.put(map[string]any{"jwt_secret": string(secretA)})

	if err := f.writer.Delete(t.Context(), f.cfg.Path); err != nil {
		t.Fatal(err)
	}

	if v, err := f.provider(f.cfg).Read(t.Context()); err == nil || !strings.Contains(err.Error(), "no data") {
		t.Errorf("Read() of a deleted latest version = %q, %v; want an error saying it has no data", v, err)
	}
}

// TestVaultTokenFile checks VAULT_TOKEN_FILE is read before every read,
// so that a token renewed by Vault Agent is used without a restart.
func TestVaultTokenFile(t *testing.T) {
	t.Parallel()

	f := newVaultFixture(t)
	f.put(map[string]any{"jwt_secret": string(secretA)})

	tokenFile := filepath.Join(t.TempDir(), "vault-token")
	if err := os.WriteFile(tokenFile, []byte("expired-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	cfg := f.cfg
	cfg.Token, cfg.TokenFile = "", tokenFile
	v := f.provider(cfg)

	if _, err := v.Read(t.Context()); err == nil {
		t.Fatal("Read() with an unknown token in the file = nil error")
	}

	if err := os.WriteFile(tokenFile, []byte(f.cfg.Token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	if got, err := v.Read(t.Context()); err != nil || !bytes.Equal(got.Current, secretA) {
		t.Errorf("Read() after the token file was renewed = %q, %v; want the secret", got, err)
	}
}
