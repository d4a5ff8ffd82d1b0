// Package secrets keeps the platform secret (JWT_SECRET) where the
// configuration says it lives, and follows its rotations without a restart.
//
// A Provider reads the secret: from the configuration (SECRETS_PROVIDER=env,
// fixed for the life of the process), from files such as a Kubernetes
// mounted Secret (file), or from a HashiCorp Vault KV v2 secret (vault).
// Secret caches what its provider read and re-reads it every SECRETS_TTL;
// a new value is a rotation. During a rotation the provider also gives the
// previous value: what was signed or sealed under it (access tokens, event
// secrets, one-time codes) still verifies or opens, while everything new
// uses the current value. Key derives a purpose-bound key from the secret,
// current and previous alike, so derived keys rotate with it.
//
// Values never reach logs: errors name the source (a path, an address), a
// rotation is logged without its values, and the configuration report
// redacts every key this package reads.
package secrets
