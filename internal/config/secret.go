package config

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net/url"
	"slices"
	"time"
)

// minSecretBits is the entropy a prod JWT_SECRET must show: HS256 keys
// should carry at least 128 bits, and a real random secret of 32 bytes or
// more scores far above it.
const minSecretBits = 128

// secretWeakness tells why s does not look random enough to sign tokens in
// prod, or "" when it does. Length alone accepts 32 × "a"; this catches what
// people type instead of generating: few distinct characters (Shannon
// entropy of the character frequencies, times the length), a block repeated
// ("secretsecretsecret…"), and runs of repeated or consecutive characters
// ("0123456789abcdef…", "aaaa…"). It is an estimate of how a human-made
// string fails, not a proof of randomness: `openssl rand -base64 48` always
// passes.
func secretWeakness(s string) string {
	if bits := entropyBits(s); bits < minSecretBits {
		return fmt.Sprintf("looks low-entropy: about %.0f bits estimated from its characters, at least %d needed", bits, minSecretBits)
	}

	if p := period(s); p > 0 {
		return fmt.Sprintf("repeats a %d-character block", p)
	}

	if runs := runPairs(s); 2*runs > len(s)-1 {
		return fmt.Sprintf("is mostly runs of repeated or consecutive characters (%d of %d neighbours)", runs, len(s)-1)
	}

	return ""
}

// entropyBits estimates the entropy of s as its length times the Shannon
// entropy of its byte frequencies.
func entropyBits(s string) float64 {
	var counts [256]int
	for i := range len(s) {
		counts[s[i]]++
	}

	n := float64(len(s))
	perByte := 0.0

	for _, c := range counts {
		if c > 0 {
			f := float64(c) / n
			perByte -= f * math.Log2(f)
		}
	}

	return perByte * n
}

// period returns the length of the shortest block whose repetition makes up
// s (the last copy may be cut short), or 0 when s is not such a repetition.
func period(s string) int {
	for p := 1; p <= len(s)/2; p++ {
		if s[p:] == s[:len(s)-p] {
			return p
		}
	}

	return 0
}

// runPairs counts the neighbouring bytes of s that are equal or differ by
// one ("aa", "ab", "ba").
func runPairs(s string) int {
	n := 0

	for i := 1; i < len(s); i++ {
		if d := int(s[i]) - int(s[i-1]); d >= -1 && d <= 1 {
			n++
		}
	}

	return n
}

// The values of SECRETS_PROVIDER.
const (
	SecretsEnv   = "env"   // JWT_SECRET and JWT_SECRET_PREVIOUS, read once
	SecretsFile  = "file"  // JWT_SECRET_FILE and JWT_SECRET_PREVIOUS_FILE, re-read every SECRETS_TTL
	SecretsVault = "vault" // a Vault KV v2 secret, re-read every SECRETS_TTL
)

// MinJWTSecretBytes is the shortest platform secret accepted.
const MinJWTSecretBytes = 32

// minSecretsTTL keeps a short SECRETS_TTL from hammering Vault or the disk.
const minSecretsTTL = 100 * time.Millisecond

// CheckSecret tells why s cannot be the platform secret in this profile,
// or nil: too short, or, when ENV=prod, the development secret or a
// string that does not look random. The secret providers check every value
// they read with it, as Validate checks JWT_SECRET.
func (c *Config) CheckSecret(s string) error {
	switch {
	case len(s) < MinJWTSecretBytes:
		return fmt.Errorf("must be at least %d bytes (got %d)", MinJWTSecretBytes, len(s))
	case c.Env != envProd:
		return nil
	case s == DevJWTSecret:
		return errors.New("must not be the development secret when ENV=prod")
	}

	if weak := secretWeakness(s); weak != "" {
		return fmt.Errorf("%s; generate one with `openssl rand -base64 48`", weak)
	}

	return nil
}

// validateSecrets checks the keys of the platform secret's provider. The
// keys of the other two places the secret can come from must be unset: a
// JWT_SECRET_FILE that SECRETS_PROVIDER=env would ignore is a mistake to
// report, not to discover at the first rotation. VAULT_* may be set for
// other tools (the vault CLI reads them).
func (c *Config) validateSecrets(p *problems) {
	p.check(c.SecretsTTL >= minSecretsTTL, "SECRETS_TTL", "must be at least %s (got %s)", minSecretsTTL, c.SecretsTTL)

	if !slices.Contains([]string{SecretsEnv, SecretsFile, SecretsVault}, c.SecretsProvider) {
		p.oneOf("SECRETS_PROVIDER", c.SecretsProvider, SecretsEnv, SecretsFile, SecretsVault)

		return
	}

	if c.SecretsProvider == SecretsEnv {
		c.validateEnvSecret(p)
	} else {
		p.unset(c.SecretsProvider, map[string]string{"JWT_SECRET": c.JWTSecret, "JWT_SECRET_PREVIOUS": c.JWTSecretPrevious})
	}

	if c.SecretsProvider == SecretsFile {
		p.check(c.JWTSecretFile != "", "JWT_SECRET_FILE", "required when SECRETS_PROVIDER=%s", SecretsFile)
		p.check(c.JWTSecretPreviousFile == "" || c.JWTSecretPreviousFile != c.JWTSecretFile, "JWT_SECRET_PREVIOUS_FILE", "must not be JWT_SECRET_FILE")
	} else {
		p.unset(c.SecretsProvider, map[string]string{"JWT_SECRET_FILE": c.JWTSecretFile, "JWT_SECRET_PREVIOUS_FILE": c.JWTSecretPreviousFile})
	}

	if c.SecretsProvider == SecretsVault {
		c.validateVault(p)
	}
}

// unset reports each of keys that has a value, which provider ignores.
func (p *problems) unset(provider string, keys map[string]string) {
	for _, key := range slices.Sorted(maps.Keys(keys)) {
		p.check(keys[key] == "", key, "is not read when SECRETS_PROVIDER=%s: unset it", provider)
	}
}

// validateVaultAddr checks VAULT_ADDR: the token crosses the network to
// it, so prod wants TLS unless Vault listens on this host.
func (c *Config) validateVaultAddr(p *problems) {
	const https = "https"

	u, err := url.Parse(c.VaultAddr)

	switch {
	case c.VaultAddr == "":
		p.add("VAULT_ADDR", "required when SECRETS_PROVIDER=%s", SecretsVault)
	case err != nil || u.Host == "" || u.Scheme != "http" && u.Scheme != https || u.User != nil:
		p.add("VAULT_ADDR", "must be an absolute http or https URL without credentials")
	case c.Env == envProd && u.Scheme != https && !loopbackHost(u.Hostname()):
		p.add("VAULT_ADDR", "must be https when ENV=prod, unless Vault is on this host")
	}
}

// validateEnvSecret checks JWT_SECRET and JWT_SECRET_PREVIOUS.
func (c *Config) validateEnvSecret(p *problems) {
	if err := c.CheckSecret(c.JWTSecret); err != nil {
		p.add("JWT_SECRET", "%w", err)
	}

	if c.JWTSecretPrevious == "" {
		return
	}

	if err := c.CheckSecret(c.JWTSecretPrevious); err != nil {
		p.add("JWT_SECRET_PREVIOUS", "%w", err)
	}

	p.check(c.JWTSecretPrevious != c.JWTSecret, "JWT_SECRET_PREVIOUS", "must differ from JWT_SECRET")
}

// validateVault checks the VAULT_* keys when SECRETS_PROVIDER=vault.
func (c *Config) validateVault(p *problems) {
	c.validateVaultAddr(p)
	p.check(c.VaultPath != "", "VAULT_PATH", "required when SECRETS_PROVIDER=%s", SecretsVault)
	p.check(c.VaultMount != "", "VAULT_MOUNT", "required when SECRETS_PROVIDER=%s", SecretsVault)
	p.check(c.VaultToken != "" || c.VaultTokenFile != "", "VAULT_TOKEN", "VAULT_TOKEN or VAULT_TOKEN_FILE required when SECRETS_PROVIDER=%s", SecretsVault)
	p.check(c.VaultToken == "" || c.VaultTokenFile == "", "VAULT_TOKEN_FILE", "set VAULT_TOKEN or VAULT_TOKEN_FILE, not both")
	p.check((c.VaultClientCert == "") == (c.VaultClientKey == ""), "VAULT_CLIENT_CERT", "VAULT_CLIENT_CERT and VAULT_CLIENT_KEY go together")
	p.positive("VAULT_TIMEOUT", c.VaultTimeout)
}
