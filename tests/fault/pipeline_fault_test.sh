#!/usr/bin/env bash
# The ingestion pipeline under real crashes: a bounded stream of events
# (default 200,000) flows load generator -> ingest -> Kafka -> indexer ->
# PostgreSQL while, in turn, an ingest instance, an indexer instance, the
# Kafka broker and PostgreSQL are killed with SIGKILL and restarted. The load
# generator retries every batch (same events, same ids) until its 202.
# Afterwards the set of event ids in PostgreSQL must equal the set that got a
# 202: nothing lost, nothing doubled. Prints the counts.
#
# Needs the infrastructure env file ($PORTCULLIS_ENV_FILE) and the built
# binaries ($PORTCULLIS_BIN_DIR); CTest provides both. FAULT_EVENTS overrides
# the number of events.
set -euo pipefail
PORTCULLIS_LOG_NAME=fault
SOURCE_DIR=${PORTCULLIS_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)}
# shellcheck source=scripts/lib.sh
source "$SOURCE_DIR/scripts/lib.sh"
BIN=${PORTCULLIS_BIN_DIR:-$SOURCE_DIR/build/bin}
ENV_FILE=${PORTCULLIS_ENV_FILE:?run through ctest or set PORTCULLIS_ENV_FILE}
INFRA=$SOURCE_DIR/scripts/infra.sh
EVENTS=${FAULT_EVENTS:-200000}
load_env "$ENV_FILE"

work=$(mktemp -d)
declare -A pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  # Leave the shared infrastructure running for the other suites.
  "$INFRA" start pg >/dev/null 2>&1 || true
  "$INFRA" start kafka >/dev/null 2>&1 || true
  rm -rf -- "$work"
}
trap cleanup EXIT

topic=$(printf 'fault.events.%s' "$(openssl rand -hex 4)")
read -r registry_port ingest_port indexer_port < <(free_ports 3)
start() {  # start SERVICE PORT [ENV...]: (re)starts a service in the background
  local svc=$1 port=$2
  shift 2
  env PORTCULLIS_HTTP_LISTEN="127.0.0.1:$port" PORTCULLIS_EVENTS_TOPIC="$topic" \
    PORTCULLIS_EVENTS_PARTITIONS=4 PORTCULLIS_INDEXER_GROUP="$topic-indexer" \
    PORTCULLIS_INGEST_AGENT_BURST=100000000 PORTCULLIS_INGEST_AGENT_EVENTS_PER_SECOND=100000000 \
    PORTCULLIS_INGEST_TENANT_BURST=100000000 PORTCULLIS_INGEST_TENANT_EVENTS_PER_SECOND=100000000 \
    "$@" "$BIN/portcullis-$svc" --config "$ENV_FILE" >>"$work/$svc.log" 2>&1 &
  pids[$svc]=$!
  for _ in $(seq 200); do
    curl -sf --cacert "$PORTCULLIS_TLS_CA" "https://localhost:$port/healthz" >/dev/null && return 0
    sleep 0.1
  done
  die "$svc did not start; see $work/$svc.log"
}
crash() {  # crash SERVICE: SIGKILL, no goodbye
  kill -KILL "${pids[$1]}"
  wait "${pids[$1]}" 2>/dev/null || true
  log "killed $1 (SIGKILL)"
}
ready() {  # ready PORT: /readyz 200 (bounded)
  for _ in $(seq 300); do
    curl -sf --cacert "$PORTCULLIS_TLS_CA" "https://localhost:$1/readyz" >/dev/null && return 0
    sleep 0.1
  done
  return 1
}

start registry "$registry_port"
start ingest "$ingest_port"
ready "$ingest_port" || die "ingest not ready (topic)"
start indexer "$indexer_port" PORTCULLIS_PG_DSN="$PORTCULLIS_PG_INDEXER_DSN"

registry=https://localhost:$registry_port
api() {  # api CREDENTIAL PATH JSON: POST, prints the reply
  curl -sf --cacert "$PORTCULLIS_TLS_CA" -H "Authorization: Bearer $1" \
    -H 'Content-Type: application/json' -d "$3" "$registry$2"
}
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]] if len(sys.argv) < 4 else json.loads(sys.argv[1])[sys.argv[2]][sys.argv[3]])' "$@"; }
reply=$(api "$(<"$PORTCULLIS_OPERATOR_TOKEN_FILE")" /v1/tenants "{\"name\":\"$topic\"}")
tenant=$(field "$reply" tenant id)
admin=$(field "$reply" admin_key secret)
token=$(field "$(api "$admin" /v1/enrollment-tokens '{"name":"fault"}')" secret)
agent=$(api "$token" /v1/agents/register \
  '{"container_id":"fault-1","image_name":"fault/load:1","hostname":"h","agent_version":"0.1","kernel_version":"6.1"}')
export PORTCULLIS_AGENT_CREDENTIAL
PORTCULLIS_AGENT_CREDENTIAL=$(field "$agent" credential)

log "streaming $EVENTS events (tenant $tenant, topic $topic)"
started=$SECONDS
"$BIN/event_loadgen" --port "$ingest_port" --ca "$PORTCULLIS_TLS_CA" --events "$EVENTS" \
  --batch 1000 --acked "$work/acked" --deadline-s 420 >"$work/loadgen.out" 2>&1 &
loadgen=$!
acked() { if [[ -f $work/acked ]]; then wc -l <"$work/acked"; else echo 0; fi; }
during=0  # faults that struck while the stream was still flowing
struck() { if kill -0 "$loadgen" 2>/dev/null; then during=$((during + 1)); fi; }
# Each fault strikes while events flow: wait for progress first.
progress() {
  local before
  before=$(acked)
  for _ in $(seq 100); do
    (($(acked) > before + 2000)) && return 0
    kill -0 "$loadgen" 2>/dev/null || return 0
    sleep 0.1
  done
}

progress
struck
crash ingest
sleep 1
start ingest "$ingest_port"

progress
struck
crash indexer
sleep 1
start indexer "$indexer_port" PORTCULLIS_PG_DSN="$PORTCULLIS_PG_INDEXER_DSN"

progress
struck
"$INFRA" stop kafka --kill >/dev/null
log "killed the Kafka broker (SIGKILL)"
sleep 2
"$INFRA" start kafka >/dev/null
log "Kafka restarted"

progress
struck
pg_pid=$("$INFRA" status 2>/dev/null | sed -n 's/^postgres: running .*(pid \([0-9]*\)).*/\1/p')
[[ -n $pg_pid ]] || die "cannot find PostgreSQL's pid"
kill -KILL "$pg_pid"
log "killed PostgreSQL's postmaster (SIGKILL)"
# Its backends notice and exit; the shared memory must be free to restart.
for _ in $(seq 100); do
  pgrep -u postgres -f "postgres: .*portcullis" >/dev/null || break
  sleep 0.1
done
for _ in $(seq 5); do "$INFRA" start pg >/dev/null 2>&1 && break; sleep 1; done
log "PostgreSQL restarted"

rc=0
wait "$loadgen" || rc=$?
cat "$work/loadgen.out"
[[ $rc == 0 ]] || die "the load generator did not get every batch acknowledged"
total_acked=$(acked)

# Wait for the indexer to catch up: the count stops short only if events were lost.
count() {
  psql "$PORTCULLIS_PG_ADMIN_DSN" -Atc "SELECT count(*) FROM events WHERE tenant_id = '$tenant'"
}
in_db=0
for _ in $(seq 600); do
  in_db=$(count)
  ((in_db >= total_acked)) && break
  sleep 0.2
done
elapsed=$((SECONDS - started))
psql "$PORTCULLIS_PG_ADMIN_DSN" -Atc \
  "SELECT event_id FROM events WHERE tenant_id = '$tenant'" | sort >"$work/in_db"
sort "$work/acked" >"$work/acked.sorted"
distinct_db=$(sort -u "$work/in_db" | wc -l)
distinct_acked=$(sort -u "$work/acked.sorted" | wc -l)
missing=$(comm -23 "$work/acked.sorted" <(sort -u "$work/in_db") | wc -l)
extra=$(comm -13 "$work/acked.sorted" <(sort -u "$work/in_db") | wc -l)
doubled=$((in_db - distinct_db))
dead=$(grep -c 'dead-letter' "$work/indexer.log" || true)

printf '\npipeline fault test: %s events, faults: ingest, indexer, Kafka, PostgreSQL (SIGKILL each)\n' "$EVENTS"
printf '  acknowledged (202)   %8d (distinct %d)\n' "$total_acked" "$distinct_acked"
printf '  rows in PostgreSQL   %8d (distinct %d)\n' "$in_db" "$distinct_db"
printf '  missing              %8d\n' "$missing"
printf '  extra                %8d\n' "$extra"
printf '  doubled              %8d\n' "$doubled"
printf '  dead letters logged  %8d\n' "$dead"
printf '  faults mid-stream    %8d of 4\n' "$during"
printf '  time                 %8d s\n' "$elapsed"
if [[ $during != 4 ]]; then
  warn "the stream ended before every fault struck: raise FAULT_EVENTS"
fi
if [[ $during == 4 && $total_acked == "$EVENTS" && $missing == 0 && $extra == 0 && $doubled == 0 &&
  $distinct_acked == "$total_acked" ]]; then
  printf 'result: nothing lost, nothing doubled\n'
else
  printf 'result: FAILED\n'
  exit 1
fi
