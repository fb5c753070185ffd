#!/usr/bin/env bash
# portcullis-agent as the entrypoint of an OCI container run by runc, in a
# root file system with no libc at all: only the static agent, a static
# workload (workload_probe) and the policy. Checks that the container's exit
# status is the workload's, that an allowed open works, that a denied open is
# refused, and that the events file inside the rootfs records the deny.
#
#   oci_test.sh AGENT_BINARY WORKLOAD_PROBE
#
# Needs root and runc; exits 77 (CTest: skipped) without them. Every
# container and the bundle are removed whatever happens.
set -euo pipefail

agent=${1:?usage: oci_test.sh AGENT_BINARY WORKLOAD_PROBE}
probe=${2:?usage: oci_test.sh AGENT_BINARY WORKLOAD_PROBE}
runc=$(command -v runc || true)
if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: runc run of a root bundle needs root" >&2
  exit 77
fi
if [[ -z $runc ]]; then
  echo "SKIP: runc is not installed" >&2
  exit 77
fi
if ! command -v jq >/dev/null; then
  echo "FAIL: jq is needed to edit config.json" >&2
  exit 1
fi

work=$(mktemp -d /tmp/agent-oci.XXXXXX)
state=$work/state  # runc's own state directory: nothing shared with other runs
bundle=$work/bundle
rootfs=$bundle/rootfs
ids=()
cleanup() {
  local id
  for id in "${ids[@]}"; do
    "$runc" --root "$state" delete --force "$id" >/dev/null 2>&1 || true
  done
  rm -rf -- "$work"
}
trap cleanup EXIT

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# The root file system: nothing but these files (no libc, no loader, no shell).
mkdir -p "$rootfs/data"
install -m 0755 "$agent" "$rootfs/portcullis-agent"
install -m 0755 "$probe" "$rootfs/workload"
printf 'allowed content\n' >"$rootfs/data/allowed"
printf 'the secret\n' >"$rootfs/data/secret"
cat >"$rootfs/policy.json" <<'EOF'
{"name": "oci-test", "rules": [
  {"id": "no-secret", "type": "file", "action": "deny", "paths": ["/data/secret"]}]}
EOF
if find "$rootfs" -name 'libc*' -o -name 'ld-linux*' | grep -q .; then
  fail "the rootfs holds a C library"
fi

# run_container ID ARGS...: runs the workload under the agent in the bundle;
# sets $status and $output (the container's stdout).
status=0
output=
run_container() {
  local id=$1
  shift
  local args
  args=$(printf '%s\n' /portcullis-agent --policy /policy.json --events /events.jsonl \
    --events-format json -- /workload "$@" | jq -Rnc '[inputs]')
  rm -f "$bundle/config.json"
  "$runc" spec --bundle "$bundle"
  jq --argjson args "$args" \
    '.process.args = $args | .process.terminal = false | .root.readonly = false |
     .hostname = "agent-oci-test"' \
    "$bundle/config.json" >"$bundle/config.json.new"
  mv "$bundle/config.json.new" "$bundle/config.json"
  ids+=("$id")
  set +e
  output=$("$runc" --root "$state" run --bundle "$bundle" "$id" </dev/null 2>"$work/$id.stderr")
  status=$?
  set -e
  "$runc" --root "$state" delete --force "$id" >/dev/null 2>&1 || true
}

prefix=agent-oci-$$-$RANDOM

run_container "$prefix-allowed" open /data/allowed
if [[ $status -ne 0 || $output != "allowed content" ]]; then
  fail "allowed open: status $status, output '$output'"
  cat "$work/$prefix-allowed.stderr" >&2
fi

run_container "$prefix-denied" open /data/secret
# workload_probe exits with the errno of its open: EACCES (13), the agent
# passes it on as the container's status.
if [[ $status -ne 13 || -n $output ]]; then
  fail "denied open: status $status (want 13), output '$output'"
  cat "$work/$prefix-denied.stderr" >&2
fi

events=$rootfs/events.jsonl
if [[ ! -s $events ]]; then
  fail "no events file in the rootfs"
else
  denies=$(jq -c 'select(.ruleId == "no-secret" or .rule_id == "no-secret")' "$events" | wc -l)
  if [[ $denies -ne 1 ]]; then
    fail "want 1 deny event of rule no-secret, got $denies"
    cat "$events" >&2
  fi
  if ! jq -e 'select(.action == "ACTION_DENY") | .file.path == "/data/secret"' "$events" \
    | grep -q true; then
    fail "the deny event does not name /data/secret"
    cat "$events" >&2
  fi
fi

if [[ $failures -ne 0 ]]; then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "PASS: allowed open, denied open (status 13), deny event recorded in the rootfs"
