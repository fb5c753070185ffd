# shellcheck shell=bash
# shellcheck disable=SC2154 # here and repo are set by the test that sources this
# Shared by the API contract tests (registry_api_test.sh, policy_api_test.sh,
# query_api_test.sh): the services under test, the run's own bookkeeping,
# curl helpers and the schemathesis run. Source it after scripts/lib.sh, then
# call api_begin.
#
#   api_begin registry-api "$@"        # -h, work dir, traps, watchdog, settings
#   start_service registry VAR=value   # build/bin/portcullis-registry, ready
#   use_service registry               # where call/expect send requests
#   credential admin "$secret"; expect "..." 200 GET /v1/api-keys admin
#   st_env=(PORTCULLIS_API_ADMIN_KEY="$admin_key" ...)
#   run_schemathesis "$here/schemathesis.toml" --include-tag ...
#
# Environment (every test): PORTCULLIS_ENV_FILE, PORTCULLIS_BIN_DIR,
# PORTCULLIS_CACHE_DIR and the PORTCULLIS_API_* settings documented in each
# test's header.

# --- settings and bookkeeping ----------------------------------------------------

# api_begin NAME [ARG...]: the test's arguments (only -h/--help, which
# prints the test's header comment), settings from the environment, the work
# dir (credentials live there, mode 600), the exit trap and the watchdog.
# NAME names the log lines and prefixes the summary ("NAME: N passed, M
# failed").
api_begin() {
  api_name=$1
  # shellcheck disable=SC2034 # read by log and die (scripts/lib.sh)
  PORTCULLIS_LOG_NAME=$1
  case "${2:-}" in
    "") ;;
    -h | --help)
      awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
      exit 0
      ;;
    *) die "unknown argument '$2' (usage: $(basename "$0"))" ;;
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
  work=$(mktemp -d "${TMPDIR:-/tmp}/$api_name.XXXXXX")
  declare -gA svc_pid=() svc_base=()
  svc_order=()
  watchdog_pid=
  st_pid=
  st_env=()
  npass=0
  nfail=0
  failures=()

  trap api_finish EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  # Should the test be killed outright (a CTest timeout sends SIGKILL) and
  # never run api_finish, the watchdog stops what it started (listed in
  # $work/pids) and deletes $work, credentials included, within a second.
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

  env_file=${PORTCULLIS_ENV_FILE:-}
  [[ -n $env_file && -r $env_file ]] ||
    die "PORTCULLIS_ENV_FILE must name the env file of 'scripts/infra.sh up' (got '${env_file}')"
  ca=$(env_get "$env_file" PORTCULLIS_TLS_CA) || die "$env_file has no PORTCULLIS_TLS_CA"
}

pass() {
  npass=$((npass + 1))
  printf 'ok     %s\n' "$1"
}
fail() {
  nfail=$((nfail + 1))
  failures+=("$1")
  printf 'FAILED %s\n' "$1"
}

api_finish() {
  local rc=$? i name lf
  set +e
  [[ -z $watchdog_pid ]] || kill "$watchdog_pid" 2>/dev/null
  if [[ -n $st_pid ]] && pid_alive "$st_pid"; then
    kill -TERM "$st_pid" 2>/dev/null
    wait "$st_pid" 2>/dev/null
  fi
  for ((i = ${#svc_order[@]} - 1; i >= 0; i--)); do
    stop_service "${svc_order[i]}"
  done
  if [[ $nfail -gt 0 || $rc -ne 0 ]]; then
    for name in "${svc_order[@]}"; do
      lf=$work/$name.log
      [[ -s $lf ]] || continue
      if grep -q '"level":"error"' "$lf"; then
        printf -- '----- errors logged by %s (first 20) -----\n' "$name" >&2
        grep -m20 '"level":"error"' "$lf" >&2
      fi
      tail_log "$lf" 10
    done
  fi
  if [[ $rc -ne 0 && $nfail -eq 0 ]]; then
    fail "aborted (exit status $rc)"
  fi
  if [[ -n $report_dir ]]; then
    mkdir -p "$report_dir" && cp -f "$work"/*.log "$work"/*.xml "$report_dir"/ 2>/dev/null
  fi
  rm -rf -- "$work"
  printf '\n'
  for f in "${failures[@]}"; do printf 'failed: %s\n' "$f"; done
  printf '%s: %d passed, %d failed\n' "$api_name" "$npass" "$nfail"
  [[ $nfail -eq 0 ]] || exit 1
  exit 0
}

# --- venv: created once, recreated when the pins change ----------------------------

setup_venv() {
  if ensure_venv "$venv" "$here/requirements.txt" bin/schemathesis; then
    pass "venv: schemathesis $("$venv/bin/schemathesis" --version | awk '{print $NF}')"
  else
    fail "venv: could not install tests/api/requirements.txt into $venv"
    exit 1
  fi
}

# --- the services ---------------------------------------------------------------

# start_service NAME [VAR=VALUE...]: portcullis-NAME over TLS on a free
# loopback port with the infrastructure env file (and VAR=VALUE on top), its
# log in $work/NAME.log; waits for its port and for /readyz 200, and points
# call/expect at it. Exits the test when it does not come up.
start_service() {
  local name=$1 bin=$bin_dir/portcullis-$1 pid port i
  shift
  [[ -x $bin ]] || die "no $bin (cmake --build build --target portcullis-$name)"
  env PORTCULLIS_HTTP_LISTEN=127.0.0.1:0 "$@" "$bin" --config "$env_file" \
    >"$work/$name.log" 2>&1 &
  pid=$!
  svc_pid[$name]=$pid
  svc_order+=("$name")
  echo "$pid portcullis-$name" >>"$work/pids"

  port=
  for ((i = 0; i < 300; i++)); do
    port=$(grep -m1 '"msg":"started"' "$work/$name.log" 2>/dev/null | grep -o '"port":[0-9]*' | cut -d: -f2) || true
    [[ -z $port ]] || break
    pid_alive "$pid" || break
    sleep 0.1
  done
  if [[ -z $port ]]; then
    fail "$name: starts and logs its port"
    exit 1
  fi
  pass "$name: started on 127.0.0.1:$port"
  svc_base[$name]=https://127.0.0.1:$port
  use_service "$name"

  for ((i = 0; i < 100; i++)); do
    call GET /readyz ""
    [[ $status != 200 ]] || break
    sleep 0.3
  done
  expect "$name: GET /readyz 200" 200 GET /readyz "" || exit 1
}

# use_service NAME: where call and expect send their requests from now on.
use_service() { base=${svc_base[$1]}; }

# service_alive NAME
service_alive() { [[ -n ${svc_pid[$1]:-} ]] && pid_alive "${svc_pid[$1]}"; }

# stop_service NAME: SIGTERM, then wait up to 15 s (SIGKILL after that);
# records whether it exited 0.
stop_service() {
  local name=$1 pid=${svc_pid[$1]:-} rc=0 i
  [[ -n $pid ]] || return 0
  svc_pid[$name]=
  if ! pid_alive "$pid"; then
    wait "$pid" 2>/dev/null || rc=$?
    fail "$name: exited on its own (status $rc) before SIGTERM"
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
    fail "$name: stops within 15 s of SIGTERM"
    return 0
  fi
  wait "$pid" 2>/dev/null || rc=$?
  if [[ $rc -eq 0 ]]; then
    pass "$name: SIGTERM, exit status 0"
  else
    fail "$name: SIGTERM, exit status $rc (want 0)"
  fi
}

# --- HTTP helpers ------------------------------------------------------------------

# credential NAME SECRET: a curl header file (mode 600) carrying the bearer, so
# secrets never appear in a command line.
credential() {
  printf 'Authorization: Bearer %s\n' "$2" >"$work/cred-$1"
}

# call METHOD PATH CRED [BODY [CONTENT-TYPE [HEADER...]]]: one request to the
# current service (use_service); sets $status, leaves the body in $work/body
# and the response headers in $work/headers. CRED names a credential file (""
# for none).
call() {
  local method=$1 path=$2 cred=$3 body=${4-} ctype=${5:-application/json} h
  local args=(-sS --max-time 10 --cacert "$ca" -o "$work/body" -D "$work/headers"
    -w '%{http_code}' -X "$method")
  [[ -z $cred ]] || args+=(-H "@$work/cred-$cred")
  [[ -z $body ]] || args+=(-H "Content-Type: $ctype" --data-binary "$body")
  for h in "${@:6}"; do args+=(-H "$h"); done
  status=$(curl "${args[@]}" "$base$path" 2>"$work/curl.err") || true
  [[ -n $status ]] || status=000
}

# expect NAME WANT METHOD PATH CRED [BODY [CONTENT-TYPE [HEADER...]]]: a
# check that the call answers WANT; returns non-zero (after recording) when it
# did not.
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

# header_get NAME: a header of the last response (case-insensitive), without
# the trailing CR. Fails when absent.
header_get() {
  awk -v want="$(printf '%s' "$1" | tr '[:upper:]' '[:lower:]')" '
    BEGIN { found = 1 }
    { sub(/\r$/, "") }
    tolower(substr($0, 1, index($0, ":") - 1)) == want {
      v = substr($0, index($0, ":") + 1); sub(/^ +/, "", v); print v; found = 0; exit
    }
    END { exit found }' "$work/headers"
}

# --- schemathesis --------------------------------------------------------------------

# run_schemathesis CONFIG [ARG...]: schemathesis on the current service with
# CONFIG (--config-file) and ARGs (operation filters), the credentials in
# st_env (NAME=VALUE, exported to schemathesis alone: never in argv); adds
# one check per operation to the counts.
run_schemathesis() {
  local config=$1 st_rc=0 op_pass op_fail
  shift
  log "schemathesis: $max_examples cases per operation and phase, seed $seed"
  # In the background, so that a signal to this script is handled at once.
  (
    cd "$work" || exit 1
    for kv in "${st_env[@]}"; do export "${kv?}"; done
    export SCHEMATHESIS_HOOKS=$here/hooks.py
    exec "$venv/bin/schemathesis" --config-file "$config" run "$spec" \
      --url "$base" --tls-verify "$ca" --no-color \
      --checks "$checks" \
      --phases examples,coverage,fuzzing,stateful \
      --max-examples "$max_examples" --seed "$seed" --workers "$workers" \
      --request-timeout 10 --generation-database none \
      --report junit --report-junit-path "$work/junit.xml" "$@" "${extra_args[@]}"
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
}
