#!/usr/bin/env bash
# Contract test of the registry's REST API: the running service against
# schema/openapi/portcullis.yaml, with schemathesis.
#
#   1. a Python venv with the pinned schemathesis (tests/api/requirements.txt)
#      in ${PORTCULLIS_CACHE_DIR:-~/.cache/portcullis}/venv-api, made once;
#   2. portcullis-registry started over TLS on a free loopback port with the
#      infrastructure env file (PostgreSQL, TLS, operator token);
#   3. bootstrap with curl: a tenant (operator token) and its admin key, an
#      analyst key, an enrollment token, a registered agent and its heartbeat,
#      plus the principals schemathesis does not exercise (analyst reads and
#      is refused writes, no credential, a 400 listing every problem, 415);
#   4. schemathesis on every operation of the document (examples, coverage,
#      fuzzing and stateful phases, bounded), each operation with the
#      credential its security scheme names (tests/api/schemathesis.toml),
#      tenant names made unique per run (tests/api/hooks.py);
#      checks: no 5xx, documented status codes, content types, headers and
#      response bodies;
#   5. the service still healthy, then SIGTERM (always, also on failure or
#      interrupt) and exit status 0.
#
# Usage: tests/api/registry_api_test.sh   (CTest: registry_api_test)
#
# Environment:
#   PORTCULLIS_ENV_FILE          infra.sh env file (required; `scripts/infra.sh up`)
#   PORTCULLIS_BIN_DIR           where portcullis-registry is (default build/bin)
#   PORTCULLIS_SOURCE_DIR        the repository (default: from this script's path)
#   PORTCULLIS_CACHE_DIR         venv location (default ~/.cache/portcullis)
#   PORTCULLIS_API_MAX_EXAMPLES  schemathesis cases per operation and phase (default 50)
#   PORTCULLIS_API_SEED          schemathesis seed (default 20260131: the same
#                                cases every run; set another to explore)
#   PORTCULLIS_API_WORKERS       schemathesis workers (default 1: with more,
#                                Python 3.11's ast module, which hypothesis
#                                uses from the worker threads, fails at random)
#   PORTCULLIS_API_ARGS          more schemathesis run arguments, split on spaces
#                                (e.g. "--include-operation-id getAgent")
#   PORTCULLIS_API_REPORT_DIR    keep the registry log and the schemathesis
#                                reports there (a report can show the secrets
#                                of keys the run created in its test tenant)
#
# Prints one line per check and ends with "registry-api: N passed, M failed";
# exits 1 when anything failed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=${PORTCULLIS_SOURCE_DIR:-$(cd "$here/../.." && pwd -P)}
# shellcheck source=scripts/lib.sh
source "$repo/scripts/lib.sh"
PORTCULLIS_LOG_NAME="registry-api"

case "${1:-}" in
  "") ;;
  -h | --help)
    awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
    exit 0
    ;;
  *) die "unknown argument '$1' (usage: registry_api_test.sh)" ;;
esac

cache=${PORTCULLIS_CACHE_DIR:-$HOME/.cache/portcullis}
venv=$cache/venv-api
bin_dir=${PORTCULLIS_BIN_DIR:-build/bin}
max_examples=${PORTCULLIS_API_MAX_EXAMPLES:-50}
seed=${PORTCULLIS_API_SEED:-20260131}
workers=${PORTCULLIS_API_WORKERS:-1}
read -ra extra_args <<<"${PORTCULLIS_API_ARGS:-}"
report_dir=${PORTCULLIS_API_REPORT_DIR:-}
spec=$repo/schema/openapi/portcullis.yaml
checks=not_a_server_error,status_code_conformance,content_type_conformance
checks+=,response_headers_conformance,response_schema_conformance

umask 077
work=$(mktemp -d "${TMPDIR:-/tmp}/registry-api.XXXXXX")
registry_pid=
watchdog_pid=
st_pid=
npass=0
nfail=0
failures=()

pass() {
  npass=$((npass + 1))
  printf 'ok     %s\n' "$1"
}
fail() {
  nfail=$((nfail + 1))
  failures+=("$1")
  printf 'FAILED %s\n' "$1"
}

# --- the service -----------------------------------------------------------------

# stop_registry: SIGTERM, then wait up to 15 s (SIGKILL after that); records
# whether it exited 0.
stop_registry() {
  local pid=$registry_pid rc=0 i
  [[ -n $pid ]] || return 0
  registry_pid=
  if ! pid_alive "$pid"; then
    wait "$pid" 2>/dev/null || rc=$?
    fail "registry: exited on its own (status $rc) before SIGTERM"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do
    pid_alive "$pid" || break
    sleep 0.1
  done
  if pid_alive "$pid"; then
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    fail "registry: stops within 15 s of SIGTERM"
    return 0
  fi
  wait "$pid" 2>/dev/null || rc=$?
  if [[ $rc -eq 0 ]]; then
    pass "registry: SIGTERM, exit status 0"
  else
    fail "registry: SIGTERM, exit status $rc (want 0)"
  fi
}

finish() {
  local rc=$?
  set +e
  [[ -z $watchdog_pid ]] || kill "$watchdog_pid" 2>/dev/null
  if [[ -n $st_pid ]] && pid_alive "$st_pid"; then
    kill -TERM "$st_pid" 2>/dev/null
    wait "$st_pid" 2>/dev/null
  fi
  stop_registry
  if [[ $nfail -gt 0 || $rc -ne 0 ]] && [[ -s $work/registry.log ]]; then
    if grep -q '"level":"error"' "$work/registry.log"; then
      printf -- '----- errors logged by the registry (first 20) -----\n' >&2
      grep -m20 '"level":"error"' "$work/registry.log" >&2
    fi
    tail_log "$work/registry.log" 10
  fi
  if [[ $rc -ne 0 && $nfail -eq 0 ]]; then
    fail "aborted (exit status $rc)"
  fi
  if [[ -n $report_dir ]]; then
    mkdir -p "$report_dir" && cp -f "$work"/registry.log "$work"/*.xml "$report_dir"/ 2>/dev/null
  fi
  rm -rf -- "$work"
  printf '\n'
  for f in "${failures[@]}"; do printf 'failed: %s\n' "$f"; done
  printf 'registry-api: %d passed, %d failed\n' "$npass" "$nfail"
  [[ $nfail -eq 0 ]] || exit 1
  exit 0
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Should this script be killed outright (a CTest timeout sends SIGKILL) and
# never run finish, the watchdog stops what it started (listed in $work/pids)
# and deletes $work, credentials included, within a second.
: >"$work/pids"
(
  set +e
  trap - EXIT INT TERM
  while kill -0 "$$" 2>/dev/null; do sleep 1; done
  while read -r pid needle; do
    if pid_cmdline_has "$pid" "$needle"; then kill -TERM "$pid"; fi
  done <"$work/pids"
  rm -rf -- "$work"
) </dev/null >/dev/null 2>&1 &
watchdog_pid=$!

# --- venv: created once, recreated when the pins change ------------------------------

setup_venv() { ensure_venv "$venv" "$here/requirements.txt" bin/schemathesis; }

# --- HTTP helpers ------------------------------------------------------------------

# credential NAME SECRET: a curl header file (mode 600) carrying the bearer, so
# secrets never appear in a command line.
credential() {
  printf 'Authorization: Bearer %s\n' "$2" >"$work/cred-$1"
}

# call METHOD PATH CRED [BODY [CONTENT-TYPE]]: one request; sets $status and
# leaves the body in $work/body. CRED names a credential file ("" for none).
call() {
  local method=$1 path=$2 cred=$3 body=${4-} ctype=${5:-application/json}
  local args=(-sS --max-time 10 --cacert "$ca" -o "$work/body" -w '%{http_code}' -X "$method")
  [[ -z $cred ]] || args+=(-H "@$work/cred-$cred")
  [[ -z $body ]] || args+=(-H "Content-Type: $ctype" --data-binary "$body")
  status=$(curl "${args[@]}" "$base$path" 2>"$work/curl.err") || true
  [[ -n $status ]] || status=000
}

# expect NAME WANT METHOD PATH CRED [BODY [CONTENT-TYPE]]: a check that the
# call answers WANT; returns non-zero (after recording) when it did not.
expect() {
  local name=$1 want=$2
  shift 2
  call "$@"
  if [[ $status == "$want" ]]; then
    pass "$name"
    return 0
  fi
  fail "$name: HTTP $status, want $want"
  sed 's/^/    /' "$work/body" "$work/curl.err" 2>/dev/null | head -c 2000 >&2 || true
  printf '\n' >&2
  return 1
}

# json_get POINTER: a value of the last response body (JSON Pointer; strings
# unquoted, anything else as JSON). Fails when absent.
json_get() {
  python3 - "$work/body" "$1" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
for part in sys.argv[2].split("/")[1:]:
    part = part.replace("~1", "/").replace("~0", "~")
    doc = doc[int(part)] if isinstance(doc, list) else doc[part]
print(doc if isinstance(doc, str) else json.dumps(doc))
PY
}

# ---------------------------------------------------------------------------------

env_file=${PORTCULLIS_ENV_FILE:-}
[[ -n $env_file && -r $env_file ]] ||
  die "PORTCULLIS_ENV_FILE must name the env file of 'scripts/infra.sh up' (got '${env_file}')"
registry=$bin_dir/portcullis-registry
[[ -x $registry ]] || die "no $registry (cmake --build build --target portcullis-registry)"
ca=$(env_get "$env_file" PORTCULLIS_TLS_CA) || die "$env_file has no PORTCULLIS_TLS_CA"
token_file=$(env_get "$env_file" PORTCULLIS_OPERATOR_TOKEN_FILE) ||
  die "$env_file has no PORTCULLIS_OPERATOR_TOKEN_FILE (rerun scripts/infra.sh up)"
env_get "$env_file" PORTCULLIS_OPERATOR_TOKEN_SHA256 >/dev/null ||
  die "$env_file has no PORTCULLIS_OPERATOR_TOKEN_SHA256 (rerun scripts/infra.sh up)"
[[ -r $token_file ]] || die "operator token file $token_file not readable"
operator_token=$(<"$token_file")

if setup_venv; then
  pass "venv: schemathesis $("$venv/bin/schemathesis" --version | awk '{print $NF}')"
else
  fail "venv: could not install tests/api/requirements.txt into $venv"
  exit 1
fi

# The auth-failure and registration limits are raised for this instance: the
# fuzzer sends many bad credentials and registrations on purpose, and the
# limits must not turn the rest of the run into 429s. (429 stays documented
# and is checked by the service's own tests.)
PORTCULLIS_HTTP_LISTEN=127.0.0.1:0 \
  PORTCULLIS_AUTH_FAILURE_BURST=100000 \
  PORTCULLIS_REGISTRY_REGISTER_BURST=100000 \
  PORTCULLIS_REGISTRY_REGISTER_PER_SECOND=100000 \
  "$registry" --config "$env_file" >"$work/registry.log" 2>&1 &
registry_pid=$!
echo "$registry_pid portcullis-registry" >>"$work/pids"

port=
for ((i = 0; i < 300; i++)); do
  port=$(grep -m1 '"msg":"started"' "$work/registry.log" 2>/dev/null | grep -o '"port":[0-9]*' | cut -d: -f2) || true
  [[ -z $port ]] || break
  pid_alive "$registry_pid" || break
  sleep 0.1
done
if [[ -z $port ]]; then
  fail "registry: starts and logs its port"
  exit 1
fi
pass "registry: started on 127.0.0.1:$port"
base=https://127.0.0.1:$port

for ((i = 0; i < 100; i++)); do
  call GET /readyz ""
  [[ $status != 200 ]] || break
  sleep 0.3
done
expect "registry: GET /readyz 200" 200 GET /readyz "" || exit 1

# --- bootstrap: one of each principal ------------------------------------------------
credential operator "$operator_token"
suffix=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
expect "bootstrap: POST /v1/tenants (operator) 201" 201 POST /v1/tenants operator \
  "{\"name\":\"api-test-$suffix\"}" || exit 1
admin_key=$(json_get /admin_key/secret)
credential admin "$admin_key"
expect "operator: POST /v1/tenants with that name again 409" 409 POST /v1/tenants operator \
  "{\"name\":\"api-test-$suffix\"}" || true

expect "bootstrap: POST /v1/api-keys analyst (admin) 201" 201 POST /v1/api-keys admin \
  '{"name":"api-test-analyst","role":"analyst"}' || exit 1
analyst_key=$(json_get /secret)
credential analyst "$analyst_key"

expect "bootstrap: POST /v1/enrollment-tokens (admin) 201" 201 POST /v1/enrollment-tokens admin \
  '{"name":"api-test"}' || exit 1
enrollment_token=$(json_get /secret)
credential enrollment "$enrollment_token"

expect "bootstrap: POST /v1/agents/register (enrollment token) 201" 201 POST /v1/agents/register \
  enrollment "{\"container_id\":\"api-test-$suffix\",\"image_name\":\"example/api-test:1\",\
\"image_digest\":\"\",\"hostname\":\"api-test\",\"labels\":{\"suite\":\"api\"},\
\"agent_version\":\"0.1.0\",\"kernel_version\":\"6.1.0\"}" || exit 1
agent_id=$(json_get /agent_id)
agent_credential=$(json_get /credential)
credential agent "$agent_credential"

expect "bootstrap: POST /v1/agents/{id}/heartbeat (agent) 200" 200 POST \
  "/v1/agents/$agent_id/heartbeat" agent '{"events_sent":1,"events_dropped":0}' || exit 1

# What schemathesis does not cover: it uses the first credential each
# operation allows (the admin key on the inventory) and always sends one.
expect "analyst: GET /v1/agents 200" 200 GET "/v1/agents?limit=5" analyst || true
expect "analyst: GET /v1/agents/{id} 200" 200 GET "/v1/agents/$agent_id" analyst || true
expect "analyst: POST /v1/api-keys 403" 403 POST /v1/api-keys analyst \
  '{"name":"nope","role":"admin"}' || true
expect "enrollment token: GET /v1/agents 403" 403 GET /v1/agents enrollment || true
expect "no credential: GET /v1/agents 401" 401 GET /v1/agents "" || true
if expect "admin: POST /v1/api-keys with three problems 400" 400 POST /v1/api-keys admin \
  '{"name":"","role":"root","colour":1}'; then
  if [[ $(json_get /error/details | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))') -ge 3 ]]; then
    pass "admin: the 400 lists every problem in error.details"
  else
    fail "admin: the 400 lists every problem in error.details (got $(json_get /error/details))"
  fi
fi
expect "admin: POST /v1/api-keys as text/plain 415" 415 POST /v1/api-keys admin \
  '{"name":"x","role":"admin"}' text/plain || true

# --- schemathesis --------------------------------------------------------------------
log "schemathesis: $max_examples cases per operation and phase, seed $seed"
st_rc=0
# In the background, so that a signal to this script is handled at once.
(
  cd "$work"
  export PORTCULLIS_API_OPERATOR_TOKEN=$operator_token
  export PORTCULLIS_API_ADMIN_KEY=$admin_key
  export PORTCULLIS_API_ANALYST_KEY=$analyst_key
  export PORTCULLIS_API_ENROLLMENT_TOKEN=$enrollment_token
  export PORTCULLIS_API_AGENT_CREDENTIAL=$agent_credential
  export PORTCULLIS_API_AGENT_ID=$agent_id
  export PORTCULLIS_API_RUN_ID=$suffix
  export SCHEMATHESIS_HOOKS=$here/hooks.py
  exec "$venv/bin/schemathesis" --config-file "$here/schemathesis.toml" run "$spec" \
    --url "$base" --tls-verify "$ca" --no-color \
    --checks "$checks" \
    --phases examples,coverage,fuzzing,stateful \
    --max-examples "$max_examples" --seed "$seed" --workers "$workers" \
    --request-timeout 10 --generation-database none \
    --report junit --report-junit-path "$work/junit.xml" "${extra_args[@]}"
) &
st_pid=$!
echo "$st_pid schemathesis" >>"$work/pids"
wait "$st_pid" || st_rc=$?
st_pid=

if [[ -s $work/junit.xml ]]; then
  "$venv/bin/python" "$here/summarize.py" "$work/junit.xml" >"$work/summary.txt"
  sed '$d' "$work/summary.txt" | sed 's/^/schemathesis: /'
  read -r op_pass op_fail < <(tail -n1 "$work/summary.txt")
  npass=$((npass + op_pass))
  nfail=$((nfail + op_fail))
  if [[ $op_fail -gt 0 ]]; then
    failures+=("schemathesis: $op_fail operation(s), see above")
  elif [[ $st_rc -ne 0 ]]; then
    fail "schemathesis: exit status $st_rc with every operation passing"
  fi
else
  fail "schemathesis: no report (exit status $st_rc)"
fi

# --- the service survived, and so did the run's own credentials ----------------------
# (a revoked admin key or agent would have turned most of the run into 401s)
if pid_alive "$registry_pid"; then
  expect "after the run: GET /healthz 200" 200 GET /healthz "" || true
  expect "after the run: admin key still valid" 200 GET /v1/api-keys admin || true
  expect "after the run: agent credential still valid" 200 POST \
    "/v1/agents/$agent_id/heartbeat" agent '{"events_sent":2}' || true
  expect "after the run: enrollment token still valid" 201 POST /v1/agents/register \
    enrollment "{\"container_id\":\"api-test-$suffix-2\",\"image_name\":\"example/api-test:1\",\
\"hostname\":\"api-test\",\"agent_version\":\"0.1.0\",\"kernel_version\":\"6.1.0\"}" || true
else
  fail "registry: still running after the run"
fi
