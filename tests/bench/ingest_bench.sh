#!/usr/bin/env bash
# Benchmark of event ingestion, end to end: agents' batches (POST /v1/events
# to ingest) -> Kafka -> indexer -> PostgreSQL, in events per second from the
# first send until the last event is queryable, beside a baseline measured in
# the same run: the raw COPY rate of equivalent rows into the same events
# table (and the indexer's own write path, PgEventWriter), as a ratio (target:
# end-to-end >= 0.7 x raw COPY). Then the latency from the 202 to queryable at
# half that load (target: p99 < 2 s), and the CPU ingest and the indexer spend
# per 1,000 events.
#
# Starts one registry (to create the tenants and register the agents), one
# ingest and one indexer on loopback, over TLS, on a Kafka topic and consumer
# group of their own, then runs build/bin/ingest_bench. Exits 1 if an accepted
# event is missing or doubled in the table, or a request failed. See
# tests/bench/README.md.
#
# Usage: tests/bench/ingest_bench.sh
# Environment (all optional):
#   BENCH_EVENTS             events of the throughput run (default 200000)
#   BENCH_BATCH              events per batch (default 1000)
#   BENCH_SENDERS            concurrent senders (default 4)
#   BENCH_AGENTS_PER_SENDER  agents each sender takes turns over, one batch each
#                            (default 4: 16 agents, the Kafka keys)
#   BENCH_INDEXERS           indexer processes in the consumer group (default 1)
#   BENCH_WARMUP_EVENTS      events sent and waited for before the measured run
#                            (default 50000; warms a freshly started Kafka's JIT)
#   BENCH_COPY_BATCH         rows per transaction of the baselines (default 5000)
#   BENCH_LATENCY_SECONDS    duration of the latency run (default 15; 0: none)
#   BENCH_LATENCY_LOAD_PCT   its load, % of the end-to-end throughput (default 50)
#   BENCH_SAMPLES_PER_BATCH  events per batch whose latency is measured (default 10)
#   BENCH_END_BY             how the end of the throughput run is seen: metric (the
#                            indexer's written counter, then one count(*); default)
#                            or count (count(*) polled: costs PostgreSQL a scan per poll)
#   PORTCULLIS_INFRA_DIR     the infrastructure's state (default here:
#                            /tmp/pc-ingest-bench, a stack of its own)
#   PORTCULLIS_REGISTRY_BIN, PORTCULLIS_INGEST_BIN, PORTCULLIS_INDEXER_BIN,
#   INGEST_BENCH_BIN         the binaries (default build/bin/...)
#   PORTCULLIS_HTTP_THREADS, PORTCULLIS_PG_POOL_SIZE, PORTCULLIS_INDEXER_MAX_BATCH,
#   ...                      passed to ingest and the indexer (the environment
#                            wins over the env file)
# The infrastructure (scripts/infra.sh) is reused when it runs; otherwise it is
# started, and taken down at the end.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source-path=SCRIPTDIR/../.. source=scripts/lib.sh
source "$BENCH_DIR/../../scripts/lib.sh"
REPO=$PORTCULLIS_REPO
INFRA=$REPO/scripts/infra.sh
# Its own stack by default: integration tests restart PostgreSQL and Kafka on
# the shared one.
export PORTCULLIS_INFRA_DIR=${PORTCULLIS_INFRA_DIR:-/tmp/pc-ingest-bench}

EVENTS=${BENCH_EVENTS:-200000}
BATCH=${BENCH_BATCH:-1000}
SENDERS=${BENCH_SENDERS:-4}
AGENTS_PER_SENDER=${BENCH_AGENTS_PER_SENDER:-4}
INDEXERS=${BENCH_INDEXERS:-1}
COPY_BATCH=${BENCH_COPY_BATCH:-5000}
WARMUP_EVENTS=${BENCH_WARMUP_EVENTS:-50000}
LATENCY_SECONDS=${BENCH_LATENCY_SECONDS:-15}
LATENCY_LOAD_PCT=${BENCH_LATENCY_LOAD_PCT:-50}
SAMPLES_PER_BATCH=${BENCH_SAMPLES_PER_BATCH:-10}
END_BY=${BENCH_END_BY:-metric}
REGISTRY_BIN=${PORTCULLIS_REGISTRY_BIN:-$REPO/build/bin/portcullis-registry}
INGEST_BIN=${PORTCULLIS_INGEST_BIN:-$REPO/build/bin/portcullis-ingest}
INDEXER_BIN=${PORTCULLIS_INDEXER_BIN:-$REPO/build/bin/portcullis-indexer}
BENCH_BIN=${INGEST_BENCH_BIN:-$REPO/build/bin/ingest_bench}
# Ingest's rate limits (per agent 2,000 events/s, per tenant 50,000 by
# default) would measure the limiter, not the pipeline: lifted, and said so.
NO_LIMIT=100000000

for v in EVENTS BATCH SENDERS AGENTS_PER_SENDER INDEXERS COPY_BATCH LATENCY_LOAD_PCT SAMPLES_PER_BATCH; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_$v must be a positive integer (got '${!v}')"
done
[[ $LATENCY_SECONDS =~ ^[0-9]+$ ]] ||
  die "BENCH_LATENCY_SECONDS must be a non-negative integer (got '$LATENCY_SECONDS')"
[[ $WARMUP_EVENTS =~ ^[0-9]+$ ]] ||
  die "BENCH_WARMUP_EVENTS must be a non-negative integer (got '$WARMUP_EVENTS')"
((BATCH <= 5000)) || die "BENCH_BATCH must be at most 5000 (ingest's maximum batch)"
((SAMPLES_PER_BATCH <= BATCH)) || die "BENCH_SAMPLES_PER_BATCH must be at most BENCH_BATCH"
[[ $END_BY == metric || $END_BY == count ]] || die "BENCH_END_BY must be metric or count"

require_tool curl curl
require_tool openssl openssl
require_tool python3 python3
[[ -x $REGISTRY_BIN ]] ||
  die "no registry binary at $REGISTRY_BIN: cmake --build build --target portcullis-registry"
[[ -x $INGEST_BIN ]] ||
  die "no ingest binary at $INGEST_BIN: cmake --build build --target portcullis-ingest"
[[ -x $INDEXER_BIN ]] ||
  die "no indexer binary at $INDEXER_BIN: cmake --build build --target portcullis-indexer"
[[ -x $BENCH_BIN ]] ||
  die "no benchmark binary at $BENCH_BIN: cmake --build build --target ingest_bench"

# --- cleanup ----------------------------------------------------------------

WORK=""
REGISTRY_PID=""
INGEST_PID=""
INDEXER_PIDS=()
CHILD_PID=""
INFRA_STARTED=0

# run_child and stop_process come from scripts/lib.sh.

stop_everything() {
  if [[ -n $CHILD_PID ]]; then
    kill -TERM "$CHILD_PID" 2>/dev/null || true
    wait "$CHILD_PID" 2>/dev/null || true
  fi
  stop_process ingest "$INGEST_PID"
  local pid
  for pid in "${INDEXER_PIDS[@]}"; do
    stop_process indexer "$pid"
  done
  stop_process registry "$REGISTRY_PID"
  if ((AUTOVACUUM_OFF)); then
    set_autovacuum "RESET autovacuum" || warn "could not turn autovacuum back on"
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
  stop_everything
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ingest-bench.XXXXXX")
chmod 700 "$WORK"

fail() {
  [[ -n $REGISTRY_PID ]] && tail_log "$WORK/registry.log" 20
  [[ -n $INGEST_PID ]] && tail_log "$WORK/ingest.log" 20
  local i
  for ((i = 0; i < ${#INDEXER_PIDS[@]}; i++)); do
    tail_log "$WORK/indexer$i.log" 20
  done
  die "$@"
}

# --- infrastructure ---------------------------------------------------------

status_out=$("$INFRA" status 2>/dev/null) && status_rc=0 || status_rc=$?
if ((status_rc == 0)); then
  log "infrastructure in $PORTCULLIS_INFRA_DIR already running: reusing it (left running at the end)"
elif [[ $status_out == *"no state in"* ]]; then
  log "infrastructure not running: starting it in $PORTCULLIS_INFRA_DIR (taken down at the end)"
  INFRA_STARTED=1
else
  log "infrastructure partly running: completing it (left running at the end)"
fi
ENV_FILE=$("$INFRA" up) || die "scripts/infra.sh up failed"
load_env "$ENV_FILE"
for k in PORTCULLIS_TLS_CA PORTCULLIS_OPERATOR_TOKEN_FILE PORTCULLIS_PG_ADMIN_DSN \
  PORTCULLIS_PG_INDEXER_DSN; do
  [[ -n ${!k:-} ]] || die "$ENV_FILE has no $k (an infra.sh from before it?)"
done
# Autovacuum off for the run (back on at the end): its workers start on their
# own schedule and would bill whichever phase they land in. ingest_bench
# empties events (TRUNCATE, CHECKPOINT) before each measured phase instead, so
# every phase starts from the same state and pays for no other phase's rows.
AUTOVACUUM_OFF=0
set_autovacuum() {
  psql -X -q "$PORTCULLIS_PG_ADMIN_DSN" -c "ALTER SYSTEM $1" -c "SELECT pg_reload_conf()" \
    >/dev/null
}
set_autovacuum "SET autovacuum = off" || die "could not turn autovacuum off"
AUTOVACUUM_OFF=1

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

RUN_ID=$(date -u +%Y%m%dT%H%M%SZ)-$(openssl rand -hex 4)
# A topic and a consumer group of this run: nothing left over from an earlier
# run on the same stack is consumed, and the indexer starts at its beginning.
export PORTCULLIS_EVENTS_TOPIC=bench.events.$RUN_ID
export PORTCULLIS_INDEXER_GROUP=bench-indexer-$RUN_ID

read -r REGISTRY_PORT INGEST_PORT INDEXER_PORTS <<<"$(free_ports $((2 + INDEXERS)))"
read -r -a INDEXER_PORTS <<<"$INDEXER_PORTS"
log "starting $REGISTRY_BIN on 127.0.0.1:$REGISTRY_PORT"
PORTCULLIS_HTTP_LISTEN=127.0.0.1:$REGISTRY_PORT \
  PORTCULLIS_LOG_LEVEL=warn \
  "$REGISTRY_BIN" --config "$ENV_FILE" >"$WORK/registry.log" 2>&1 &
REGISTRY_PID=$!
log "starting $INGEST_BIN on 127.0.0.1:$INGEST_PORT (rate limits lifted to $NO_LIMIT events/s)"
PORTCULLIS_HTTP_LISTEN=127.0.0.1:$INGEST_PORT \
  PORTCULLIS_INGEST_AGENT_BURST=$NO_LIMIT \
  PORTCULLIS_INGEST_AGENT_EVENTS_PER_SECOND=$NO_LIMIT \
  PORTCULLIS_INGEST_TENANT_BURST=$NO_LIMIT \
  PORTCULLIS_INGEST_TENANT_EVENTS_PER_SECOND=$NO_LIMIT \
  "$INGEST_BIN" --config "$ENV_FILE" >"$WORK/ingest.log" 2>&1 &
INGEST_PID=$!
wait_ready registry "$REGISTRY_PID" "https://127.0.0.1:$REGISTRY_PORT"
# Ingest creates the topic when it first becomes ready: before the indexer
# subscribes to it.
wait_ready ingest "$INGEST_PID" "https://127.0.0.1:$INGEST_PORT"
for ((i = 0; i < INDEXERS; i++)); do
  log "starting $INDEXER_BIN on 127.0.0.1:${INDEXER_PORTS[i]} (topic $PORTCULLIS_EVENTS_TOPIC)"
  # As in a deployment: the indexer writes as its own role.
  PORTCULLIS_HTTP_LISTEN=127.0.0.1:${INDEXER_PORTS[i]} \
    PORTCULLIS_PG_DSN=$PORTCULLIS_PG_INDEXER_DSN \
    "$INDEXER_BIN" --config "$ENV_FILE" >"$WORK/indexer$i.log" 2>&1 &
  INDEXER_PIDS+=("$!")
done
for ((i = 0; i < INDEXERS; i++)); do
  wait_ready indexer "${INDEXER_PIDS[i]}" "https://127.0.0.1:${INDEXER_PORTS[i]}"
done

# --- run ----------------------------------------------------------------------

# PostgreSQL's postmaster and the Kafka broker, for their CPU (0: not measured).
PG_PID=$(head -n 1 "$PORTCULLIS_INFRA_DIR/pg/data/postmaster.pid" 2>/dev/null || true)
[[ $PG_PID =~ ^[0-9]+$ ]] || PG_PID=0
KAFKA_PID=$(cat "$PORTCULLIS_INFRA_DIR/kafka/kafka.pid" 2>/dev/null || true)
[[ $KAFKA_PID =~ ^[0-9]+$ ]] || KAFKA_PID=0

log "running $EVENTS events, $SENDERS senders, $INDEXERS indexer(s) (tenants bench-ingest-$RUN_ID-*)"
bench_rc=0
run_child "$BENCH_BIN" --config="$ENV_FILE" --registry-port="$REGISTRY_PORT" \
  --ingest-port="$INGEST_PORT" --indexer-port="$(IFS=,; echo "${INDEXER_PORTS[*]}")" \
  --indexer-pid="$(IFS=,; echo "${INDEXER_PIDS[*]}")" --events="$EVENTS" \
  --batch="$BATCH" --senders="$SENDERS" --agents-per-sender="$AGENTS_PER_SENDER" \
  --copy-batch="$COPY_BATCH" --warmup-events="$WARMUP_EVENTS" \
  --latency-seconds="$LATENCY_SECONDS" --latency-load-pct="$LATENCY_LOAD_PCT" \
  --samples-per-batch="$SAMPLES_PER_BATCH" --end-by="$END_BY" --ingest-pid="$INGEST_PID" \
  --pg-pid="$PG_PID" --kafka-pid="$KAFKA_PID" --partitions="${PORTCULLIS_EVENTS_PARTITIONS:-12}" \
  --run-id="$RUN_ID" >"$WORK/report.txt" || bench_rc=$?
cat "$WORK/report.txt"

pid_alive "$INGEST_PID" || { bench_rc=1 && warn "ingest died during the run"; }
for pid in "${INDEXER_PIDS[@]}"; do
  pid_alive "$pid" || { bench_rc=1 && warn "an indexer (pid $pid) died during the run"; }
done
# What ingest answered on POST /v1/events, from its own counters.
codes=$(curl -fsS --max-time 5 --cacert "$PORTCULLIS_TLS_CA" \
  "https://127.0.0.1:$INGEST_PORT/metrics" 2>/dev/null |
  awk -F'[{},]' '/^portcullis_http_requests_total\{/ && /route="\/v1\/events"/ {
    for (i = 2; i < NF; i++) if ($i ~ /^code=/) { c = $i; gsub(/code=|"/, "", c) }
    n[c] += $NF } END { for (c in n) { printf "%s%s: %d", sep, c, n[c]; sep = ", " } }' || true)
printf '\ningest, POST /v1/events answers by status: %s\n' "${codes:-(no metrics)}"
for svc_log in "$WORK"/ingest.log "$WORK"/indexer*.log; do
  problems=$(grep -c -E '"level":"(warn|error)"' "$svc_log" || true)
  if ((problems > 0)); then
    printf '%s: %s warning/error line(s), the first ones:\n' "$(basename "$svc_log")" "$problems"
    grep -E '"level":"(warn|error)"' "$svc_log" | head -n 5
  fi
done
if ((bench_rc != 0)); then
  for svc_log in "$WORK"/ingest.log "$WORK"/indexer*.log; do
    tail_log "$svc_log" 20
  done
  die "the benchmark failed (exit status $bench_rc): see above"
fi
