package secrets

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/modulith/modulith/internal/config"
)

// Open reads the platform secret from the provider cfg names
// (SECRETS_PROVIDER), checked as cfg.CheckSecret checks JWT_SECRET. The
// file and vault providers are re-read every SECRETS_TTL once the Secret
// is started.
func Open(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*Secret, error) {
	opts := Options{Name: cfg.SecretsProvider, TTL: cfg.SecretsTTL, Check: cfg.CheckSecret, Logger: logger}

	var p Provider

	switch cfg.SecretsProvider {
	case config.SecretsFile:
		p = Files{Current: cfg.JWTSecretFile, Previous: cfg.JWTSecretPreviousFile}
	case config.SecretsVault:
		v, err := NewVault(VaultConfig{
			Addr: cfg.VaultAddr, Namespace: cfg.VaultNamespace, Token: cfg.VaultToken, TokenFile: cfg.VaultTokenFile,
			Mount: cfg.VaultMount, Path: cfg.VaultPath, CACert: cfg.VaultCACert, ClientCert: cfg.VaultClientCert,
			ClientKey: cfg.VaultClientKey, TLSServerName: cfg.VaultTLSServerName, Timeout: cfg.VaultTimeout,
		})
		if err != nil {
			return nil, err
		}

		p = v
	default: // env; Validate refused any other value
		opts.TTL = 0
		p = Static(envValue(cfg))
	}

	s, err := New(ctx, p, opts)
	if err != nil {
		return nil, fmt.Errorf("platform secret (SECRETS_PROVIDER=%s): %w", cfg.SecretsProvider, err)
	}

	return s, nil
}

// envValue is the secret the configuration holds.
func envValue(cfg *config.Config) Value {
	v := Value{Current: []byte(cfg.JWTSecret)}
	if cfg.JWTSecretPrevious != "" {
		v.Previous = []byte(cfg.JWTSecretPrevious)
	}

	return v
}
