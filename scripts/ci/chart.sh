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
# Then the scaled rendering (ci/scaled-values.yaml: ENV=prod, a server that
# leaves events to a worker, NATS JetStream) runs the same way, each
# Deployment on ports of its own, against CI's NATS: a sign-in request to
# the server must reach the worker, whose /metrics counts the event handled.
#
# Images: localhost/modulith/server:ci and worker:ci, which the image step
# builds; built here the same way (make image) when absent, so the script
# also works alone. Readiness and gRPC health are checked from the host
# with scripts/smoke, as the image step does. Idempotent; cleans up
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
# The images, when absent, as the image step builds them (make image).
read -r -a base_args <<<"$build_args" # GO_IMAGE=... RUNTIME_IMAGE=...
make_args=(CONTAINER_ENGINE=podman IMAGE_REPO=localhost/modulith IMAGE_TAG="$tag" "${base_args[@]}" "GOPROXY=$(go env GOPROXY)")
podman image exists "localhost/modulith/server:$tag" || make --no-print-directory image "${make_args[@]}"
podman image exists "localhost/modulith/worker:$tag" || make --no-print-directory image-module MODULE=worker "${make_args[@]}"

# A free TCP port from $1 up (nothing answers on it).
free_port() {
  local p=$1
  while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}

# CI's PostgreSQL as seen from a pod: slirp4netns maps 10.0.2.2 to the host's
# loopback. pod_db_url NAME is the URL of database NAME there.
server_url="${admin_url%%\?*}"
server_url="${server_url%/*}"
pod_db_url() {
  local u="${server_url/@127.0.0.1:/@10.0.2.2:}"
  echo "${u/@localhost:/@10.0.2.2:}/$1?sslmode=disable"
}

db="chart_ci_$$"
scaled_db="chart_ci_scaled_$$"
work=$(mktemp -d)
manifests=()
secrets=()

cleanup() {
  local rc=$?
  local m s
  for m in "${manifests[@]}"; do
    log "podman kube down $(basename "$m")"
    podman kube down "$m" >/dev/null 2>&1 || true
  done
  for s in "${secrets[@]}"; do podman secret rm "$s" >/dev/null 2>&1 || true; done
  psql -q "$admin_url" -c "DROP DATABASE IF EXISTS ${db} WITH (FORCE)" >/dev/null 2>&1 || true
  psql -q "$admin_url" -c "DROP DATABASE IF EXISTS ${scaled_db} WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT

# podman_secret FILE makes a podman secret of the Secret helm rendered into
# FILE: its stringData (KEY: "value" lines, as the template writes them) as
# the JSON podman reads, {"KEY": "<base64>"}.
podman_secret() {
  local name json
  name=$(awk '/^metadata:/{m=1} m && /^  name:/{print $2; exit}' "$1")
  json=$(awk '/^stringData:/{s=1; next} s && /^  [A-Z0-9_]+: "/{print} s && /^[^ ]/{s=0}' "$1" |
    while IFS= read -r line; do
      key=${line%%:*}; key=${key# }; key=${key# }
      val=${line#*: \"}; val=${val%\"}
      case $val in *\\*) log "FAIL: $key has an escaped character this script does not decode"; exit 1 ;; esac
      printf '"%s":"%s",' "$key" "$(printf '%s' "$val" | base64 -w0)"
    done)
  [ -n "$json" ] || { log "FAIL: no stringData in the rendered Secret"; exit 1; }
  podman secret rm "$name" >/dev/null 2>&1 || true
  printf '{%s}' "${json%,}" | podman secret create "$name" - >/dev/null
  secrets+=("$name")
  log "podman secret $name from the chart's Secret, keys: $(grep -oE '"[A-Z0-9_]+":' <<<"$json" | tr -d '":' | tr '\n' ' ')"
}

# component DOCS COMPONENT prints the documents of a rendered manifest that
# belong to one component (app.kubernetes.io/component).
component() {
  awk -v want="app.kubernetes.io/component: $2" '
    /^---/ { if (keep) printf "%s", doc; doc = ""; keep = 0 }
    { doc = doc $0 "\n"; if (index($0, want)) keep = 1 }
    END { if (keep) printf "%s", doc }' "$1"
}

# container DEPLOYMENT CONTAINER is the podman name of a Deployment's
# container: podman names the pod <deployment>-pod-0 (4.3) or
# <deployment>-pod, and the container <pod>-<container>.
container() {
  local pod ctr
  pod=$(podman pod ps --filter name="$1-pod" --format '{{.Name}}' | head -n 1)
  ctr=$(podman ps -a --filter pod="$pod" --format '{{.Names}}' | grep -- "-$2\$" | head -n 1)
  [ -n "$ctr" ] || { log "FAIL: no $2 container in pod '$pod'"; podman pod ps >&2; exit 1; }
  echo "$ctr"
}

# ready CONTAINER SMOKE-FLAGS... checks the container from the host with
# scripts/smoke (it polls /readyz and, with -checks grpc, gRPC health until
# they answer, for up to 2 minutes), after printing the container's
# settings; on failure it prints the container's log.
ready() {
  local ctr=$1
  shift
  podman ps -a --filter name="$ctr" --format '{{.Names}} {{.Image}} {{.Command}} {{.Status}}' >&2
  log "$ctr: args and environment names (values are not printed):"
  podman inspect "$ctr" --format 'user={{.Config.User}} readonly-root={{.HostConfig.ReadonlyRootfs}} cap-drop={{.HostConfig.CapDrop}} entrypoint={{.Config.Entrypoint}} args={{.Config.Cmd}}' >&2
  podman inspect "$ctr" --format '{{range .Config.Env}}{{println .}}{{end}}' | cut -d= -f1 | sort | tr '\n' ' ' >&2
  echo >&2
  if ! "$work/smoke" -timeout 2m "$@" >&2; then
    log "FAIL: $ctr is not ready; its log:"
    podman logs --tail 40 "$ctr" >&2 || true
    exit 1
  fi
}

kube_play() {
  log "handed to podman kube play: $(grep -E '^kind:' "$1" | sort | uniq -c | tr -s ' \n' ' ')"
  log "podman kube play --network slirp4netns:allow_host_loopback=true $(basename "$1")"
  log "(podman turns the liveness probe into a healthcheck timer and says 'unable to get systemd connection' where no systemd runs: harmless, this script checks /readyz and gRPC health itself)"
  manifests+=("$1")
  podman kube play --network slirp4netns:allow_host_loopback=true "$1"
}

log "building the smoke test client (scripts/smoke)"
go build -o "$work/smoke" ./scripts/smoke

# --- monolith: the server alone ----------------------------------------------
http_port=$(free_port 18080)
grpc_port=$(free_port 19090)
admin_port=$(free_port 19100)
manifest="$work/monolith.yaml"

log "database $db on CI's PostgreSQL"
psql -q "$admin_url" -c "CREATE DATABASE ${db}"

log "rendering the monolith topology with $image, ports $http_port/$grpc_port/$admin_port"
monolith=("${helm[@]}" template ci "$chart" --namespace default
  --values "$chart/ci/monolith-values.yaml"
  --set image.repository=localhost/modulith --set server.image=server
  --set image.tag="$tag" --set image.pullPolicy=Never
  --set ports.http="$http_port" --set ports.grpc="$grpc_port" --set ports.admin="$admin_port"
  --set-string secrets.dbDSN="$(pod_db_url "$db")")
"${monolith[@]}" --show-only templates/secret.yaml >"$work/secret.yaml"
"${monolith[@]}" --show-only templates/configmap.yaml --show-only templates/deployment.yaml >"$manifest"
podman_secret "$work/secret.yaml"
kube_play "$manifest"
ctr=$(container ci-modulith-server server)
# /readyz 200, gRPC health SERVING for the server and auth.v1.AuthService
# (ENV=prod: no reflection; smoke has the health client compiled in).
ready "$ctr" -checks readyz,grpc -http "http://127.0.0.1:$http_port" -grpc "127.0.0.1:$grpc_port"

log "the server's start-up log (migrations, listeners):"
podman logs "$ctr" 2>&1 | grep -E '"msg":"(migrat|applied|listening|serving)[^"]*"|level":"(ERROR|WARN)' | head -n 20 >&2 || true

log "ok: the monolith rendering runs under podman kube play and answers /readyz 200 and gRPC SERVING"
podman kube down "$manifest" >/dev/null 2>&1

# --- scaled: the server and a worker over NATS JetStream ----------------------
# ci/scaled-values.yaml as is (ENV=prod, EVENTS_TRANSPORT=nats, the server
# with EVENTS_CONSUME=false, SMTP), but with a chart-made Secret instead of
# existingSecret, without the preStop sleep (Kubernetes 1.30+, which
# podman 4.3 does not know), and one worker replica (podman starts every
# replica of a Deployment as a pod, on the same host ports). The two Deployments are rendered with their own
# ports, since podman publishes every containerPort on the host. A sign-in
# request to the server must reach the worker as an event through CI's NATS:
# the worker's auth-notifier handles it (and fails to send, as
# smtp.example.com does not exist here), which its /metrics counts.
nats_url="nats://10.0.2.2:${CHART_NATS_PORT:-4222}"
log "database $scaled_db on CI's PostgreSQL; NATS at $nats_url from the pods"
psql -q "$admin_url" -c "CREATE DATABASE ${scaled_db}"
jwt=$(head -c 48 /dev/urandom | base64 -w0)
scaled=("${helm[@]}" template ci-scaled "$chart" --namespace default
  --values "$chart/ci/scaled-values.yaml"
  --set image.repository=localhost/modulith --set image.tag="$tag" --set image.pullPolicy=Never
  --set secrets.existingSecret= --set-string secrets.dbDSN="$(pod_db_url "$scaled_db")"
  --set-string secrets.jwtSecret="$jwt" --set-string secrets.natsURL="$nats_url"
  --set shutdown.preStopSleepSeconds=0 --set worker.replicas=1)
sh_port=$(free_port 28080) sg_port=$(free_port 29090) sa_port=$(free_port 29100)
wh_port=$(free_port $((sh_port + 1))) wg_port=$(free_port $((sg_port + 1))) wa_port=$(free_port $((sa_port + 1)))
"${scaled[@]}" --show-only templates/secret.yaml >"$work/scaled-secret.yaml"
podman_secret "$work/scaled-secret.yaml"
"${scaled[@]}" --set ports.http="$sh_port" --set ports.grpc="$sg_port" --set ports.admin="$sa_port" \
  --show-only templates/configmap.yaml --show-only templates/deployment.yaml >"$work/scaled-server-all.yaml"
"${scaled[@]}" --set ports.http="$wh_port" --set ports.grpc="$wg_port" --set ports.admin="$wa_port" \
  --show-only templates/configmap.yaml --show-only templates/deployment.yaml >"$work/scaled-worker-all.yaml"
{ component "$work/scaled-server-all.yaml" server; component "$work/scaled-worker-all.yaml" worker; } >"$work/scaled.yaml"
kube_play "$work/scaled.yaml"
server_ctr=$(container ci-scaled-modulith-server server)
worker_ctr=$(container ci-scaled-modulith-worker worker)
ready "$server_ctr" -checks readyz -http "http://127.0.0.1:$sh_port"
ready "$worker_ctr" -checks readyz -http "http://127.0.0.1:$wh_port"

log "POST /v1/auth/login/request on the server: the event goes to the worker over NATS"
code=$(curl -s --max-time 10 -o "$work/login" -w '%{http_code}' -H 'Content-Type: application/json' \
  -d '{"email":"scaled@example.com"}' "http://127.0.0.1:$sh_port/v1/auth/login/request" || true)
[ "$code" = 200 ] || { log "FAIL: login request answered $code: $(cat "$work/login")"; podman logs --tail 20 "$server_ctr" >&2; exit 1; }
handled=
deadline=$((SECONDS + 60))
while [ "$SECONDS" -lt "$deadline" ]; do
  handled=$(curl -s --max-time 2 "http://127.0.0.1:$wa_port/metrics" |
    grep -E '^events_handled_total\{[^}]*subscriber="auth-notifier"[^}]*\} [1-9]' || true)
  [ -n "$handled" ] && break
  sleep 1
done
[ -n "$handled" ] || { log "FAIL: the worker handled no auth-notifier event within 60s; its log:"; podman logs --tail 30 "$worker_ctr" >&2; exit 1; }
log "the worker's /metrics: $handled"
log "ok: the scaled rendering (server + worker, NATS) runs under podman kube play; an event published by the server was handled by the worker"
