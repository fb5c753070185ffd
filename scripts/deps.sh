#!/usr/bin/env bash
# Install every Debian package Portcullis needs to build, test and run its
# local infrastructure (Debian 12). Idempotent: when everything is installed
# it only runs dpkg-query and exits.
#
# Usage: scripts/deps.sh [--check]
#   --check   only report missing packages (exit 1 if any), install nothing
set -euo pipefail

# The one list of packages. Keep it sorted by purpose.
PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config git
  # C++ libraries
  libpqxx-dev libpistache-dev librdkafka-dev libprotobuf-dev protobuf-compiler
  prometheus-cpp-dev libgtest-dev libgmock-dev libseccomp-dev
  nlohmann-json3-dev libssl-dev zlib1g-dev libzstd-dev libyaml-cpp-dev
  # code quality
  clang-format clang-tidy shellcheck
  # promtool (checks Prometheus rules and metrics)
  prometheus
  # local infrastructure: PostgreSQL 15, Kafka broker on Java, kcat client
  postgresql-15 openjdk-17-jre-headless maven kcat
  # scripts
  ca-certificates openssl curl python3 python3-venv iproute2 procps
  # the agent's tests: runc runs the OCI bundle, jq edits its config.json,
  # unshare (util-linux) gives a PID namespace
  runc jq util-linux
)

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

check_only=0
case "${1:-}" in
  "") ;;
  --check) check_only=1 ;;
  -h | --help)
    sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *) die "unknown argument '$1' (usage: deps.sh [--check])" ;;
esac

command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: this script supports Debian only"

# missing_packages PKG...: print the ones dpkg does not report as fully
# installed (one dpkg-query call for all of them).
missing_packages() {
  local -A ok=()
  local name status pkg
  while IFS=' ' read -r name status; do
    [[ $status == "install ok installed" ]] && ok[$name]=1
  done < <(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null || true)
  for pkg in "$@"; do
    [[ -n ${ok[$pkg]:-} ]] || printf '%s\n' "$pkg"
  done
}

mapfile -t missing < <(missing_packages "${PACKAGES[@]}")

if [[ ${#missing[@]} -eq 0 ]]; then
  log "all ${#PACKAGES[@]} packages are installed"
  exit 0
fi

log "missing packages: ${missing[*]}"
if [[ $check_only -eq 1 ]]; then
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
log "running apt-get update"
as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 ||
  die "apt-get update failed"
log "installing ${#missing[@]} package(s)"
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
  --no-install-recommends "${missing[@]}" >&2 ||
  die "apt-get install failed for: ${missing[*]}"

# Verify: apt-get can succeed while a package stays half-configured.
mapfile -t still < <(missing_packages "${missing[@]}")
[[ ${#still[@]} -eq 0 ]] || die "still not installed after apt-get: ${still[*]}"
log "installed: ${missing[*]}"
