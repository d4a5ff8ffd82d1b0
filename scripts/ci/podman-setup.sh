#!/usr/bin/env bash
# Makes Podman run containers on a Debian machine without a Docker engine
# (CI's, ours) and builds the local stand-ins for the public base images the
# Dockerfile names, since no image registry can be reached here:
#
#   localhost/debian:bookworm        debootstrap of Debian's own packages
#   localhost/golang:<go>-bookworm   that + the Go toolchain go.mod asks for
#   localhost/static:nonroot         distroless static's nonroot stand-in
#
# Idempotent: installs only what is missing and builds an image only when it
# is absent, so the steps of one CI run (image, chart) share them. The recipe
# is ../shared/CONTAINERS.md. Prints the build arguments for the Dockerfile:
#   GO_IMAGE=localhost/golang:...  RUNTIME_IMAGE=localhost/static:nonroot
set -euo pipefail

log() { printf 'podman-setup: %s\n' "$*" >&2; }

need=()
for bin in podman runc debootstrap; do
  command -v "$bin" >/dev/null || need+=("$bin")
done
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]} from Debian's packages"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap >&2
fi

# crun refuses the hybrid cgroup layout here and the sandbox refuses the
# rlimits podman sets by default.
if ! grep -q '^runtime = "runc"' /etc/containers/containers.conf 2>/dev/null; then
  log "configuring /etc/containers/containers.conf (runc, cgroupfs, no default ulimits)"
  mkdir -p /etc/containers
  cat > /etc/containers/containers.conf <<'CONF'
[containers]
default_ulimits = []

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
CONF
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! podman image exists localhost/debian:bookworm; then
  mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  log "debootstrap bookworm from $mirror (2-5 minutes, once)"
  debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >&2
  tar -C "$work/rootfs" -c . | podman import --change 'CMD ["/bin/bash"]' - localhost/debian:bookworm >&2
  rm -rf "$work/rootfs"
fi

# The toolchain go.mod names (GOTOOLCHAIN is exported by the caller), so the
# image builds with exactly the Go that CI tests with.
goroot=$(go env GOROOT)
gover=$(go env GOVERSION)
goimage="localhost/golang:${gover#go}-bookworm"
if ! podman image exists "$goimage"; then
  log "building $goimage from $goroot"
  mkdir -p "$work/gob"
  cp -a "$goroot" "$work/gob/go"
  cp /etc/ssl/certs/ca-certificates.crt "$work/gob/"
  printf 'FROM localhost/debian:bookworm\nCOPY go /usr/local/go\nCOPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt\nENV PATH=/usr/local/go/bin:$PATH GOTOOLCHAIN=local\n' > "$work/gob/Containerfile"
  podman build -q -t "$goimage" "$work/gob" >&2
fi

if ! podman image exists localhost/static:nonroot; then
  log "building localhost/static:nonroot"
  mkdir -p "$work/static"
  cp /etc/ssl/certs/ca-certificates.crt "$work/static/"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "$work/static/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' > "$work/static/group"
  printf 'FROM scratch\nCOPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt\nCOPY passwd /etc/passwd\nCOPY group /etc/group\nUSER 65532:65532\n' > "$work/static/Containerfile"
  podman build -q -t localhost/static:nonroot "$work/static" >&2
fi

echo "GO_IMAGE=$goimage RUNTIME_IMAGE=localhost/static:nonroot"
