#!/usr/bin/env bash
# Benchmark of the registry service: one registry instance on loopback, over
# TLS with keep-alive, measured with wrk in one run:
#   1. baseline       GET /healthz (no authentication, no database)
#   2. heartbeats     POST /v1/agents/{id}/heartbeat, each agent with its own
#                     credential, rotating over BENCH_AGENTS registered agents
#   3. registrations  POST /v1/agents/register with one enrollment token, a new
#                     container_id on every request
# Prints requests/s, p50/p99 latency, the ratio to the baseline, the CPU used
# by the registry and PostgreSQL, and the heartbeat capacity of one instance.
# Exits 1 (and reports no figure) if any wrk run saw a non-2xx/3xx answer or a
# socket error. See tests/bench/README.md.
#
# Usage: tests/bench/registry_bench.sh
# Environment (all optional):
#   BENCH_DURATION      seconds measured per endpoint (default 10)
#   BENCH_WARMUP        seconds of warm-up per endpoint, not measured (default 2)
#   BENCH_CONNECTIONS   wrk -c (default 32)
#   BENCH_THREADS       wrk -t (default 2)
#   BENCH_AGENTS        agents registered for the heartbeat run (default 2000)
#   PORTCULLIS_REGISTRY_BIN  the binary (default build/bin/portcullis-registry)
#   PORTCULLIS_HTTP_THREADS, PORTCULLIS_PG_POOL_SIZE, ...: passed to the
#                       registry (the environment wins over the env file)
# The infrastructure (scripts/infra.sh) is reused when it runs; otherwise it is
# started, and taken down at the end.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source-path=SCRIPTDIR/../.. source=scripts/lib.sh
source "$BENCH_DIR/../../scripts/lib.sh"
REPO=$PORTCULLIS_REPO
INFRA=$REPO/scripts/infra.sh

DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-2}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
THREADS=${BENCH_THREADS:-2}
AGENTS=${BENCH_AGENTS:-2000}
REGISTRY_BIN=${PORTCULLIS_REGISTRY_BIN:-$REPO/build/bin/portcullis-registry}
# Registrations are rate-limited per enrollment token (default burst 100,
# 10/s): lift the limit so that the benchmark measures the server, not it.
REGISTER_LIMIT=1000000
# The target the capacity line is compared with.
TARGET_AGENTS=100000

for v in DURATION CONNECTIONS THREADS AGENTS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_$v must be a positive integer (got '${!v}')"
done
[[ $WARMUP =~ ^[0-9]+$ ]] || die "BENCH_WARMUP must be a non-negative integer (got '$WARMUP')"
((CONNECTIONS >= THREADS)) || die "BENCH_CONNECTIONS must be >= BENCH_THREADS"

require_tool wrk wrk
require_tool curl curl
require_tool python3 python3
require_tool openssl openssl
[[ -x $REGISTRY_BIN ]] ||
  die "no registry binary at $REGISTRY_BIN: cmake --build build --target portcullis-registry"

# --- cleanup ----------------------------------------------------------------

WORK=""
REGISTRY_PID=""
CHILD_PID=""
INFRA_STARTED=0

# run_child comes from scripts/lib.sh.

# Keeps the script's stderr on fd 3: a signal can arrive while stderr is
# redirected to a wrk output file, and cleanup's messages must not go there.
exec 3>&2

stop_everything() {
  if [[ -n $CHILD_PID ]]; then
    kill -TERM "$CHILD_PID" 2>/dev/null || true
    wait "$CHILD_PID" 2>/dev/null || true
  fi
  if [[ -n $REGISTRY_PID ]] && pid_alive "$REGISTRY_PID"; then
    # The server drains in-flight requests for up to 10 s on SIGTERM.
    log "stopping the registry (pid $REGISTRY_PID)"
    kill -TERM "$REGISTRY_PID" 2>/dev/null || true
    local i
    for ((i = 0; i < 150; i++)); do
      pid_alive "$REGISTRY_PID" || break
      sleep 0.1
    done
    if pid_alive "$REGISTRY_PID"; then
      warn "registry (pid $REGISTRY_PID) ignored SIGTERM: killing it"
      kill -KILL "$REGISTRY_PID" 2>/dev/null || true
    fi
    wait "$REGISTRY_PID" 2>/dev/null || true
  fi
  if ((INFRA_STARTED)); then
    log "taking down the infrastructure this run started"
    "$INFRA" down >/dev/null || warn "scripts/infra.sh down failed"
  fi
  if [[ -n $WORK ]]; then
    rm -rf -- "$WORK"
  fi
}

cleanup() {
  local rc=$?
  stop_everything 2>&3
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

WORK=$(mktemp -d "${TMPDIR:-/tmp}/registry-bench.XXXXXX")
chmod 700 "$WORK"

fail() {
  [[ -n $REGISTRY_PID ]] && tail_log "$WORK/registry.log" 30
  die "$@"
}

# --- infrastructure ---------------------------------------------------------

status_out=$("$INFRA" status 2>/dev/null) && status_rc=0 || status_rc=$?
if ((status_rc == 0)); then
  log "infrastructure already running: reusing it (left running at the end)"
elif [[ $status_out == *"no state in"* ]]; then
  log "infrastructure not running: starting it (taken down at the end)"
  INFRA_STARTED=1
else
  log "infrastructure partly running: completing it (left running at the end)"
fi
ENV_FILE=$("$INFRA" up) || die "scripts/infra.sh up failed"
load_env "$ENV_FILE"
for k in PORTCULLIS_TLS_CA PORTCULLIS_OPERATOR_TOKEN_FILE PORTCULLIS_OPERATOR_TOKEN_SHA256; do
  [[ -n ${!k:-} ]] || die "$ENV_FILE has no $k (an infra.sh from before operator tokens?)"
done

# --- CPU accounting ---------------------------------------------------------
# Clock ticks of a set of processes and of the whole machine, read from /proc
# before and after each run.

CLK_TCK=$(getconf CLK_TCK)
NPROC=$(nproc)
PG_PIDFILE=${PORTCULLIS_INFRA_DIR:-}/pg/data/postmaster.pid

# proc_ticks PID...: utime+stime of those processes (those gone count 0).
proc_ticks() {
  local pid total=0 t
  for pid in "$@"; do
    # Fields after the ")" that ends the command name: utime is the 12th.
    t=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$pid/stat" 2>/dev/null) || continue
    [[ -n $t ]] && total=$((total + t))
  done
  echo "$total"
}

# pg_pids: the postmaster of the infrastructure and its children (backends).
pg_pids() {
  local master
  master=$(head -n 1 "$PG_PIDFILE" 2>/dev/null) || return 0
  [[ $master =~ ^[0-9]+$ ]] || return 0
  echo "$master"
  # ps pads the column: keep the bare numbers.
  ps -o pid= --ppid "$master" 2>/dev/null | awk '{ print $1 }' || true
}

# children_seconds FILE: user+system seconds of the children that the shell
# had waited for, from the output of bash's `times` (its second line) saved in
# FILE. `times` must run in the main shell (a subshell has its own counters):
# its delta around the wrk command is wrk's CPU.
children_seconds() {
  awk 'NR == 2 {
    t = 0
    for (i = 1; i <= 2; i++) { split($i, p, /[ms]/); t += p[1] * 60 + p[2] }
    print t
  }' "$1"
}

# machine_ticks: "busy total" ticks of all CPUs.
machine_ticks() {
  awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t; exit }' /proc/stat
}

cpu_snapshot() {
  local pgs
  mapfile -t pgs < <(pg_pids)
  echo "$(proc_ticks "$REGISTRY_PID") $(proc_ticks "${pgs[@]}") $(machine_ticks)"
}

# cpu_delta BEFORE AFTER SECONDS WRK_SECONDS: "registry postgres wrk machine"
# in cores.
cpu_delta() {
  awk -v b="$1" -v a="$2" -v s="$3" -v w="$4" -v hz="$CLK_TCK" -v n="$NPROC" 'BEGIN {
    split(b, x, " "); split(a, y, " ")
    printf "%.2f %.2f %.2f %.2f\n", (y[1] - x[1]) / hz / s, (y[2] - x[2]) / hz / s,
      w / s, (y[4] - x[4] > 0) ? (y[3] - x[3]) / (y[4] - x[4]) * n : 0
  }'
}

# --- registry -----------------------------------------------------------------

PORT=$(free_ports 1)
URL=https://127.0.0.1:$PORT
log "starting $REGISTRY_BIN on 127.0.0.1:$PORT"
PORTCULLIS_HTTP_LISTEN=127.0.0.1:$PORT \
  PORTCULLIS_LOG_LEVEL=warn \
  PORTCULLIS_REGISTRY_REGISTER_BURST=$REGISTER_LIMIT \
  PORTCULLIS_REGISTRY_REGISTER_PER_SECOND=$REGISTER_LIMIT \
  "$REGISTRY_BIN" --config "$ENV_FILE" >"$WORK/registry.log" 2>&1 &
REGISTRY_PID=$!

ready=0
for ((i = 0; i < 300; i++)); do
  pid_alive "$REGISTRY_PID" || fail "the registry exited during startup"
  if curl -fsS -o /dev/null --max-time 2 --cacert "$PORTCULLIS_TLS_CA" "$URL/readyz" 2>/dev/null; then
    ready=1
    break
  fi
  sleep 0.1
done
((ready)) || fail "the registry was not ready on $URL/readyz within 30 s"

RUN_ID=$(date -u +%Y%m%dT%H%M%SZ)-$(openssl rand -hex 4)
log "registering $AGENTS agents in a new tenant bench-$RUN_ID"
run_child python3 "$BENCH_DIR/bench_setup.py" --port "$PORT" --ca "$PORTCULLIS_TLS_CA" \
  --operator-token-file "$PORTCULLIS_OPERATOR_TOKEN_FILE" --agents "$AGENTS" \
  --run-id "$RUN_ID" --out-dir "$WORK" || fail "setting up the tenant and agents failed"
HEARTBEAT_INTERVAL=$(<"$WORK/heartbeat_interval")

# --- runs ---------------------------------------------------------------------

WRK_ARGS=(-t"$THREADS" -c"$CONNECTIONS" --timeout 5s --latency)

# to_ms VALUE: a wrk duration (123.45us, 1.23ms, 1.02s, 1.5m) in milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : -1
    if (f < 0) { print "?"; exit 1 }
    printf "%.2f\n", n * f
  }'
}

# run_wrk NAME SECONDS [wrk args...]: runs wrk against the registry, checks
# the run, and sets RPS, P50, P99, REQS, NON2XX, SOCKERR and CPU (registry
# postgres machine, in cores). "@RUN@" in an argument becomes NAME.
run_wrk() {
  local name=$1 secs=$2 out before after
  shift 2
  local args=("${@//@RUN@/$name}")
  out=$WORK/wrk-$name.txt
  before=$(cpu_snapshot)
  times >"$WORK/times.before"
  if ! run_child wrk "${WRK_ARGS[@]}" -d"${secs}s" "${args[@]}" >"$out" 2>&1; then
    cat "$out" >&2
    fail "$name: wrk failed"
  fi
  times >"$WORK/times.after"
  after=$(cpu_snapshot)
  sed "s/^/  [$name] /" "$out" >&2
  pid_alive "$REGISTRY_PID" || fail "$name: the registry died during the run"
  RPS=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
  REQS=$(awk '/ requests in / { print $1; exit }' "$out")
  P50=$(awk '/^ +50% / { print $2 }' "$out")
  P99=$(awk '/^ +99% / { print $2 }' "$out")
  NON2XX=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
  NON2XX=${NON2XX:-0}
  # "Socket errors: connect 0, read 0, write 0, timeout 0"
  SOCKERR=$(awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }' "$out")
  SOCKERR=${SOCKERR:-0}
  CPU=$(cpu_delta "$before" "$after" "$secs" \
    "$(awk -v a="$(children_seconds "$WORK/times.after")" \
      -v b="$(children_seconds "$WORK/times.before")" 'BEGIN { print a - b }')")
  [[ -n $RPS && -n $REQS && -n $P50 && -n $P99 ]] || fail "$name: could not parse wrk's output"
  if ((NON2XX > 0 || SOCKERR > 0)); then
    fail "$name: FAIL: $NON2XX non-2xx/3xx responses and $SOCKERR socket errors" \
      "in $REQS requests: no figure reported"
  fi
  ((REQS > 0)) || fail "$name: no request completed"
}

ROWS=()
OTHER_CPU=0
BASE_RPS=""
HB_RPS=""

# measure LABEL NAME [wrk args...]: warm-up run, then the measured run; adds a
# table row.
measure() {
  local label=$1 name=$2 ratio cpu
  shift 2
  if ((WARMUP > 0)); then
    log "$label: ${WARMUP} s warm-up"
    run_wrk "$name-warmup" "$WARMUP" "$@"
  fi
  log "$label: ${DURATION} s measured"
  run_wrk "$name" "$DURATION" "$@"
  [[ -n $BASE_RPS ]] || BASE_RPS=$RPS
  ratio=$(awk -v r="$RPS" -v b="$BASE_RPS" 'BEGIN { printf "%.3f", r / b }')
  read -r -a cpu <<<"$CPU"
  # Cores used by anything else (other programs, Kafka, the kernel's softirq
  # threads): the figures are only comparable when this stays small.
  OTHER_CPU=$(awk -v m="$OTHER_CPU" -v a="${cpu[3]}" -v r="${cpu[0]}" -v p="${cpu[1]}" \
    -v w="${cpu[2]}" 'BEGIN { o = a - r - p - w; printf "%.2f", (o > m) ? o : m }')
  ROWS+=("$(printf '%-26s %11.0f %7s %7s %6s %11s %8s %7s %7s %8s' "$label" "$RPS" \
    "$(to_ms "$P50")" "$(to_ms "$P99")" "$ratio" "$NON2XX/$SOCKERR" "${cpu[0]}" "${cpu[1]}" \
    "${cpu[2]}" "${cpu[3]}/$NPROC")")
}

# The arguments after "--" go to the Lua scripts. Each registration run (the
# warm-up and the measured one) gets its own container id prefix, so no
# request is a re-registration (200) instead of a new agent (201).
measure "GET /healthz (baseline)" healthz "$URL/healthz"
measure "POST heartbeat" heartbeat -s "$BENCH_DIR/heartbeat.lua" "$URL" -- \
  "$WORK/agents.txt" "$THREADS"
HB_RPS=$RPS
measure "POST register (new agent)" register -s "$BENCH_DIR/register.lua" "$URL" -- \
  "$WORK/enrollment_token" "bench-$RUN_ID-@RUN@"

# --- report -------------------------------------------------------------------

capacity=$(awk -v r="$HB_RPS" -v i="$HEARTBEAT_INTERVAL" 'BEGIN { printf "%.0f", r * i }')
verdict=$( ((capacity >= TARGET_AGENTS)) && echo "meets the target" || echo "BELOW the target")

cat <<EOF

registry benchmark ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -m), nproc=$NPROC)
  wrk:      $(wrk -v 2>&1 | head -n 1 | awk '{ print $1, $2 }') ${WRK_ARGS[*]} -d${DURATION}s, after a ${WARMUP} s warm-up per endpoint (not measured)
  registry: one instance, TLS + keep-alive on 127.0.0.1:$PORT, PORTCULLIS_HTTP_THREADS=${PORTCULLIS_HTTP_THREADS:-4 (default)}, PORTCULLIS_PG_POOL_SIZE=${PORTCULLIS_PG_POOL_SIZE:-8 (default)}, PORTCULLIS_LOG_LEVEL=warn
  registration rate limit lifted: PORTCULLIS_REGISTRY_REGISTER_BURST=$REGISTER_LIMIT, PORTCULLIS_REGISTRY_REGISTER_PER_SECOND=$REGISTER_LIMIT
  heartbeats rotate over $AGENTS agents; every registration is a new container_id
  non2xx/err: wrk's non-2xx/3xx responses / socket errors (any would have failed the run)
  cpu columns: cores busy during the measured run: the registry process, PostgreSQL's server processes, wrk, the whole machine

$(printf '%-26s %11s %7s %7s %6s %11s %8s %7s %7s %8s' endpoint requests/s "p50 ms" "p99 ms" ratio "non2xx/err" "cpu reg" "cpu pg" "cpu wrk" "cpu all")
EOF
printf '%s\n' "${ROWS[@]}"
if awk -v o="$OTHER_CPU" 'BEGIN { exit !(o > 0.25) }'; then
  printf '\nWARNING: up to %s cores were busy with other processes during a run: the\n' "$OTHER_CPU"
  printf 'machine was not idle, these figures are lower than it can do.\n'
fi
printf '\nheartbeats/s x %s s interval = %s agents per instance (target >= %s): %s\n' \
  "$HEARTBEAT_INTERVAL" "$capacity" "$TARGET_AGENTS" "$verdict"
