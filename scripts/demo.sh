#!/usr/bin/env bash
# The Portcullis demo on a fresh Debian 12 machine: installs what it needs,
# builds, brings up PostgreSQL and Kafka, starts every service over TLS and
# shows that each one is live and ready. Issue by issue this grows into the
# end-to-end demo (instrument an image, enforce a policy, query the events).
#
# Usage: scripts/demo.sh [--keep-running]
#   --keep-running  leave the platform up afterwards (stop it with
#                   scripts/demo.sh --stop)
#   --stop          stop the services and the infrastructure
set -euo pipefail
SCRIPTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
PORTCULLIS_LOG_NAME=demo
# shellcheck source=scripts/lib.sh
source "$SCRIPTS_DIR/lib.sh"
REPO=$(cd "$SCRIPTS_DIR/.." && pwd -P)

SERVICES=(registry policy ingest indexer query instrumenter)
INFRA_DIR=${PORTCULLIS_INFRA_DIR:-/tmp/portcullis-infra}
RUN_DIR=$INFRA_DIR/services

stop_services() {
  local pidfile pid
  for pidfile in "$RUN_DIR"/*.pid; do
    [[ -e $pidfile ]] || continue
    pid=$(<"$pidfile")
    if pid_alive "$pid"; then kill -TERM "$pid" 2>/dev/null || true; fi
    for _ in $(seq 50); do pid_alive "$pid" || break; sleep 0.1; done
    rm -f "$pidfile"
  done
}

keep=0
case "${1:-}" in
  "") ;;
  --keep-running) keep=1 ;;
  --stop)
    stop_services
    "$SCRIPTS_DIR/infra.sh" down
    exit 0
    ;;
  *) die "usage: scripts/demo.sh [--keep-running|--stop]" ;;
esac

"$SCRIPTS_DIR/deps.sh"
log "building"
"$SCRIPTS_DIR/build.sh" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
log "starting PostgreSQL and Kafka"
started_infra=0
if ! "$SCRIPTS_DIR/infra.sh" status >/dev/null 2>&1; then started_infra=1; fi
env_file=$("$SCRIPTS_DIR/infra.sh" up)
load_env "$env_file"

cleanup() {
  # Only the demo's own shell cleans up, not a subshell that exits.
  if [[ $keep == 0 && $BASHPID == "$$" ]]; then
    log "stopping the platform"
    stop_services
    if [[ $started_infra == 1 ]]; then
      "$SCRIPTS_DIR/infra.sh" down >/dev/null 2>&1 || true
    fi
  fi
}
trap cleanup EXIT

mkdir -p "$RUN_DIR"
read -r -a ports <<<"$(free_ports "${#SERVICES[@]}")"
for i in "${!SERVICES[@]}"; do
  svc=${SERVICES[$i]}
  # The indexer writes as its own role (INSERT on events only).
  dsn=$PORTCULLIS_PG_DSN
  [[ $svc == indexer ]] && dsn=$PORTCULLIS_PG_INDEXER_DSN
  PORTCULLIS_HTTP_LISTEN="127.0.0.1:${ports[$i]}" \
    PORTCULLIS_PG_DSN=$dsn \
    PORTCULLIS_INSTRUMENTER_WORKDIR="$RUN_DIR/instrumenter-work" \
    "$REPO/build/bin/portcullis-$svc" --config "$env_file" \
    >"$RUN_DIR/$svc.log" 2>&1 &
  echo $! >"$RUN_DIR/$svc.pid"
done

# Wait until every service answers /readyz over TLS (bounded).
curl_tls() { curl -sS --max-time 3 --cacert "$PORTCULLIS_TLS_CA" "$@"; }
printf '\n%-14s %-24s %-8s %s\n' SERVICE ADDRESS HEALTH READINESS
failed=0
for i in "${!SERVICES[@]}"; do
  svc=${SERVICES[$i]}
  url="https://localhost:${ports[$i]}"
  ready=""
  for _ in $(seq 100); do
    ready=$(curl_tls "$url/readyz" 2>/dev/null) && [[ $ready == *'"ready"'* ]] && break
    sleep 0.1
  done
  health=$(curl_tls -o /dev/null -w '%{http_code}' "$url/healthz" 2>/dev/null || echo down)
  printf '%-14s %-24s %-8s %s\n' "$svc" "127.0.0.1:${ports[$i]}" "$health" "${ready:-no answer}"
  [[ $health == 200 && $ready == *'"status":"ready"'* ]] || failed=1
done
echo
if [[ $failed == 1 ]]; then
  warn "not every service is healthy; logs are in $RUN_DIR"
  exit 1
fi
log "all ${#SERVICES[@]} services are live and ready (TLS, JSON logs in $RUN_DIR)"
log "metrics sample from ingest:"
curl_tls "https://localhost:${ports[2]}/metrics" | grep -E '^portcullis_(build_info|dependency_up)' >&2

# Identity: the operator creates a tenant, its admin an enrollment token; a
# container's agent registers with it and sends a heartbeat (the agent binary
# itself comes with a later issue: curl plays its part here).
registry="https://localhost:${ports[0]}"
ctl() { PORTCULLIS_SERVER=$registry "$REPO/build/bin/portcullisctl" "$@"; }
echo
log "operator: portcullisctl tenant create demo"
PORTCULLIS_API_KEY=$(PORTCULLIS_OPERATOR_TOKEN_FILE=$PORTCULLIS_OPERATOR_TOKEN_FILE \
  ctl tenant create "demo-$(date +%s)" 2>/dev/null)
export PORTCULLIS_API_KEY
log "admin: portcullisctl token create fleet --max-uses 10"
token=$(ctl token create fleet --max-uses 10 2>/dev/null)
log "agent: POST /v1/agents/register with the enrollment token, then a heartbeat"
registration=$(curl_tls -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"container_id":"demo-web-1","image_name":"shop/web:1.4","image_digest":"sha256:demo","hostname":"web-1","labels":{"env":"demo"},"agent_version":"0.1.0","kernel_version":"'"$(uname -r)"'"}' \
  "$registry/v1/agents/register")
agent_id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["agent_id"])' "$registration")
credential=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["credential"])' "$registration")
curl_tls -o /dev/null -H "Authorization: Bearer $credential" -H 'Content-Type: application/json' \
  -d '{"events_sent":0,"policy_version":0}' "$registry/v1/agents/$agent_id/heartbeat"
log "admin: portcullisctl agent list"
ctl agent list

# Policy: the admin writes a policy in YAML, validates and publishes it,
# assigns it to the image; the agent fetches its compiled rule table, parks a
# long-poll, and receives version 2 the moment it is published.
policy_server="https://localhost:${ports[1]}"
pctl() { PORTCULLIS_POLICY_SERVER=$policy_server ctl "$@"; }
policy_file=$RUN_DIR/web-policy.yaml
cat >"$policy_file" <<'YAML'
name: shop-web
defaults: {file: allow, network: deny, process: allow}
hardening: [deny-ptrace, deny-kernel-modules, deny-raw-sockets]
rules:
  - id: no-secrets
    type: file
    action: deny
    paths: [/etc/shadow, /run/secrets/, "/home/*/.ssh/**"]
  - id: dns
    type: network
    action: allow
    direction: outbound
    ports: ["53"]
    protocol: udp
  - id: https-out
    type: network
    action: allow
    direction: outbound
    addresses: [10.0.0.0/8]
    ports: ["443"]
YAML
log "admin: portcullisctl policy validate --file web-policy.yaml"
pctl policy validate --file "$policy_file"
log "admin: portcullisctl policy create --file web-policy.yaml"
policy_id=$(pctl --json policy create --file "$policy_file" --comment "first version" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
log "admin: portcullisctl policy assign $policy_id --image 'shop/*' --priority 10"
pctl policy assign "$policy_id" --image 'shop/*' --priority 10
log "admin: portcullisctl policy explain $agent_id"
pctl policy explain "$agent_id"
log "agent: GET /v1/agents/$agent_id/policy (rule table, protobuf)"
etag=$(curl_tls -o "$RUN_DIR/rule-table.pb" -D - -H "Authorization: Bearer $credential"   "$policy_server/v1/agents/$agent_id/policy" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag"{print $2}')
log "agent: got $(stat -c %s "$RUN_DIR/rule-table.pb") bytes, ETag $etag; now long-polling for a change"
curl_tls --max-time 30 -o "$RUN_DIR/rule-table-2.pb" -w '%{http_code}' -H "Authorization: Bearer $credential"   -H "If-None-Match: $etag" "$policy_server/v1/agents/$agent_id/policy?wait=20" >"$RUN_DIR/longpoll.status" &
poll=$!
sleep 1
sed -i 's/action: deny/action: monitor/' "$policy_file"
log "admin: portcullisctl policy update $policy_id --file web-policy.yaml (deny -> monitor)"
pctl policy update "$policy_id" --file "$policy_file" --comment "observe first" --if-version 1 >/dev/null
wait "$poll"
log "agent: long-poll answered $(cat "$RUN_DIR/longpoll.status") with version 2 ($(stat -c %s "$RUN_DIR/rule-table-2.pb") bytes)"
log "admin: portcullisctl policy diff $policy_id --from 1 --to 2"
pctl policy diff "$policy_id" --from 1 --to 2
log "admin: portcullisctl policy versions $policy_id"
pctl policy versions "$policy_id"
log "admin: portcullisctl audit list"
ctl audit list

# Enforcement: portcullis-agent, the in-container agent (PID 1 of a
# container; here a process on this machine), runs a workload under the rule
# table it just fetched (version 1: /etc/shadow denied). The denied open is
# refused by the kernel's seccomp filter and the agent's supervisor, the
# allowed one works, and the decision becomes an event.
log "agent: portcullis-agent --policy rule-table.pb -- sh -c 'cat /etc/hostname; cat /etc/shadow'"
agent_rc=0
"$REPO/build/bin/portcullis-agent" --policy "$RUN_DIR/rule-table.pb" \
  --events "$RUN_DIR/agent-events.jsonl" --events-format json --log-level warn \
  -- /bin/sh -c 'cat /etc/hostname >/dev/null && echo "workload: /etc/hostname read"; cat /etc/shadow' \
  || agent_rc=$?
log "agent: the workload exited with $agent_rc (cat was refused /etc/shadow); its event:"
head -n 1 "$RUN_DIR/agent-events.jsonl"
[[ $agent_rc -ne 0 && -s $RUN_DIR/agent-events.jsonl ]] ||
  die "the agent did not refuse /etc/shadow or recorded no event"

# Events: the agent sends its events to ingest (event_loadgen plays the agent:
# 2,000 denied opens of /etc/shadow in batches of 500, each acknowledged with a
# 202 once Kafka has it); the indexer writes them to PostgreSQL; an analyst asks
# in QQL, and a SIEM pulls them as CEF, following a cursor.
ingest_port=${ports[2]}
query_server="https://localhost:${ports[4]}"
qctl() { PORTCULLIS_QUERY_SERVER=$query_server ctl "$@"; }
log "agent: 2,000 events to ingest (POST /v1/events, protobuf batches)"
PORTCULLIS_AGENT_CREDENTIAL=$credential "$REPO/build/bin/event_loadgen" --port "$ingest_port" \
  --ca "$PORTCULLIS_TLS_CA" --events 2000 --batch 500 --acked "$RUN_DIR/acked.txt" >/dev/null
log "agent: $(wc -l <"$RUN_DIR/acked.txt") events acknowledged; waiting until they are queryable"
for _ in $(seq 100); do
  n=$(qctl --json search 'event.action:deny | count' 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["rows"][0][0])' 2>/dev/null || echo 0)
  [[ $n -ge 2000 ]] && break
  sleep 0.2
done
log "analyst: portcullisctl search 'event.action:deny and file.path:/etc/* | count by process.name, file.path'"
qctl search 'event.action:deny and file.path:/etc/* | count by process.name, file.path'
log "analyst: portcullisctl search 'rule.id:no-shadow' --limit 3"
qctl search 'rule.id:no-shadow' --limit 3
log "analyst: a typo gets a caret and a suggestion"
qctl search 'proces.name:curl' || true
log "SIEM: portcullisctl export --format cef --cursor-file siem.cursor (--follow would keep going)"
qctl export --format cef --limit 1000 --cursor-file "$RUN_DIR/siem.cursor" >"$RUN_DIR/siem.cef"
log "SIEM: $(wc -l <"$RUN_DIR/siem.cef") CEF lines, the first two:"
head -n 2 "$RUN_DIR/siem.cef"
log "SIEM: again from the saved cursor: $(qctl export --format cef --cursor-file "$RUN_DIR/siem.cursor" | wc -l) new lines"
if [[ $keep == 1 ]]; then
  log "left running; stop with: scripts/demo.sh --stop"
fi
