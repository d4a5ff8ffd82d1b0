#!/usr/bin/env bash
# CI step "dashboards, alert rules, compose": installs promtool (once, from
# Debian's prometheus package, unpacked, not installed), checks the Helm
# chart's Prometheus rules and runs their unit tests, and validates the
# compose stack (compose-go, the loader of `docker compose config`) and the
# Prometheus configuration it mounts. The test that the dashboards and rules
# read only metrics the binaries export runs in `make test` (examples).
set -euo pipefail
cd "$(dirname "$0")/../.."
export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}"

echo "observability: promtool"
scripts/ci/promtool.sh

echo "observability: make rules-check"
make rules-check

echo "observability: make compose-check"
make compose-check
