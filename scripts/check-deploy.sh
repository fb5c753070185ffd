#!/usr/bin/env bash
# Validate Portcullis' deployment artifacts without a Docker engine or a cluster.
#
#   docker-compose.yml   compose-spec JSON schema + structural checks (ports on
#                        127.0.0.1, depends_on targets, no literal secrets, TLS,
#                        the services' ports/dependencies/roles)
#   deploy/Dockerfile    stages, non-root USER, COPY sources vs .dockerignore,
#                        every apt package name checked with apt-cache
#   helm/portcullis      helm lint --strict, helm template with several value
#                        sets + checks of the rendered manifests, and values the
#                        chart must reject
#   schema/openapi       openapi-spec-validator + the error/health contract
#   shell scripts        bash -n / sh -n; shellcheck when installed
#
# Usage: scripts/check-deploy.sh
#
# Environment:
#   PORTCULLIS_CACHE_DIR      where the venv and downloads live
#                             (default: $HOME/.cache/portcullis)
#   PORTCULLIS_INSTALL_HELM=1 when no helm is found, build it with
#                             `go install helm.sh/helm/v3/cmd/helm@v3.22.0`
#                             (a few minutes); otherwise the Helm checks are skipped
#
# Exit status: 0 when every check that ran passed, 1 otherwise. Skipped checks
# are listed with the reason and do not fail the run.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case "${1:-}" in
  "") ;;
  -h | --help)
    sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *) die "unknown argument '$1' (usage: check-deploy.sh)" ;;
esac

HELM_VERSION=v3.22.0
repo=$PORTCULLIS_REPO
cache=${PORTCULLIS_CACHE_DIR:-$HOME/.cache/portcullis}
venv=$cache/venv
lint=(python3 "$repo/deploy/tools/deploy_lint.py")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

passed=()
failed=()
skipped=()

# check NAME CMD...: run CMD, show its output indented, record the result.
# CMD runs in an `if`, where errexit is off: functions run through it must
# return their failures explicitly.
check() {
  local name=$1
  shift
  printf '== %s\n' "$name"
  if "$@" >"$work/out" 2>&1; then
    sed 's/^/   /' "$work/out"
    passed+=("$name")
  else
    sed 's/^/   /' "$work/out"
    printf '   FAILED: %s\n' "$name"
    failed+=("$name")
  fi
}

# check_fails NAME CMD...: CMD must fail (a value the chart must reject).
check_fails() {
  local name=$1
  shift
  printf '== %s\n' "$name"
  if "$@" >"$work/out" 2>&1; then
    printf '   FAILED: accepted, but must be rejected\n'
    failed+=("$name")
  else
    sed -n '1,3s/^/   rejected as expected: /p' "$work/out"
    passed+=("$name")
  fi
}

skip() {
  printf '== %s\n   SKIPPED: %s\n' "$1" "$2"
  skipped+=("$1 ($2)")
}

# --- Python tools: a venv of their own, created once, refreshed when the pins change.
setup_venv() { ensure_venv "$venv" "$repo/deploy/tools/requirements.txt" bin/python; }

# The compose-spec schema, unpacked from the hash-pinned docker-compose wheel.
compose_schema() {
  local pins=$repo/deploy/tools/compose-schema.txt dir want
  want=$(sha256sum "$pins" | cut -d' ' -f1)
  dir=$cache/compose-schema-$want
  if [[ ! -s $dir/compose_spec.json ]]; then
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp" || return 1
    "$venv/bin/pip" download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
      --require-hashes -r "$pins" -d "$dir.tmp" >&2 || return 1
    "$venv/bin/python" - "$dir.tmp" <<'PY' || return 1
import glob, sys, zipfile
d = sys.argv[1]
with zipfile.ZipFile(glob.glob(f"{d}/*.whl")[0]) as z:
    data = z.read("compose/config/compose_spec.json")
open(f"{d}/compose_spec.json", "wb").write(data)
PY
    mkdir -p "$dir" && mv "$dir.tmp/compose_spec.json" "$dir/compose_spec.json" || return 1
    rm -rf "$dir.tmp"
  fi
  printf '%s\n' "$dir/compose_spec.json"
}

# render_and_check HELM NAME LINT-ARGS... [-- HELM-ARGS...]: helm template the
# chart with HELM-ARGS, then check the manifests with deploy_lint.py helm LINT-ARGS.
render_and_check() {
  local helm=$1 out=$work/$2.yaml
  shift 2
  local lint_args=()
  while [[ $# -gt 0 && $1 != -- ]]; do
    lint_args+=("$1")
    shift
  done
  [[ $# -gt 0 ]] && shift
  "$helm" template rel helm/portcullis "$@" >"$out" || return 1
  "${lint[@]}" helm --rendered "$out" "${lint_args[@]}"
}

# shell_syntax FILE...: sh -n for the POSIX healthcheck, bash -n for the rest.
shell_syntax() {
  local f rc=0
  sh -n deploy/healthcheck.sh || rc=1
  for f in "$@"; do bash -n "$f" || rc=1; done
  return $rc
}

# dev_certs: the compose dev certificate generates and verifies against its CA.
dev_certs() {
  deploy/compose/gen-dev-certs.sh "$work/certs" || return 1
  openssl verify -CAfile "$work/certs/ca.crt" "$work/certs/tls.crt" || return 1
  openssl x509 -in "$work/certs/tls.crt" -noout -checkhost registry | grep -q 'does match' || return 1
  openssl x509 -in "$work/certs/tls.crt" -noout -checkip 127.0.0.1 | grep -q 'does match' || return 1
}

find_helm() {
  local h gopath
  if h=$(command -v helm 2>/dev/null); then
    printf '%s\n' "$h"
    return 0
  fi
  if command -v go >/dev/null 2>&1; then
    gopath=$(go env GOPATH)
    if [[ -x $gopath/bin/helm ]]; then
      printf '%s\n' "$gopath/bin/helm"
      return 0
    fi
    if [[ ${PORTCULLIS_INSTALL_HELM:-0} == 1 ]]; then
      log "building helm $HELM_VERSION with go install (takes a few minutes)"
      GOFLAGS=-mod=mod go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2 || return 1
      printf '%s\n' "$gopath/bin/helm"
      return 0
    fi
  fi
  return 1
}

# ---------------------------------------------------------------------------
cd "$repo"

if setup_venv; then
  lint=("$venv/bin/python" "$repo/deploy/tools/deploy_lint.py")
  venv_ok=1
else
  failed+=("python venv")
  venv_ok=0
  warn "could not create the venv in $venv: the Python-based checks cannot run"
fi

if [[ $venv_ok == 1 ]]; then
  if schema=$(compose_schema); then
    check "compose: compose-spec schema + structure" "${lint[@]}" compose --repo "$repo" --compose-schema "$schema"
  else
    failed+=("compose: fetch compose-spec schema")
  fi
  check "dockerfile: structure, COPY sources, apt packages" "${lint[@]}" dockerfile --repo "$repo"
  check "openapi: openapi-spec-validator" "$venv/bin/openapi-spec-validator" schema/openapi/portcullis.yaml
  check "openapi: error and health contract" "${lint[@]}" openapi --repo "$repo"
fi

if command -v openssl >/dev/null 2>&1; then
  check "compose: development certificates" dev_certs
else
  skip "compose: development certificates" "openssl not installed"
fi

# docker compose itself, where a compose plugin exists.
if docker compose version >/dev/null 2>&1; then
  sed 's/^\([A-Z_]*PASSWORD\)=$/\1=check-placeholder/' deploy/compose/.env.example >"$work/compose.env"
  check "compose: docker compose config" docker compose --env-file "$work/compose.env" config --quiet
else
  skip "compose: docker compose config" "no docker compose plugin on this machine; schema checks above cover the file"
fi

# Helm.
if helm=$(find_helm); then
  chart=helm/portcullis
  check "helm: lint --strict (defaults)" "$helm" lint --strict "$chart"
  check "helm: lint --strict (tls off, pdb on)" "$helm" lint --strict "$chart" \
    --set tls.enabled=false --set podDisruptionBudget.enabled=true
  if [[ $venv_ok == 1 ]]; then
    check "helm: template (defaults) + rendered checks" \
      render_and_check "$helm" default --expect tls
    check "helm: template (tls off, pdb on) + rendered checks" \
      render_and_check "$helm" plain --expect plaintext --expect-pdb -- \
      --set tls.enabled=false --set podDisruptionBudget.enabled=true
    check "helm: template (no ServiceAccount, digest) + rendered checks" \
      render_and_check "$helm" nosa --expect tls -- --set serviceAccount.create=false \
      --set image.digest=sha256:0000000000000000000000000000000000000000000000000000000000000000
  fi
  check_fails "helm: rejects logLevel=verbose" "$helm" template rel "$chart" --set logLevel=verbose
  check_fails "helm: rejects TLS on without a secret" "$helm" template rel "$chart" --set tls.secretName=
  check_fails "helm: rejects a privileged port" "$helm" template rel "$chart" --set services.registry.port=80
  check_fails "helm: rejects an unknown service key" "$helm" template rel "$chart" --set services.registry.replica=3
elif [[ ${PORTCULLIS_INSTALL_HELM:-0} == 1 ]]; then
  printf '== helm: install\n   FAILED: PORTCULLIS_INSTALL_HELM=1 but helm %s could not be built (is go installed?)\n' "$HELM_VERSION"
  failed+=("helm: install")
else
  skip "helm: lint + template" "helm not found on PATH or in \$(go env GOPATH)/bin; set PORTCULLIS_INSTALL_HELM=1 to build $HELM_VERSION with go install"
fi

# Shell scripts.
sh_scripts=(deploy/compose/gen-dev-certs.sh deploy/compose/postgres-init/*.sh scripts/check-deploy.sh)
check "shell: syntax" shell_syntax "${sh_scripts[@]}"
if command -v shellcheck >/dev/null 2>&1; then
  check "shell: shellcheck" shellcheck -x deploy/healthcheck.sh "${sh_scripts[@]}"
else
  skip "shell: shellcheck" "shellcheck not installed (apt-get install shellcheck)"
fi

# ---------------------------------------------------------------------------
printf '\n'
for s in "${skipped[@]}"; do printf 'skipped: %s\n' "$s"; done
for f in "${failed[@]}"; do printf 'failed:  %s\n' "$f"; done
printf 'check-deploy: %d passed, %d failed, %d skipped\n' "${#passed[@]}" "${#failed[@]}" "${#skipped[@]}"
[[ ${#failed[@]} -eq 0 ]]
