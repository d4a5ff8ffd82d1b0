package secrets

import (
	"context"
	"fmt"
	"time"

	vault "github.com/hashicorp/vault/api"
)

// The fields of the Vault secret that hold the platform secret.
const (
	VaultFieldCurrent  = "jwt_secret"
	VaultFieldPrevious = "jwt_secret_previous" // optional: absent or empty when no rotation is under way
)

// VaultConfig locates the platform secret in Vault and says how to reach
// it.
type VaultConfig struct {
	Addr      string
	Namespace string
	// Token authenticates; TokenFile instead names a file that holds it,
	// read again before each read (Vault Agent's sink, renewed by the
	// agent, which logs in with Kubernetes auth).
	Token     string
	TokenFile string
	// Mount is the KV version 2 engine's mount ("secret"), Path the secret
	// in it ("modulith").
	Mount string
	Path  string
	// CACert (PEM file), ClientCert and ClientKey (mutual TLS) and
	// TLSServerName configure TLS to an https Addr.
	CACert        string
	ClientCert    string
	ClientKey     string
	TLSServerName string
	// Timeout bounds each request.
	Timeout time.Duration
}

// Vault reads the platform secret from a KV version 2 secret, through
// HashiCorp's client: the fields jwt_secret and jwt_secret_previous of its
// latest version.
type Vault struct {
	client    *vault.Client
	kv        *vault.KVv2
	path      string
	tokenFile string
	where     string // mount/path, for errors
}

// NewVault returns a provider that reads from the server cfg names. It
// does not contact the server: the first Read does.
func NewVault(cfg VaultConfig) (*Vault, error) {
	vc := vault.DefaultConfig()
	vc.Address = cfg.Addr
	vc.Timeout = cfg.Timeout

	tls := &vault.TLSConfig{CACert: cfg.CACert, ClientCert: cfg.ClientCert, ClientKey: cfg.ClientKey, TLSServerName: cfg.TLSServerName}
	if err := vc.ConfigureTLS(tls); err != nil {
		return nil, fmt.Errorf("secrets: vault TLS: %w", err)
	}

	client, err := vault.NewClient(vc)
	if err != nil {
		return nil, fmt.Errorf("secrets: vault client: %w", err)
	}

	// The client reads VAULT_TOKEN and VAULT_NAMESPACE from the process
	// environment; the configuration's values win, even when empty.
	client.SetToken(cfg.Token)
	client.SetNamespace(cfg.Namespace)

	return &Vault{
		client: client, kv: client.KVv2(cfg.Mount), path: cfg.Path, tokenFile: cfg.TokenFile,
		where: cfg.Mount + "/" + cfg.Path,
	}, nil
}

// Read reads the latest version of the secret.
func (v *Vault) Read(ctx context.Context) (Value, error) {
	if v.tokenFile != "" {
		token, err := readSecretFile(v.tokenFile)
		if err != nil {
			return Value{}, err
		}

		v.client.SetToken(string(token))
	}

	s, err := v.kv.Get(ctx, v.path)
	if err != nil {
		return Value{}, fmt.Errorf("secrets: vault %s: %w", v.where, err)
	}

	current, err := v.field(s.Data, VaultFieldCurrent)
	if err != nil {
		return Value{}, err
	}

	if current == "" {
		return Value{}, fmt.Errorf("secrets: vault %s: field %s: %w", v.where, VaultFieldCurrent, errNoValue)
	}

	out := Value{Current: []byte(current)}

	previous, err := v.field(s.Data, VaultFieldPrevious)
	if err != nil {
		return Value{}, err
	}

	if previous != "" {
		out.Previous = []byte(previous)
	}

	return out, nil
}

// field returns a string field of the secret's data, "" when absent. A
// deleted latest version has no data: that is no secret at all.
func (v *Vault) field(data map[string]any, name string) (string, error) {
	if data == nil {
		return "", fmt.Errorf("secrets: vault %s: the latest version has no data (deleted?): %w", v.where, errNoValue)
	}

	raw, ok := data[name]
	if !ok || raw == nil {
		return "", nil
	}

	s, ok := raw.(string)
	if !ok {
		return "", fmt.Errorf("secrets: vault %s: field %s must be a string, got %T", v.where, name, raw)
	}

	return s, nil
}
