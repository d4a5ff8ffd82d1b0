#!/usr/bin/env bash
# Makes sure a HashiCorp Vault dev server answers at TEST_VAULT_ADDR
# (http://127.0.0.1:8200), so that the tests of internal/secrets' Vault
# provider run against a real Vault instead of internal/vaulttest's fake:
#   make vault-up
#   TEST_VAULT_ADDR=http://127.0.0.1:8200 make test-pkg PKG=./internal/secrets/...
# Nothing to do when one answers already; else it starts `vault server -dev`
# (in memory, unsealed, root token TEST_VAULT_TOKEN, a KV version 2 engine
# at secret/), building the binary first when the cache lacks it.
#
# No package registry here ships a vault binary, and nothing else may be
# downloaded, so it is built from source through the Go module proxy:
# github.com/hashicorp/vault@$VAULT_VERSION. The module zip excludes its
# nested modules (api/, sdk/), which its go.mod replaces with those local
# directories; the build points the replaces at the same modules as
# published (api $VAULT_API, sdk $VAULT_SDK, the versions its go.mod
# requires) and builds outside this repository, in a copy of the source.
# The binary is cached by version under VAULT_CACHE, outside the work tree,
# so it is built once per machine; a start then takes a second. A cold
# build compiles about 2,600 packages (Vault links every plugin and cloud
# SDK): far longer than CI's budget allows on 2 cores, which is why CI
# tests against the fake.
#   scripts/ci/vault.sh          # build if needed, start if needed
#   scripts/ci/vault.sh --path   # build if needed, print the binary's path
set -euo pipefail
cd "$(dirname "$0")/../.."
export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

VAULT_VERSION=v1.21.4
VAULT_API=v1.22.0
VAULT_SDK=v0.21.0
addr="${TEST_VAULT_ADDR:-http://127.0.0.1:8200}"
token="${TEST_VAULT_TOKEN:-modulith-test-root}"
cache="${VAULT_CACHE:-$(go env GOCACHE)/../modulith-vault}/$VAULT_VERSION"
bin="$cache/vault"

log() { printf 'vault: %s\n' "$*" >&2; }

healthy() { curl -fsS -o /dev/null --max-time 2 "$addr/v1/sys/health"; }

build() {
  [ -x "$bin" ] && return
  log "building vault $VAULT_VERSION from the Go module proxy into $cache (once; long: ~2,600 packages)"
  local start=$SECONDS modcache src
  go mod download "github.com/hashicorp/vault@$VAULT_VERSION" \
    "github.com/hashicorp/vault/api@$VAULT_API" "github.com/hashicorp/vault/sdk@$VAULT_SDK"
  modcache="$(go env GOMODCACHE)"
  # The same source path every time: the Go build cache keys the vault
  # module's own packages by it, so an interrupted build resumes.
  src="$cache/src"
  rm -rf "$src" && mkdir -p "$src"
  cp -r "$modcache/github.com/hashicorp/vault@$VAULT_VERSION/." "$src"
  chmod -R u+w "$src"
  sed -i \
    -e "s#^replace github.com/hashicorp/vault/api => ./api\$#replace github.com/hashicorp/vault/api => $modcache/github.com/hashicorp/vault/api@$VAULT_API#" \
    -e "s#^replace github.com/hashicorp/vault/sdk => ./sdk\$#replace github.com/hashicorp/vault/sdk => $modcache/github.com/hashicorp/vault/sdk@$VAULT_SDK#" \
    -e '/^replace github.com\/hashicorp\/vault\/api\/auth\//d' \
    "$src/go.mod"
  # -mod=mod: go.sum lacks the api/auth modules that the local replaces
  # used to provide; the proxy serves them as published.
  (cd "$src" && go build -mod=mod -trimpath -o "$bin.tmp" .)
  mv "$bin.tmp" "$bin"
  rm -rf "$src"
  log "built in $((SECONDS - start))s: $(du -h "$bin" | cut -f1) ($("$bin" version))"
}

if [ "${1:-}" = --path ]; then
  build
  echo "$bin"
  exit 0
fi

if healthy; then
  exit 0
fi

build
hostport="${addr#http://}"
mkdir -p .data
log "starting a dev server at $addr (log: .data/vault.log)"
# setsid: the server outlives this script, as redis-server --daemonize does.
setsid "$bin" server -dev -dev-root-token-id="$token" -dev-listen-address="$hostport" \
  -dev-no-store-token </dev/null >.data/vault.log 2>&1 &

for _ in $(seq 300); do # it is up within a second or two; give it 30s
  healthy && exit 0
  sleep 0.1
done

log "no dev server answers at $addr within 30s:"
tail -n 20 .data/vault.log >&2
exit 1
