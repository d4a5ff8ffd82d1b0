package config_test

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/modulith/modulith/internal/config"
)

// previousValue is a second valid prod JWT_SECRET: the previous one of a
// rotation.
const previousValue = "k3YpQ9vZr1Lw7Tb5Nm2Xc8Hd0Jf6Gs4Ea9Ru1Io3Pq"

// mountedFile is where a Kubernetes Secret's key is mounted.
const mountedFile = "/run/secrets/modulith/JWT_SECRET"

// fileSecrets selects the file provider with its one required key.
func fileSecrets(c *config.Config) {
	c.SecretsProvider, c.JWTSecret, c.JWTSecretFile = config.SecretsFile, "", mountedFile
}

// vaultSecrets returns a mutation selecting a complete Vault provider,
// then applying more (nil for none).
func vaultSecrets(more func(*config.Config)) func(*config.Config) {
	return func(c *config.Config) {
		c.SecretsProvider, c.JWTSecret = config.SecretsVault, ""
		c.VaultAddr, c.VaultToken, c.VaultPath = "https://vault.internal:8200", "hvs.token", "modulith"

		if more != nil {
			more(c)
		}
	}
}

func TestValidateSecrets(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		prod   bool
		mutate func(*config.Config)
		want   []string // keys the error names
	}{
		{name: "SECRETS_PROVIDER unknown", mutate: func(c *config.Config) { c.SecretsProvider = "aws" }, want: []string{"SECRETS_PROVIDER"}},
		{name: "SECRETS_TTL too short", mutate: func(c *config.Config) { c.SecretsTTL = time.Millisecond }, want: []string{"SECRETS_TTL"}},

		{name: "env with a previous secret", prod: true, mutate: func(c *config.Config) { c.JWTSecretPrevious = previousValue }},
		{name: "env previous short", mutate: func(c *config.Config) { c.JWTSecretPrevious = "short" }, want: []string{"JWT_SECRET_PREVIOUS"}},
		{name: "env previous weak in prod", prod: true, mutate: func(c *config.Config) { c.JWTSecretPrevious = strings.Repeat("a", 40) }, want: []string{"JWT_SECRET_PREVIOUS"}},
		{name: "env previous equal to current", prod: true, mutate: func(c *config.Config) { c.JWTSecretPrevious = c.JWTSecret }, want: []string{"JWT_SECRET_PREVIOUS"}},
		{name: "env with a file", mutate: func(c *config.Config) { c.JWTSecretFile = "/run/secrets/jwt" }, want: []string{"JWT_SECRET_FILE"}},
		{name: "env with Vault settings of the vault CLI", mutate: func(c *config.Config) { c.VaultAddr, c.VaultToken = "http://127.0.0.1:8200", "root" }},

		{name: "file", prod: true, mutate: fileSecrets},
		{name: "file without JWT_SECRET_FILE", mutate: func(c *config.Config) { fileSecrets(c); c.JWTSecretFile = "" }, want: []string{"JWT_SECRET_FILE"}},
		{name: "file with JWT_SECRET too", mutate: func(c *config.Config) { fileSecrets(c); c.JWTSecret = previousValue }, want: []string{"JWT_SECRET"}},
		{name: "file with JWT_SECRET_PREVIOUS", mutate: func(c *config.Config) { fileSecrets(c); c.JWTSecretPrevious = previousValue }, want: []string{"JWT_SECRET_PREVIOUS"}},
		{name: "file previous is current", mutate: func(c *config.Config) { fileSecrets(c); c.JWTSecretPreviousFile = c.JWTSecretFile }, want: []string{"JWT_SECRET_PREVIOUS_FILE"}},

		{name: "vault", prod: true, mutate: vaultSecrets(nil)},
		{name: "vault token file", mutate: vaultSecrets(func(c *config.Config) { c.VaultToken, c.VaultTokenFile = "", "/vault/secrets/token" })},
		{name: "vault token and token file", mutate: vaultSecrets(func(c *config.Config) { c.VaultTokenFile = "/vault/secrets/token" }), want: []string{"VAULT_TOKEN_FILE"}},
		{name: "vault no token", mutate: vaultSecrets(func(c *config.Config) { c.VaultToken = "" }), want: []string{"VAULT_TOKEN"}},
		{name: "vault no address", mutate: vaultSecrets(func(c *config.Config) { c.VaultAddr = "" }), want: []string{"VAULT_ADDR"}},
		{name: "vault address without scheme", mutate: vaultSecrets(func(c *config.Config) { c.VaultAddr = "vault:8200" }), want: []string{"VAULT_ADDR"}},
		{name: "vault address with credentials", mutate: vaultSecrets(func(c *config.Config) { c.VaultAddr = "https://u:p@vault" }), want: []string{"VAULT_ADDR"}},
		{name: "vault http in prod", prod: true, mutate: vaultSecrets(func(c *config.Config) { c.VaultAddr = "http://vault.internal:8200" }), want: []string{"VAULT_ADDR"}},
		{name: "vault http on loopback in prod", prod: true, mutate: vaultSecrets(func(c *config.Config) { c.VaultAddr = "http://127.0.0.1:8200" })},
		{name: "vault no path", mutate: vaultSecrets(func(c *config.Config) { c.VaultPath = "" }), want: []string{"VAULT_PATH"}},
		{name: "vault no mount", mutate: vaultSecrets(func(c *config.Config) { c.VaultMount = "" }), want: []string{"VAULT_MOUNT"}},
		{name: "vault client cert alone", mutate: vaultSecrets(func(c *config.Config) { c.VaultClientCert = "/tls/client.crt" }), want: []string{"VAULT_CLIENT_CERT"}},
		{name: "vault timeout zero", mutate: vaultSecrets(func(c *config.Config) { c.VaultTimeout = 0 }), want: []string{"VAULT_TIMEOUT"}},
		{name: "vault with JWT_SECRET_FILE", mutate: vaultSecrets(func(c *config.Config) { c.JWTSecretFile = "/run/secrets/jwt" }), want: []string{"JWT_SECRET_FILE"}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			cfg, report := loaded(t, tt.prod)
			tt.mutate(&cfg)

			err := cfg.Validate(report)
			if diff := cmp.Diff(tt.want, errorKeys(err)); diff != "" {
				t.Errorf("Validate() = %v; keys mismatch (-want +got):\n%s", err, diff)
			}
		})
	}
}

// TestLoadSecretProviders checks the dev secret stands in for JWT_SECRET
// only with SECRETS_PROVIDER=env, and that prod needs no JWT_SECRET when
// a provider reads the secret elsewhere.
func TestLoadSecretProviders(t *testing.T) {
	t.Parallel()

	cfg, _, _, err := config.Load(config.Files{}, envOf(map[string]string{"SECRETS_PROVIDER": "file", "JWT_SECRET_FILE": mountedFile}))
	if err != nil || cfg.JWTSecret != "" {
		t.Errorf("Load(file, dev) = JWT_SECRET %q, %v; want no development secret", cfg.JWTSecret, err)
	}

	env := map[string]string{
		"ENV": "prod", "DB_DSN": prodDSN, "SECRETS_PROVIDER": "vault",
		"VAULT_ADDR": "https://vault.internal:8200", "VAULT_TOKEN": "hvs.token", "VAULT_PATH": "modulith",
	}
	if _, _, _, err := config.Load(config.Files{}, envOf(env)); err != nil {
		t.Errorf("Load(vault, prod) = %v, want no JWT_SECRET required", err)
	}
}

// TestSecretKeysAreRedacted checks the values of the secret keys the
// providers add never reach the configuration report or its log lines.
func TestSecretKeysAreRedacted(t *testing.T) {
	t.Parallel()

	const vaultToken = "hvs.CAESIJ-redaction-test-token"

	env := map[string]string{
		"ENV": "prod", "DB_DSN": prodDSN, "JWT_SECRET": prodSecret, "JWT_SECRET_PREVIOUS": previousValue, "VAULT_TOKEN": vaultToken,
	}

	_, _, report, err := config.Load(config.Files{}, envOf(env))
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}

	var buf bytes.Buffer

	report.Log(context.Background(), slog.New(slog.NewJSONHandler(&buf, nil)))

	for _, secret := range []string{prodSecret, previousValue, vaultToken} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("the configuration report logged a secret:\n%s", buf.String())
		}
	}

	want := map[string]string{
		"JWT_SECRET_PREVIOUS": "[" + strconv.Itoa(len(previousValue)) + " bytes]",
		"VAULT_TOKEN":         "[" + strconv.Itoa(len(vaultToken)) + " bytes]",
	}
	for key, value := range want {
		if got := values(report)[key]; got != value {
			t.Errorf("report %s = %q, want %q", key, got, value)
		}
	}
}
