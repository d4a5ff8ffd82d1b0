#!/usr/bin/env bash
# CI step "Helm chart": `make chart-check` (helm lint, helm template of each
# topology in deployment/helm/modulith/ci/, the strict-decode and code-drift
# test tools/chartcheck), then runs the monolith rendering with
# `podman kube play` against CI's PostgreSQL: the pod starts with the chart's
# own args, environment and container ports, and its /readyz must answer 200
# and its gRPC health SERVING.
#
# podman kube play runs Deployments, ConfigMaps and Secrets; it does not
# simulate Services, HPAs, PDBs, NetworkPolicies or Ingresses, so only
# templates/deployment.yaml and configmap.yaml are handed to it (helm
# --show-only). The chart's Secret (templates/secret.yaml) becomes a podman
# secret of the same name instead: podman 4.3 stores a kube Secret as YAML
# and then fails to read it back ("secret ... is not valid JSON"), while
# envFrom.secretRef reads a podman secret holding {"KEY": base64(value)}. The pod runs on a slirp4netns network with
# allow_host_loopback, so it reaches CI's PostgreSQL (listening on 127.0.0.1
# only) at 10.0.2.2; podman 4 publishes each containerPort on the same host
# port, where this script checks /readyz and gRPC health. (--network host
# fails in podman 4.3: "PortMappings can only be used with Bridge or
# slirp4netns networking".) The chart's ports are moved to free ones
# (values ports.*) so as not to collide with anything on 8080/9090/9100.
#
# Image: localhost/modulith/server:ci, which the image step builds; built
# here when absent, so the script also works alone. Idempotent; cleans up
# (kube down, drops its database) on exit.
#   CHART_IMAGE_TAG=dev scripts/ci/chart.sh   # reuse localhost/modulith/server:dev
set -euo pipefail
cd "$(dirname "$0")/../.."
export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

log() { printf 'chart: %s\n' "$*" >&2; }

chart=deployment/helm/modulith
tag="${CHART_IMAGE_TAG:-ci}"
image="localhost/modulith/server:${tag}"
admin_url="${CHART_DB_ADMIN_URL:-postgres://postgres:postgres@127.0.0.1:5432/postgres?sslmode=disable}"
helm=(go tool -modfile=tools/go.mod helm)

log "make chart-check (helm lint, helm template per topology, tools/chartcheck)"
[ "${CHART_SKIP_CHECK:-}" = 1 ] || make chart-check

log "podman: install and configure if needed (scripts/ci/podman-setup.sh)"
build_args=$(scripts/ci/podman-setup.sh)
need=()
for pkg in slirp4netns:slirp4netns curl:curl psql:postgresql-client; do
  command -v "${pkg%%:*}" >/dev/null || need+=("${pkg#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
if ! podman image exists "$image"; then
  log "building $image (absent)"
  args=()
  for a in $build_args; do args+=(--build-arg "$a"); done # GO_IMAGE=... RUNTIME_IMAGE=...
  podman build "${args[@]}" \
    --build-arg GOPROXY="$(go env GOPROXY)" --build-arg CMD=server -t "$image" .
fi

# A free TCP port from $1 up (nothing answers on it).
free_port() {
  local p=$1
  while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}
http_port=$(free_port 18080)
grpc_port=$(free_port 19090)
admin_port=$(free_port 19100)

db="chart_ci_$$"
# The same server as seen from the pod: slirp4netns maps 10.0.2.2 to the
# host's loopback.
server_url="${admin_url%%\?*}"
server_url="${server_url%/*}"
db_url="${server_url/@127.0.0.1:/@10.0.2.2:}"
db_url="${db_url/@localhost:/@10.0.2.2:}/${db}?sslmode=disable"
work=$(mktemp -d)
manifest="$work/monolith.yaml"

cleanup() {
  local rc=$?
  if [ -s "$manifest" ]; then
    log "podman kube down"
    podman kube down "$manifest" >/dev/null 2>&1 || true
  fi
  [ -n "${secret_name:-}" ] && podman secret rm "$secret_name" >/dev/null 2>&1
  psql -q "$admin_url" -c "DROP DATABASE IF EXISTS ${db} WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT

log "database $db on CI's PostgreSQL"
psql -q "$admin_url" -c "CREATE DATABASE ${db}"

log "rendering the monolith topology with $image, ports $http_port/$grpc_port/$admin_port"
"${helm[@]}" template ci "$chart" --namespace default \
  --values "$chart/ci/monolith-values.yaml" \
  --set image.repository=localhost/modulith --set server.image=server \
  --set image.tag="$tag" --set image.pullPolicy=Never \
  --set ports.http="$http_port" --set ports.grpc="$grpc_port" --set ports.admin="$admin_port" \
  --set-string secrets.dbDSN="$db_url" \
  --show-only templates/secret.yaml >"$work/secret.yaml"
"${helm[@]}" template ci "$chart" --namespace default \
  --values "$chart/ci/monolith-values.yaml" \
  --set image.repository=localhost/modulith --set server.image=server \
  --set image.tag="$tag" --set image.pullPolicy=Never \
  --set ports.http="$http_port" --set ports.grpc="$grpc_port" --set ports.admin="$admin_port" \
  --set-string secrets.dbDSN="$db_url" \
  --show-only templates/configmap.yaml --show-only templates/deployment.yaml >"$manifest"

# The Secret's stringData (KEY: "value" lines, as the template writes them)
# as the JSON podman reads: {"KEY": "<base64>"}.
secret_name=$(awk '/^metadata:/{m=1} m && /^  name:/{print $2; exit}' "$work/secret.yaml")
json=$(awk '/^stringData:/{s=1; next} s && /^  [A-Z0-9_]+: "/{print} s && /^[^ ]/{s=0}' "$work/secret.yaml" |
  while IFS= read -r line; do
    key=${line%%:*}; key=${key# }; key=${key# }
    val=${line#*: \"}; val=${val%\"}
    case $val in *\\*) log "FAIL: $key has an escaped character this script does not decode"; exit 1 ;; esac
    printf '"%s":"%s",' "$key" "$(printf '%s' "$val" | base64 -w0)"
  done)
[ -n "$json" ] || { log "FAIL: no stringData in the rendered Secret"; exit 1; }
podman secret rm "$secret_name" >/dev/null 2>&1 || true
printf '{%s}' "${json%,}" | podman secret create "$secret_name" - >/dev/null
log "podman secret $secret_name from the chart's Secret, keys: $(grep -oE '"[A-Z0-9_]+":' <<<"$json" | tr -d '":' | tr '\n' ' ')"
log "handed to podman kube play: $(grep -E '^kind:' "$manifest" | sort | uniq -c | tr -s ' \n' ' ')"

log "podman kube play --network slirp4netns:allow_host_loopback=true"
log "(podman turns the liveness probe into a healthcheck timer and says 'unable to get systemd connection' where no systemd runs: harmless, this script checks /readyz and gRPC health itself)"
podman kube play --network slirp4netns:allow_host_loopback=true "$manifest"

# podman names the Deployment's pod <deployment>-pod-0 (4.3) or
# <deployment>-pod, and its container <pod>-<container>.
pod=$(podman pod ps --filter name=ci-modulith-server-pod --format '{{.Name}}' | head -n 1)
ctr=$(podman ps -a --filter pod="$pod" --format '{{.Names}}' | grep -- '-server$' | head -n 1)
[ -n "$ctr" ] || { log "FAIL: no server container in pod '$pod'"; podman pod ps >&2; exit 1; }
log "waiting for /readyz on 127.0.0.1:$http_port (up to 120s)"
code=000
deadline=$((SECONDS + 120))
while [ "$SECONDS" -lt "$deadline" ]; do
  code=$(curl -s --max-time 2 -o "$work/readyz" -w '%{http_code}' "http://127.0.0.1:$http_port/readyz" || true)
  [ "$code" = 200 ] && break
  sleep 1
done

podman pod ps --filter name="$pod" >&2
podman ps -a --pod --filter pod="$pod" --format '{{.Names}} {{.Image}} {{.Command}} {{.Status}}' >&2
log "container args and environment names (values are not printed):"
podman inspect "$ctr" --format 'user={{.Config.User}} readonly-root={{.HostConfig.ReadonlyRootfs}} cap-drop={{.HostConfig.CapDrop}} entrypoint={{.Config.Entrypoint}} args={{.Config.Cmd}}' >&2
podman inspect "$ctr" --format '{{range .Config.Env}}{{println .}}{{end}}' | cut -d= -f1 | sort | tr '\n' ' ' >&2
echo >&2

if [ "$code" != 200 ]; then
  log "FAIL: /readyz answered $code; the container's log:"
  podman logs --tail 40 "$ctr" >&2 || true
  exit 1
fi
log "/readyz 200: $(cat "$work/readyz")"

log "gRPC health on 127.0.0.1:$grpc_port"
# ENV=prod turns reflection off: grpcurl gets the service from its proto
# (grpc.health.v1, the part Check uses).
cat >"$work/health.proto" <<'PROTO'
syntax = "proto3";
package grpc.health.v1;
message HealthCheckRequest { string service = 1; }
message HealthCheckResponse {
  enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2; SERVICE_UNKNOWN = 3; }
  ServingStatus status = 1;
}
service Health { rpc Check(HealthCheckRequest) returns (HealthCheckResponse); }
PROTO
health=$(go tool -modfile=tools/go.mod grpcurl -plaintext -max-time 10 -import-path "$work" -proto health.proto \
  "127.0.0.1:$grpc_port" grpc.health.v1.Health/Check)
echo "$health" >&2
grep -q '"status": "SERVING"' <<<"$health" || { log "FAIL: gRPC health is not SERVING"; exit 1; }

log "the server's start-up log (migrations, listeners):"
podman logs "$ctr" 2>&1 | grep -E '"msg":"(migrat|applied|listening|serving)[^"]*"|level":"(ERROR|WARN)' | head -n 20 >&2 || true

log "ok: the monolith rendering runs under podman kube play and answers /readyz 200 and gRPC SERVING"
