#!/usr/bin/env bash
# Prints the path of promtool, installing it once under .cache/promtool/.
#
# promtool comes from Debian's prometheus package. Installing that package
# would also start a Prometheus service on :9090, so the package is only
# downloaded (apt-get download) and unpacked (dpkg-deb -x) into the cache.
# Progress goes to stderr; stdout is the path alone:
#   "$(scripts/ci/promtool.sh)" check rules deployment/helm/modulith/files/prometheus/alerts.yaml
set -euo pipefail
cd "$(dirname "$0")/../.."

dir=.cache/promtool
bin="$dir/usr/bin/promtool"

if [ ! -x "$bin" ]; then
  echo "promtool: downloading Debian's prometheus package into $dir (once)" >&2
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  # apt-get download writes into the current directory; the _apt user cannot
  # write to a mktemp directory, so apt warns and downloads as root.
  (cd "$tmp" && apt-get download prometheus >&2) || {
    echo "promtool: apt-get download failed; running apt-get update and retrying" >&2
    apt-get update >&2
    (cd "$tmp" && apt-get download prometheus >&2)
  }
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  dpkg-deb -x "$tmp"/prometheus_*.deb "$dir.tmp"
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
  "$bin" --version >&2
fi

echo "$PWD/$bin"
