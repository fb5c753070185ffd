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
#   4. schemathesis on every registry operation of the document (all but
#      the policy and query services', the policy's checked by
#      policy_api_test.sh; examples,
#      coverage, fuzzing and stateful phases, bounded), each operation with the
#      credential its security scheme names (tests/api/schemathesis.toml),
#      tenant names made unique per run (tests/api/hooks.py);
#      checks: no 5xx, documented status codes, content types, headers and
#      response bodies;
#   5. the service still healthy, then SIGTERM (always, also on failure or
#      interrupt) and exit status 0.
# The machinery (service start and stop, curl helpers, the schemathesis run)
# is tests/api/common.sh, shared with policy_api_test.sh.
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
# shellcheck source=tests/api/common.sh
source "$here/common.sh"
api_begin registry-api "$@"

token_file=$(env_get "$env_file" PORTCULLIS_OPERATOR_TOKEN_FILE) ||
  die "$env_file has no PORTCULLIS_OPERATOR_TOKEN_FILE (rerun scripts/infra.sh up)"
env_get "$env_file" PORTCULLIS_OPERATOR_TOKEN_SHA256 >/dev/null ||
  die "$env_file has no PORTCULLIS_OPERATOR_TOKEN_SHA256 (rerun scripts/infra.sh up)"
[[ -r $token_file ]] || die "operator token file $token_file not readable"
operator_token=$(<"$token_file")

setup_venv

# The auth-failure and registration limits are raised for this instance: the
# fuzzer sends many bad credentials and registrations on purpose, and the
# limits must not turn the rest of the run into 429s. (429 stays documented
# and is checked by the service's own tests.)
start_service registry \
  PORTCULLIS_AUTH_FAILURE_BURST=100000 \
  PORTCULLIS_REGISTRY_REGISTER_BURST=100000 \
  PORTCULLIS_REGISTRY_REGISTER_PER_SECOND=100000

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
# The policy service's operations (tags policies, policy-assignments and
# policy-distribution) are another server's: policy_api_test.sh runs them;
# so are the query service's (tag search; its routes are covered by
# services/query's query_integration_test, a schemathesis run of its own is
# still to come).
st_env=(
  PORTCULLIS_API_OPERATOR_TOKEN="$operator_token"
  PORTCULLIS_API_ADMIN_KEY="$admin_key"
  PORTCULLIS_API_ANALYST_KEY="$analyst_key"
  PORTCULLIS_API_ENROLLMENT_TOKEN="$enrollment_token"
  PORTCULLIS_API_AGENT_CREDENTIAL="$agent_credential"
  PORTCULLIS_API_AGENT_ID="$agent_id"
  PORTCULLIS_API_RUN_ID="$suffix"
)
run_schemathesis "$here/schemathesis.toml" --exclude-tag-regex '^(polic|search)'

# --- the service survived, and so did the run's own credentials ----------------------
# (a revoked admin key or agent would have turned most of the run into 401s)
if service_alive registry; then
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
