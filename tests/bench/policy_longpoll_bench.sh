#!/usr/bin/env bash
# Benchmark of policy distribution: the time from publishing a new policy
# version (PUT /v1/policies/{id}) to that version reaching 1,000 agents that
# long-poll the policy service (GET /v1/agents/{id}/policy?wait=N with
# If-None-Match), beside a baseline (the same delivery to 10 agents of another
# tenant) in the same run, as a ratio of the p99s. The requirement: p99 under
# 2 s for 1,000 agents.
#
# Starts one registry (to create the tenants and register the agents) and one
# policy service on loopback, over TLS, then runs build/bin/policy_longpoll_bench
# (one thread and one keep-alive connection per agent). Exits 1 if an agent did
# not get a published version, or got an unexpected answer. See
# tests/bench/README.md.
#
# Usage: tests/bench/policy_longpoll_bench.sh
# Environment (all optional):
#   BENCH_AGENTS           agents of the fleet (default 1000)
#   BENCH_BASELINE_AGENTS  agents of the baseline (default 10)
#   BENCH_ROUNDS           measured publishes per tenant (default 3)
#   BENCH_WARMUP_ROUNDS    unmeasured publishes per tenant first (default 1)
#   BENCH_WAIT             the agents' ?wait= in seconds (default 25)
#   BENCH_RULES            file rules in the published policy (default 50)
#   BENCH_DELIVER_TIMEOUT  seconds after the publish an agent has to hold the new
#                          version, or the delivery counts as missing (default 10)
#   BENCH_REPOLL_DELAY_MS  pause of an agent between a new version and its next
#                          long-poll (default 0, as an agent; more is a diagnostic)
#   PORTCULLIS_REGISTRY_BIN, PORTCULLIS_POLICY_BIN, POLICY_LONGPOLL_BENCH_BIN
#                          the binaries (default build/bin/...)
#   PORTCULLIS_HTTP_THREADS, PORTCULLIS_LOG_LEVEL, ...: passed to the policy
#                          service (the environment wins over the env file)
# The infrastructure (scripts/infra.sh) is reused when it runs; otherwise it is
# started, and taken down at the end.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source-path=SCRIPTDIR/../.. source=scripts/lib.sh
source "$BENCH_DIR/../../scripts/lib.sh"
REPO=$PORTCULLIS_REPO
INFRA=$REPO/scripts/infra.sh

AGENTS=${BENCH_AGENTS:-1000}
BASELINE_AGENTS=${BENCH_BASELINE_AGENTS:-10}
ROUNDS=${BENCH_ROUNDS:-3}
WARMUP_ROUNDS=${BENCH_WARMUP_ROUNDS:-1}
WAIT=${BENCH_WAIT:-25}
RULES=${BENCH_RULES:-50}
REPOLL_DELAY_MS=${BENCH_REPOLL_DELAY_MS:-0}
DELIVER_TIMEOUT=${BENCH_DELIVER_TIMEOUT:-10}
REGISTRY_BIN=${PORTCULLIS_REGISTRY_BIN:-$REPO/build/bin/portcullis-registry}
POLICY_BIN=${PORTCULLIS_POLICY_BIN:-$REPO/build/bin/portcullis-policy}
BENCH_BIN=${POLICY_LONGPOLL_BENCH_BIN:-$REPO/build/bin/policy_longpoll_bench}
# Registrations are rate-limited per enrollment token (default burst 100,
# 10/s): lift the limit, or registering 1,000 agents takes 90 s.
REGISTER_LIMIT=1000000

for v in AGENTS BASELINE_AGENTS ROUNDS WAIT RULES DELIVER_TIMEOUT; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_$v must be a positive integer (got '${!v}')"
done
[[ $WARMUP_ROUNDS =~ ^[0-9]+$ ]] ||
  die "BENCH_WARMUP_ROUNDS must be a non-negative integer (got '$WARMUP_ROUNDS')"
[[ $REPOLL_DELAY_MS =~ ^[0-9]+$ ]] ||
  die "BENCH_REPOLL_DELAY_MS must be a non-negative integer (got '$REPOLL_DELAY_MS')"
# The service answers a long-poll within its header timeout (45 s): its
# maximum wait (PORTCULLIS_POLICY_MAX_WAIT_S) is at most 40 s.
((WAIT <= 40)) || die "BENCH_WAIT must be at most 40 (got $WAIT)"

require_tool curl curl
require_tool openssl openssl
require_tool python3 python3
[[ -x $REGISTRY_BIN ]] ||
  die "no registry binary at $REGISTRY_BIN: cmake --build build --target portcullis-registry"
[[ -x $POLICY_BIN ]] ||
  die "no policy service binary at $POLICY_BIN: cmake --build build --target portcullis-policy"
[[ -x $BENCH_BIN ]] ||
  die "no benchmark binary at $BENCH_BIN: cmake --build build --target policy_longpoll_bench"

# One descriptor per agent in the benchmark and in the policy service (both
# inherit this limit), plus room for the rest.
NEED_FDS=$((AGENTS + BASELINE_AGENTS + 512))
if (($(ulimit -n) < NEED_FDS)); then
  ulimit -n "$NEED_FDS" 2>/dev/null ||
    die "need $NEED_FDS open files (ulimit -n is $(ulimit -n), hard limit $(ulimit -Hn))"
fi

# --- cleanup ----------------------------------------------------------------

WORK=""
REGISTRY_PID=""
POLICY_PID=""
CHILD_PID=""
INFRA_STARTED=0

# run_child and stop_process come from scripts/lib.sh.

stop_everything() {
  if [[ -n $CHILD_PID ]]; then
    kill -TERM "$CHILD_PID" 2>/dev/null || true
    wait "$CHILD_PID" 2>/dev/null || true
  fi
  stop_process "policy service" "$POLICY_PID"
  stop_process registry "$REGISTRY_PID"
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
  stop_everything
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

WORK=$(mktemp -d "${TMPDIR:-/tmp}/policy-longpoll-bench.XXXXXX")
chmod 700 "$WORK"

fail() {
  [[ -n $REGISTRY_PID ]] && tail_log "$WORK/registry.log" 20
  [[ -n $POLICY_PID ]] && tail_log "$WORK/policy.log" 30
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
for k in PORTCULLIS_TLS_CA PORTCULLIS_OPERATOR_TOKEN_FILE; do
  [[ -n ${!k:-} ]] || die "$ENV_FILE has no $k (an infra.sh from before operator tokens?)"
done

# --- services -----------------------------------------------------------------

# wait_ready NAME PID URL: until URL/readyz answers 200 (30 s at most).
wait_ready() {
  local name=$1 pid=$2 url=$3 i
  for ((i = 0; i < 300; i++)); do
    pid_alive "$pid" || fail "the $name exited during startup"
    if curl -fsS -o /dev/null --max-time 2 --cacert "$PORTCULLIS_TLS_CA" "$url/readyz" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  fail "the $name was not ready on $url/readyz within 30 s"
}

read -r REGISTRY_PORT POLICY_PORT <<<"$(free_ports 2)"
log "starting $REGISTRY_BIN on 127.0.0.1:$REGISTRY_PORT"
PORTCULLIS_HTTP_LISTEN=127.0.0.1:$REGISTRY_PORT \
  PORTCULLIS_LOG_LEVEL=warn \
  PORTCULLIS_REGISTRY_REGISTER_BURST=$REGISTER_LIMIT \
  PORTCULLIS_REGISTRY_REGISTER_PER_SECOND=$REGISTER_LIMIT \
  "$REGISTRY_BIN" --config "$ENV_FILE" >"$WORK/registry.log" 2>&1 &
REGISTRY_PID=$!
# The policy service at its defaults (access log at info included: it is on
# the delivery path), the maximum wait at least the agents' wait.
POLICY_LOG_LEVEL=${PORTCULLIS_LOG_LEVEL:-info}
MAX_WAIT=${PORTCULLIS_POLICY_MAX_WAIT_S:-30}
((MAX_WAIT >= WAIT)) || MAX_WAIT=$WAIT
log "starting $POLICY_BIN on 127.0.0.1:$POLICY_PORT"
PORTCULLIS_HTTP_LISTEN=127.0.0.1:$POLICY_PORT \
  PORTCULLIS_LOG_LEVEL=$POLICY_LOG_LEVEL \
  PORTCULLIS_POLICY_MAX_WAIT_S=$MAX_WAIT \
  "$POLICY_BIN" --config "$ENV_FILE" >"$WORK/policy.log" 2>&1 &
POLICY_PID=$!
wait_ready registry "$REGISTRY_PID" "https://127.0.0.1:$REGISTRY_PORT"
wait_ready "policy service" "$POLICY_PID" "https://127.0.0.1:$POLICY_PORT"

# --- run ----------------------------------------------------------------------

# PostgreSQL's postmaster, for the CPU its backends use during the deliveries
# (0: not measured).
PG_PID=$(head -n 1 "${PORTCULLIS_INFRA_DIR:-/nonexistent}/pg/data/postmaster.pid" 2>/dev/null || true)
[[ $PG_PID =~ ^[0-9]+$ ]] || PG_PID=0

RUN_ID=$(date -u +%Y%m%dT%H%M%SZ)-$(openssl rand -hex 4)
log "running $AGENTS + $BASELINE_AGENTS agents (tenants bench-lp-$RUN_ID-*)"
bench_rc=0
run_child "$BENCH_BIN" --registry-port="$REGISTRY_PORT" --policy-port="$POLICY_PORT" \
  --ca="$PORTCULLIS_TLS_CA" --operator-token-file="$PORTCULLIS_OPERATOR_TOKEN_FILE" \
  --agents="$AGENTS" --baseline-agents="$BASELINE_AGENTS" --rounds="$ROUNDS" \
  --warmup-rounds="$WARMUP_ROUNDS" --wait="$WAIT" --rules="$RULES" \
  --repoll-delay-ms="$REPOLL_DELAY_MS" --deliver-timeout="$DELIVER_TIMEOUT" \
  --policy-pid="$POLICY_PID" --pg-pid="$PG_PID" --run-id="$RUN_ID" >"$WORK/report.txt" || bench_rc=$?
cat "$WORK/report.txt"

pid_alive "$POLICY_PID" || { bench_rc=1 && warn "the policy service died during the run"; }
# What the policy service answered the long-polls, from its own counters.
codes=$(curl -fsS --max-time 5 --cacert "$PORTCULLIS_TLS_CA" \
  "https://127.0.0.1:$POLICY_PORT/metrics" 2>/dev/null |
  awk -F'[{},]' '/^portcullis_http_requests_total\{/ && /route="\/v1\/agents\/\{id\}\/policy"/ {
    for (i = 2; i < NF; i++) if ($i ~ /^code=/) { c = $i; gsub(/code=|"/, "", c) }
    n[c] += $NF } END { for (c in n) { printf "%s%s: %d", sep, c, n[c]; sep = ", " } }' || true)
printf '\npolicy service, GET /v1/agents/{id}/policy answers by status: %s\n' "${codes:-(no metrics)}"
problems=$(grep -c -E '"level":"(warn|error)"' "$WORK/policy.log" || true)
if ((problems > 0)); then
  printf 'policy service log: %s warning/error line(s), the first ones:\n' "$problems"
  grep -E '"level":"(warn|error)"' "$WORK/policy.log" | head -n 5
fi
if ((bench_rc != 0)); then
  tail_log "$WORK/policy.log" 20
  die "the benchmark failed (exit status $bench_rc): see above"
fi
