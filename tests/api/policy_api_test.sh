#!/usr/bin/env bash
# Contract test of the policy service's REST API: the running service against
# schema/openapi/portcullis.yaml, with schemathesis.
#
#   1. the Python venv of registry_api_test.sh (tests/api/requirements.txt);
#   2. portcullis-registry and portcullis-policy started over TLS on free
#      loopback ports with the infrastructure env file;
#   3. bootstrap with curl: through the registry a tenant (operator token),
#      its admin key, an analyst key, an enrollment token and a registered
#      agent (the registry is stopped then: the policy service needs only the
#      database); through the policy service one policy and an assignment
#      that gives the agent that policy; then what schemathesis does not
#      exercise: the rule table as protobuf and as JSON (checked against the
#      RuleTable schema with tests/api/conforms.py) with its ETag headers,
#      304 for a current If-None-Match (also after a short long-poll), 404
#      with ETag "none" before any assignment, 412 for a stale If-Match, 409
#      for a taken name and for deleting an assigned policy, the analyst key
#      (reads, no writes), the agent credential (only its own table), no
#      credential, a 400 listing every problem under /document, 413, 415;
#   4. schemathesis on the policy operations (tags policies,
#      policy-assignments, policy-distribution) and the operational
#      endpoints (examples, coverage, fuzzing and stateful phases, bounded),
#      each operation with the credential its security scheme names
#      (tests/api/schemathesis-policy.toml), bodies over the service's
#      largest limit left out (tests/api/hooks.py says why); checks: no 5xx,
#      documented status codes, content types, headers and response bodies;
#   5. the run's policy, assignment and credentials still work, the service
#      still healthy, then SIGTERM (always, also on failure or interrupt)
#      and exit status 0.
# The machinery is tests/api/common.sh, shared with registry_api_test.sh.
#
# Usage: tests/api/policy_api_test.sh   (CTest: policy_api_test)
#
# Environment:
#   PORTCULLIS_ENV_FILE          infra.sh env file (required; `scripts/infra.sh up`)
#   PORTCULLIS_BIN_DIR           where portcullis-registry and -policy are (default build/bin)
#   PORTCULLIS_SOURCE_DIR        the repository (default: from this script's path)
#   PORTCULLIS_CACHE_DIR         venv location (default ~/.cache/portcullis)
#   PORTCULLIS_API_MAX_EXAMPLES  schemathesis cases per operation and phase (default 50)
#   PORTCULLIS_API_SEED          schemathesis seed (default 20260131)
#   PORTCULLIS_API_WORKERS       schemathesis workers (default 1; see registry_api_test.sh)
#   PORTCULLIS_API_ARGS          more schemathesis run arguments, split on spaces
#                                (e.g. "--include-operation-id createPolicy")
#   PORTCULLIS_API_REPORT_DIR    keep the service logs and the schemathesis
#                                reports there (a report can show the
#                                credentials the run used in its test tenant)
#
# Prints one line per check and ends with "policy-api: N passed, M failed";
# exits 1 when anything failed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=${PORTCULLIS_SOURCE_DIR:-$(cd "$here/../.." && pwd -P)}
# shellcheck source=scripts/lib.sh
source "$repo/scripts/lib.sh"
# shellcheck source=tests/api/common.sh
source "$here/common.sh"
api_begin policy-api "$@"

token_file=$(env_get "$env_file" PORTCULLIS_OPERATOR_TOKEN_FILE) ||
  die "$env_file has no PORTCULLIS_OPERATOR_TOKEN_FILE (rerun scripts/infra.sh up)"
[[ -r $token_file ]] || die "operator token file $token_file not readable"
operator_token=$(<"$token_file")

setup_venv

# --- bootstrap through the registry: one of each principal ---------------------------
start_service registry
credential operator "$operator_token"
suffix=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
expect "bootstrap: POST /v1/tenants (operator) 201" 201 POST /v1/tenants operator \
  "{\"name\":\"policy-api-test-$suffix\"}" || exit 1
admin_key=$(json_get /admin_key/secret)
credential admin "$admin_key"

expect "bootstrap: POST /v1/api-keys analyst (admin) 201" 201 POST /v1/api-keys admin \
  '{"name":"policy-api-test-analyst","role":"analyst"}' || exit 1
analyst_key=$(json_get /secret)
credential analyst "$analyst_key"

expect "bootstrap: POST /v1/enrollment-tokens (admin) 201" 201 POST /v1/enrollment-tokens admin \
  '{"name":"policy-api-test"}' || exit 1
credential enrollment "$(json_get /secret)"

expect "bootstrap: POST /v1/agents/register (enrollment token) 201" 201 POST /v1/agents/register \
  enrollment "{\"container_id\":\"policy-api-test-$suffix\",\"image_name\":\"example/api-test:1\",\
\"hostname\":\"api-test\",\"labels\":{\"suite\":\"api\"},\
\"agent_version\":\"0.1.0\",\"kernel_version\":\"6.1.0\"}" || exit 1
agent_id=$(json_get /agent_id)
agent_credential=$(json_get /credential)
credential agent "$agent_credential"
stop_service registry

# --- the policy service ----------------------------------------------------------------
# The auth-failure limit is raised for this instance: the fuzzer sends bad
# credentials on purpose, and 429s must not take over the rest of the run.
start_service policy PORTCULLIS_AUTH_FAILURE_BURST=100000

# check_header NAME WANT: a check on a header of the last response.
check_header() {
  local got
  got=$(header_get "$1") || got="(absent)"
  if [[ $got == "$2" ]]; then
    pass "  header $1: $2"
  else
    fail "  header $1: $got, want $2"
  fi
}

if expect "agent: GET /v1/agents/{id}/policy before any assignment 404" 404 GET \
  "/v1/agents/$agent_id/policy" agent; then
  check_header ETag '"none"'
fi

# Something of every kind, so that the rule table has every kind of field.
document='{"name":"api-test","mode":"enforcing","defaults":{"network":"allow","file":"monitor"},
"hardening":["deny-ptrace","deny-raw-sockets"],"rules":[
{"id":"no-shadow","type":"file","action":"deny","paths":["/etc/shadow","/root/","/home/*/.ssh/**"],
 "operations":["read","write"],"programs":["/usr/bin/*"]},
{"id":"https","type":"network","action":"allow","direction":"outbound",
 "addresses":["10.0.0.0/8","2001:db8::/32"],"ports":["443","8000-8999"],"protocol":"tcp"},
{"id":"no-personality","type":"syscall","action":"deny","syscall":"personality",
 "args":[{"index":0,"op":"ne","value":0},{"index":1,"op":"mask","mask":255,"value":1},
 {"index":2,"op":"range","min":1,"max":9}]},
{"id":"watch-python","type":"syscall","action":"monitor","syscall":"openat","programs":["/usr/bin/python3"]}]}'
expect "admin: POST /v1/policies/validate 200" 200 POST /v1/policies/validate admin \
  "{\"document\":$document}" || true
expect "bootstrap: POST /v1/policies (admin) 201" 201 POST /v1/policies admin \
  "{\"document\":$document,\"comment\":\"policy-api-test\"}" || exit 1
policy_id=$(json_get /id)
expect "admin: POST /v1/policies with that name again 409" 409 POST /v1/policies admin \
  "{\"document\":$document}" || true
expect "bootstrap: POST /v1/policies/{id}/assignments labels (admin) 201" 201 POST \
  "/v1/policies/$policy_id/assignments" admin '{"priority":1000000,"selector":{"labels":{"suite":"api"}}}' ||
  exit 1
assignment_id=$(json_get /id)

if expect "agent: GET /v1/agents/{id}/policy 200" 200 GET "/v1/agents/$agent_id/policy" agent; then
  check_header Content-Type application/x-protobuf
  check_header X-Portcullis-Policy-Id "$policy_id"
  check_header X-Portcullis-Policy-Version 1
  check_header ETag "\"$policy_id.1.f1\""
fi
etag=$(header_get ETag) || etag='"?"'
if expect "agent: GET /v1/agents/{id}/policy Accept: application/json 200" 200 GET \
  "/v1/agents/$agent_id/policy" agent "" "" "Accept: application/json"; then
  check_header Content-Type application/json
  if [[ $(json_get /policyId 2>/dev/null) == "$policy_id" ]]; then
    pass "  the JSON rule table names the policy"
  else
    fail "  the JSON rule table names the policy (got $(head -c 200 "$work/body"))"
  fi
  # schemathesis never asks for JSON (Accept is no OpenAPI 3.0 parameter).
  if "$venv/bin/python" "$here/conforms.py" "$spec" RuleTable "$work/body" >"$work/conforms.out"; then
    pass "  the JSON rule table conforms to the RuleTable schema"
  else
    fail "  the JSON rule table conforms to the RuleTable schema: $(head -c 1000 "$work/conforms.out")"
  fi
fi
expect "agent: GET /v1/agents/{id}/policy If-None-Match current 304" 304 GET \
  "/v1/agents/$agent_id/policy" agent "" "" "If-None-Match: $etag" || true
started=$SECONDS
expect "agent: GET /v1/agents/{id}/policy?wait=1 If-None-Match current 304" 304 GET \
  "/v1/agents/$agent_id/policy?wait=1" agent "" "" "If-None-Match: $etag" || true
[[ $((SECONDS - started)) -le 5 ]] || fail "  the long-poll ends after its wait"
expect "agent: GET /v1/agents/{id}/policy of another agent 403" 403 GET \
  "/v1/agents/$policy_id/policy" agent || true

expect "admin: PUT /v1/policies/{id} If-Match \"1\" 200" 200 PUT "/v1/policies/$policy_id" admin \
  "{\"document\":$document,\"comment\":\"again\"}" "" 'If-Match: "1"' || true
if expect "admin: PUT /v1/policies/{id} If-Match \"1\" again 412" 412 PUT \
  "/v1/policies/$policy_id" admin "{\"document\":$document}" "" 'If-Match: "1"'; then
  if [[ $(json_get /error/code) == failed_precondition ]]; then
    pass "  code failed_precondition"
  else
    fail "  code $(json_get /error/code), want failed_precondition"
  fi
fi
if expect "admin: DELETE /v1/policies/{id} while assigned 409" 409 DELETE \
  "/v1/policies/$policy_id" admin; then
  if [[ $(json_get /error/code) == conflict ]]; then
    pass "  code conflict"
  else
    fail "  code $(json_get /error/code), want conflict"
  fi
fi
if expect "admin: POST /v1/policies/validate with three problems 400" 400 POST \
  /v1/policies/validate admin \
  '{"document":{"name":"x","rules":[{"type":"file","action":"explode","paths":["relative"],"colour":1}]}}'; then
  locations=$(json_get /error/details | python3 -c '
import json, sys
print(" ".join(sorted(d["location"] for d in json.load(sys.stdin))))')
  want="/document/rules/0/action /document/rules/0/colour /document/rules/0/paths/0"
  if [[ $locations == "$want" ]]; then
    pass "  error.details locates every problem under /document"
  else
    fail "  error.details locations: $locations, want $want"
  fi
fi
expect "admin: POST /v1/policies as text/plain 415" 415 POST /v1/policies admin \
  "{\"document\":$document}" text/plain || true
# 2 MiB: over the 1 MiB of a rollback, under the 4 MiB of a document (a body
# over the largest limit gets its 413 before it is read, see hooks.py).
python3 -c 'print("{\"version\":1,\"comment\":\"" + "x" * (2 << 20) + "\"}")' >"$work/big.json"
expect "admin: POST /v1/policies/{id}/rollback with 2 MiB 413" 413 POST \
  "/v1/policies/$policy_id/rollback" admin "@$work/big.json" || true

# What schemathesis does not cover: it uses the first credential each
# operation allows (the admin key on the reads) and always sends one.
expect "analyst: GET /v1/policies 200" 200 GET /v1/policies analyst || true
expect "analyst: GET /v1/policies/{id}?version=1 200" 200 GET "/v1/policies/$policy_id?version=1" analyst || true
expect "analyst: GET /v1/policies/{id}/diff?from=1 200" 200 GET "/v1/policies/$policy_id/diff?from=1" analyst || true
expect "analyst: POST /v1/policies/validate 200" 200 POST /v1/policies/validate analyst \
  "{\"document\":$document}" || true
expect "analyst: GET /v1/agents/{id}/policy/explain 200" 200 GET \
  "/v1/agents/$agent_id/policy/explain" analyst || true
expect "analyst: POST /v1/policies 403" 403 POST /v1/policies analyst \
  '{"document":{"name":"nope","rules":[]}}' || true
expect "analyst: DELETE /v1/policy-assignments/{id} 403" 403 DELETE \
  "/v1/policy-assignments/$assignment_id" analyst || true
expect "analyst: GET /v1/agents/{id}/policy 403" 403 GET "/v1/agents/$agent_id/policy" analyst || true
expect "agent: GET /v1/policies 403" 403 GET /v1/policies agent || true
expect "agent: GET /v1/agents/{id}/policy/explain 403" 403 GET \
  "/v1/agents/$agent_id/policy/explain" agent || true
expect "no credential: GET /v1/policies 401" 401 GET /v1/policies "" || true
expect "no credential: GET /v1/agents/{id}/policy 401" 401 GET "/v1/agents/$agent_id/policy" "" || true

# --- schemathesis --------------------------------------------------------------------
st_env=(
  PORTCULLIS_API_ADMIN_KEY="$admin_key"
  PORTCULLIS_API_ANALYST_KEY="$analyst_key"
  PORTCULLIS_API_AGENT_CREDENTIAL="$agent_credential"
  PORTCULLIS_API_AGENT_ID="$agent_id"
  PORTCULLIS_API_RUN_ID="$suffix"
  PORTCULLIS_API_MAX_BODY_BYTES=$(((4 << 20) + 4096))
)
run_schemathesis "$here/schemathesis-policy.toml" --include-tag-regex '^(polic|operations$)'

# --- the service survived, and so did the run's own policy and credentials -----------
if service_alive policy; then
  expect "after the run: GET /healthz 200" 200 GET /healthz "" || true
  expect "after the run: admin key still valid, the run's policy still there" 200 GET \
    "/v1/policies/$policy_id" admin || true
  expect "after the run: the agent still gets a rule table" 200 GET \
    "/v1/agents/$agent_id/policy" agent || true
  # The run assigned the policy more often (response ids): unassign it all.
  if expect "after the run: GET /v1/policy-assignments 200" 200 GET /v1/policy-assignments admin; then
    mapfile -t assigned < <(python3 -c '
import json, sys
for a in json.load(open(sys.argv[1]))["assignments"]:
    if a["policy_id"] == sys.argv[2]:
        print(a["id"])' "$work/body" "$policy_id")
    gone=0
    for id in "${assigned[@]}"; do
      call DELETE "/v1/policy-assignments/$id" admin
      [[ $status != 204 ]] || gone=$((gone + 1))
    done
    # (The stateful phase may itself have unassigned the run's own
    # assignment: an admin may, so that is not a failure.)
    if [[ $gone -eq ${#assigned[@]} ]]; then
      pass "after the run: DELETE /v1/policy-assignments/{id} 204 for its ${#assigned[@]} assignments"
    else
      fail "after the run: DELETE /v1/policy-assignments/{id} 204 for its ${#assigned[@]} assignments: $gone"
    fi
  fi
  expect "after the run: DELETE /v1/policies/{id} once unassigned 204" 204 DELETE \
    "/v1/policies/$policy_id" admin || true
else
  fail "policy: still running after the run"
fi
