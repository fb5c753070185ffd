#!/usr/bin/env bash
# Runs every test of Portcullis on a fresh Debian 12 machine: installs the
# Debian packages it needs, fetches the Kafka broker's jars (into a cache
# outside the repo), builds, checks formatting and the deployment artifacts,
# brings up the throwaway PostgreSQL and Kafka (scripts/infra.sh), runs CTest
# (unit and integration suites) and takes the infrastructure down again.
#
# Usage: scripts/test.sh [ctest arguments, e.g. -L unit or -R http]
# Environment: PORTCULLIS_KEEP_INFRA=1 leaves PostgreSQL and Kafka running.
set -euo pipefail
SCRIPTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=scripts/lib.sh
source "$SCRIPTS_DIR/lib.sh"
REPO=$(cd "$SCRIPTS_DIR/.." && pwd -P)
cd "$REPO"

"$SCRIPTS_DIR/deps.sh"
"$SCRIPTS_DIR/check-style.sh"
# Where Go is installed, helm is built with `go install` once (cached in
# GOPATH) so the chart is linted and rendered on every run, CI included.
install_helm=0
if command -v go >/dev/null 2>&1; then install_helm=1; fi
PORTCULLIS_INSTALL_HELM=${PORTCULLIS_INSTALL_HELM:-$install_helm} "$SCRIPTS_DIR/check-deploy.sh"
"$SCRIPTS_DIR/build.sh"

# Only take down what this run brought up.
started_infra=0
if ! "$SCRIPTS_DIR/infra.sh" status >/dev/null 2>&1; then started_infra=1; fi
cleanup() {
  if [[ $started_infra == 1 && ${PORTCULLIS_KEEP_INFRA:-0} != 1 ]]; then
    # Quietly: the test runner's summary stays the last thing printed.
    "$SCRIPTS_DIR/infra.sh" down >/dev/null 2>&1 || warn "infra.sh down failed"
  fi
}
trap cleanup EXIT

# CTest's infra_up fixture starts (or reuses) the servers before the
# integration suites; unit suites run two at a time meanwhile.
cd build
ctest --output-on-failure --no-label-summary -j2 "$@"
