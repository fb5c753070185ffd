#!/usr/bin/env bash
# portcullisctl against a real registry (TLS, PostgreSQL): an operator creates
# a tenant, its admin creates keys and an enrollment token, an agent
# registers, and the CLI lists, filters, revokes and reads the audit log;
# then policies against a real policy service: a YAML policy validated,
# created, assigned, explained, updated, diffed and rolled back, and a broken
# one refused with its diagnostics at file:line.
# Needs the infrastructure env file ($PORTCULLIS_ENV_FILE) and the built
# binaries ($PORTCULLIS_BIN_DIR); CTest provides both.
set -euo pipefail
PORTCULLIS_LOG_NAME=cli-e2e
SOURCE_DIR=${PORTCULLIS_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)}
# shellcheck source=scripts/lib.sh
source "$SOURCE_DIR/scripts/lib.sh"
BIN=${PORTCULLIS_BIN_DIR:-$SOURCE_DIR/build/bin}
ENV_FILE=${PORTCULLIS_ENV_FILE:?run through ctest or set PORTCULLIS_ENV_FILE}
load_env "$ENV_FILE"

work=$(mktemp -d)
registry_pid=""
policy_pid=""
cleanup() {
  if [[ -n $registry_pid ]]; then kill -TERM "$registry_pid" 2>/dev/null || true; fi
  if [[ -n $policy_pid ]]; then kill -TERM "$policy_pid" 2>/dev/null || true; fi
  rm -rf -- "$work"
}
trap cleanup EXIT

read -r port policy_port < <(free_ports 2)
PORTCULLIS_HTTP_LISTEN=127.0.0.1:$port "$BIN/portcullis-registry" --config "$ENV_FILE" \
  2>"$work/registry.log" &
registry_pid=$!
PORTCULLIS_HTTP_LISTEN=127.0.0.1:$policy_port "$BIN/portcullis-policy" --config "$ENV_FILE" \
  2>"$work/policy.log" &
policy_pid=$!
for p in "$port" "$policy_port"; do
  for _ in $(seq 100); do
    curl -sf --cacert "$PORTCULLIS_TLS_CA" "https://localhost:$p/readyz" >/dev/null && break
    sleep 0.1
  done
done

export PORTCULLIS_SERVER=https://localhost:$port PORTCULLIS_TLS_CA
export PORTCULLIS_POLICY_SERVER=https://localhost:$policy_port
ctl() { "$BIN/portcullisctl" "$@"; }
passed=0
failed=0
check() {  # check DESCRIPTION COMMAND...: the command must succeed
  local what=$1
  shift
  if "$@" >"$work/out" 2>"$work/err"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    printf 'FAIL: %s\n--- stdout\n%s\n--- stderr\n%s\n' "$what" "$(cat "$work/out")" \
      "$(cat "$work/err")" >&2
  fi
}
expect_exit() {  # expect_exit CODE DESCRIPTION COMMAND...
  local code=$1 what=$2 rc=0
  shift 2
  "$@" >"$work/out" 2>"$work/err" || rc=$?
  if [[ $rc == "$code" ]]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    printf 'FAIL: %s: exit %s, expected %s\n%s\n' "$what" "$rc" "$code" "$(cat "$work/err")" >&2
  fi
}

tenant="cli-$(openssl rand -hex 4)"
PORTCULLIS_OPERATOR_TOKEN_FILE=$PORTCULLIS_OPERATOR_TOKEN_FILE ctl tenant create "$tenant" \
  >"$work/admin" 2>/dev/null
admin=$(<"$work/admin")
check "tenant create prints the admin key alone on stdout" grep -qE '^pck_[0-9a-f_]+$' "$work/admin"
export PORTCULLIS_API_KEY=$admin

analyst=$(ctl key create soc --role analyst 2>/dev/null)
check "key create --role analyst" grep -qE '^pck_' <<<"$analyst"
token=$(ctl token create fleet --max-uses 5 2>/dev/null)
check "token create" grep -qE '^pce_' <<<"$token"

# An agent registers (the agent itself arrives with a later issue).
curl -sf --cacert "$PORTCULLIS_TLS_CA" -H "Authorization: Bearer $token" \
  -H 'Content-Type: application/json' \
  -d '{"container_id":"ctr-1","image_name":"shop/web:1.4","hostname":"node a","labels":{"env":"prod"},"agent_version":"0.1","kernel_version":"6.1"}' \
  "$PORTCULLIS_SERVER/v1/agents/register" >"$work/agent.json"
agent_id=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["agent_id"])' "$work/agent.json")

# Policies, from a YAML file.
cat >"$work/web.yaml" <<'YAML'
name: web
defaults: {file: allow, network: deny}
hardening: [deny-ptrace]
rules:
  - id: no-shadow
    type: file
    action: deny
    paths: [/etc/shadow]
  - id: https-out
    type: network
    action: allow
    direction: outbound
    ports: ["443"]
YAML
check "policy validate (YAML)" bash -c "\"$BIN/portcullisctl\" policy validate --file '$work/web.yaml'"
policy_id=$(ctl --json policy create --file "$work/web.yaml" --comment first |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
check "policy create" grep -qE '^[0-9a-f-]{36}$' <<<"$policy_id"
check "policy assign --image" ctl policy assign "$policy_id" --image 'shop/*' --priority 5
check "policy explain names the policy" \
  bash -c "\"$BIN/portcullisctl\" policy explain '$agent_id' | grep -q web"
sed -i 's/action: deny/action: monitor/' "$work/web.yaml"
check "policy update --if-version 1" ctl policy update "$policy_id" --file "$work/web.yaml" --if-version 1
expect_exit 1 "a stale --if-version is refused" \
  ctl policy update "$policy_id" --file "$work/web.yaml" --if-version 1
check "policy diff shows the changed action" \
  bash -c "\"$BIN/portcullisctl\" policy diff '$policy_id' --from 1 --to 2 | grep -q 'no-shadow/action'"
check "policy rollback" ctl policy rollback "$policy_id" --version 1
check "policy versions lists 3" \
  bash -c "\"$BIN/portcullisctl\" --json policy versions '$policy_id' | python3 -c 'import json,sys; assert len(json.load(sys.stdin)[\"versions\"]) == 3'"
printf 'name: broken\nrules:\n  - type: file\n    action: deny\n    paths: ["/etc/[x"]\n' >"$work/broken.yaml"
expect_exit 1 "a broken policy is refused" ctl policy create --file "$work/broken.yaml"
cp "$work/err" "$work/broken.err"
check "its diagnostic points at the YAML line" grep -q 'broken.yaml:5' "$work/broken.err"
check "an agent fetches its rule table" curl -sf --cacert "$PORTCULLIS_TLS_CA" \
  -H "Authorization: Bearer $(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["credential"])' "$work/agent.json")" \
  -o "$work/table.pb" "$PORTCULLIS_POLICY_SERVER/v1/agents/$agent_id/policy"

check "key list shows both keys" bash -c "\"$BIN/portcullisctl\" key list | grep -q soc"
check "agent list (analyst) finds the agent by label" \
  bash -c "PORTCULLIS_API_KEY='$analyst' \"$BIN/portcullisctl\" agent list --label env=prod | grep -q '$agent_id'"
check "agent list filters by a hostname with a space" \
  bash -c "\"$BIN/portcullisctl\" agent list --hostname 'node a' | grep -q '$agent_id'"
check "agent list --json is JSON" \
  bash -c "\"$BIN/portcullisctl\" agent list --json | python3 -c 'import json,sys; assert json.load(sys.stdin)[\"agents\"]'"
check "image list" bash -c "\"$BIN/portcullisctl\" image list | grep -q 'shop/web:1.4'"
check "agent get" bash -c "\"$BIN/portcullisctl\" agent get '$agent_id' | grep -q online"
check "agent revoke" ctl agent revoke "$agent_id"
check "agent get after revoke" bash -c "\"$BIN/portcullisctl\" agent get '$agent_id' | grep -q revoked"
check "audit list shows the revocation" bash -c "\"$BIN/portcullisctl\" audit list | grep -q agent.revoke"
expect_exit 1 "an analyst cannot create keys" \
  env PORTCULLIS_API_KEY="$analyst" "$BIN/portcullisctl" key create x --role admin
expect_exit 1 "a wrong key is refused" \
  env PORTCULLIS_API_KEY=pck_wrong "$BIN/portcullisctl" agent list
expect_exit 2 "usage errors exit 2" ctl agent list --limit many
expect_exit 3 "an unreachable server exits 3" \
  env PORTCULLIS_SERVER=https://localhost:1 "$BIN/portcullisctl" agent list

printf 'cli-e2e: %d passed, %d failed\n' "$passed" "$failed"
[[ $failed == 0 ]]
