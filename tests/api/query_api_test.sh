#!/usr/bin/env bash
# Contract test of the query service's REST API: the running service against
# schema/openapi/portcullis.yaml, with schemathesis.
#
#   1. the Python venv of registry_api_test.sh (tests/api/requirements.txt);
#   2. through a registry (stopped afterwards): two tenants, each with an
#      admin and an analyst key; 30 events of the first tenant and 5 of the
#      second written as the indexer writes them (its database role);
#   3. portcullis-query over TLS on a free loopback port, and what
#      schemathesis does not check: the analyst key reads (search, count by,
#      timechart with its empty hours, a page and its cursor, the export in
#      every format with its headers), each tenant sees only its own events,
#      a cursor of another query is a 400, bad QQL is a 400 located at /qql,
#      no credential 401, an oversized body 413, the per-query metrics;
#   4. schemathesis on the search operations and the operational endpoints
#      (examples, coverage, fuzzing and stateful phases, bounded), with the
#      analyst key (tests/api/schemathesis-query.toml); checks: no 5xx,
#      documented status codes, content types, headers and response bodies;
#   5. the service still healthy, then SIGTERM (always) and exit status 0.
# The machinery is tests/api/common.sh, shared with the other API tests.
#
# Usage: tests/api/query_api_test.sh   (CTest: query_api_test)
# Environment: as policy_api_test.sh (PORTCULLIS_ENV_FILE, PORTCULLIS_BIN_DIR,
# PORTCULLIS_API_MAX_EXAMPLES, PORTCULLIS_API_SEED, PORTCULLIS_API_ARGS, ...).
#
# Prints one line per check and ends with "query-api: N passed, M failed";
# exits 1 when anything failed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=${PORTCULLIS_SOURCE_DIR:-$(cd "$here/../.." && pwd -P)}
# shellcheck source=scripts/lib.sh
source "$repo/scripts/lib.sh"
# shellcheck source=tests/api/common.sh
source "$here/common.sh"
api_begin query-api "$@"

token_file=$(env_get "$env_file" PORTCULLIS_OPERATOR_TOKEN_FILE) ||
  die "$env_file has no PORTCULLIS_OPERATOR_TOKEN_FILE (rerun scripts/infra.sh up)"
indexer_dsn=$(env_get "$env_file" PORTCULLIS_PG_INDEXER_DSN) ||
  die "$env_file has no PORTCULLIS_PG_INDEXER_DSN (rerun scripts/infra.sh up)"
require_tool psql postgresql-client
operator_token=$(<"$token_file")

setup_venv

# --- bootstrap: two tenants, their keys, their events ------------------------------------
start_service registry
credential operator "$operator_token"
suffix=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
declare -A tenant_id
for t in a b; do
  expect "bootstrap: POST /v1/tenants $t (operator) 201" 201 POST /v1/tenants operator \
    "{\"name\":\"query-api-test-$t-$suffix\"}" || exit 1
  tenant_id[$t]=$(json_get /tenant/id)
  credential "admin_$t" "$(json_get /admin_key/secret)"
  expect "bootstrap: POST /v1/api-keys analyst $t (admin) 201" 201 POST /v1/api-keys "admin_$t" \
    '{"name":"query-api-test-analyst","role":"analyst"}' || exit 1
  credential "analyst_$t" "$(json_get /secret)"
done
analyst_key=$(<"$work/cred-analyst_a")
analyst_key=${analyst_key#Authorization: Bearer }
stop_service registry

# insert_events TENANT N: N events of TENANT in the last N minutes, as the
# indexer's role writes them (every third a deny by /usr/bin/curl to 10.1.2.N).
insert_events() {
  psql -X -q -v ON_ERROR_STOP=1 "$indexer_dsn" -v tenant="$1" -v n="$2" >/dev/null <<'SQL'
SELECT portcullis_ensure_event_partitions((now() - interval '1 day')::date, 3);
INSERT INTO events (tenant_id, event_id, ts, agent_id, container_id, image, hostname, pid,
  executable, cmdline, syscall, category, action, enforced, result, rule_id, file_path,
  net_direction, net_protocol, remote_ip, remote_port, labels)
SELECT :'tenant', gen_random_uuid(), now() - make_interval(mins => i), gen_random_uuid(),
  'c-' || (i % 3), 'shop/web:1', 'node-1', 100 + i,
  CASE WHEN i % 3 = 0 THEN '/usr/bin/curl' ELSE '/bin/sh' END, 'run ' || i,
  CASE WHEN i % 2 = 0 THEN 'connect' ELSE 'openat' END,
  CASE WHEN i % 2 = 0 THEN 'network' ELSE 'file' END,
  CASE WHEN i % 3 = 0 THEN 'deny' ELSE 'monitor' END, true, 0, 'r-' || (i % 4),
  CASE WHEN i % 2 = 1 THEN '/etc/app/f' || i END,
  CASE WHEN i % 2 = 0 THEN 'outbound' END, CASE WHEN i % 2 = 0 THEN 'tcp' END,
  CASE WHEN i % 2 = 0 THEN ('10.1.2.' || i)::inet END, CASE WHEN i % 2 = 0 THEN 443 END,
  '{"env":"prod"}'
FROM generate_series(1, :n) AS i;
SQL
}
if insert_events "${tenant_id[a]}" 30 && insert_events "${tenant_id[b]}" 5; then
  pass "bootstrap: 30 events of tenant a, 5 of tenant b (indexer role)"
else
  fail "bootstrap: inserting the events"
  exit 1
fi

# --- the query service -------------------------------------------------------------------
# The auth-failure limit is raised for this instance: the fuzzer sends bad
# credentials on purpose, and 429s must not take over the rest of the run.
start_service query PORTCULLIS_AUTH_FAILURE_BURST=100000

# check NAME PYTHON-EXPRESSION: a check on the last JSON body, bound to `b`.
check() {
  if python3 -c "import json,sys; b=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" \
    "$work/body" 2>/dev/null; then
    pass "  $1"
  else
    fail "  $1 (body: $(head -c 400 "$work/body"))"
  fi
}
check_header() {
  local got
  got=$(header_get "$1") || got="(absent)"
  if [[ $got =~ $2 ]]; then
    pass "  header $1: $got"
  else
    fail "  header $1: $got, want /$2/"
  fi
}

if expect "analyst: POST /v1/search (every event) 200" 200 POST /v1/search analyst_a '{"qql":""}'; then
  check "30 events, tenant a's only" "len(b['events']) == 30 and b['next_cursor'] is None"
fi
if expect "analyst: POST /v1/search deny by curl 200" 200 POST /v1/search analyst_a \
  '{"qql":"process.name:curl and event.action:deny and network.remote.ip:10.1.2.0/24"}'; then
  check "the 5 network denies by curl" "len(b['events']) == 5 and all(e['process.name'] == 'curl' for e in b['events'])"
fi
if expect "analyst: POST /v1/search count by 200" 200 POST /v1/search analyst_a \
  '{"qql":"| count by process.name"}'; then
  check "rows [name, count]" "sorted(map(tuple, b['rows'])) == [('curl', 10), ('sh', 20)]"
fi
if expect "analyst: POST /v1/search timechart 200" 200 POST /v1/search analyst_a \
  '{"qql":"| timechart 1h"}'; then
  check "every hour of the day, empty ones 0" \
    "len(b['rows']) in (24, 25) and sum(r[1] for r in b['rows']) == 30 and sum(r[1] == 0 for r in b['rows']) >= 22"
fi
if expect "analyst: POST /v1/search page of 20 200" 200 POST /v1/search analyst_a \
  '{"qql":"","limit":20}'; then
  check "20 events and a cursor" "len(b['events']) == 20 and isinstance(b['next_cursor'], str)"
  cursor=$(json_get /next_cursor)
  if expect "analyst: POST /v1/search next page 200" 200 POST /v1/search analyst_a \
    "{\"qql\":\"\",\"limit\":20,\"cursor\":\"$cursor\"}"; then
    check "the other 10" "len(b['events']) == 10 and b['next_cursor'] is None"
  fi
  expect "analyst: POST /v1/search with that cursor and another query 400" 400 POST /v1/search \
    analyst_a "{\"qql\":\"event.action:deny\",\"cursor\":\"$cursor\"}" || true
fi
if expect "analyst b: POST /v1/search 200" 200 POST /v1/search analyst_b '{"qql":""}'; then
  check "tenant b sees its 5 only" "len(b['events']) == 5"
fi
if expect "analyst: POST /v1/search bad QQL 400" 400 POST /v1/search analyst_a \
  '{"qql":"proces.name:curl"}'; then
  check "located at /qql, with a suggestion" \
    "b['error']['location'] == '/qql' and 'did you mean process.name' in b['error']['message']"
fi
expect "no credential: POST /v1/search 401" 401 POST /v1/search "" '{"qql":""}' || true
python3 -c 'print("{\"qql\":\"" + "a" * 20000 + "\"}")' >"$work/big.json"
expect "analyst: POST /v1/search with 20 KB 413" 413 POST /v1/search analyst_a "@$work/big.json" || true

for format in json cef leef syslog; do
  if expect "analyst: GET /v1/export/events?format=$format 200" 200 GET \
    "/v1/export/events?format=$format&limit=1000" analyst_a; then
    check_header Portcullis-Events '^30$'
    check_header Portcullis-Next-Cursor '^[A-Za-z0-9_-]+$'
    lines=$(wc -l <"$work/body")
    if [[ $lines == 30 ]]; then
      pass "  30 lines"
    else
      fail "  $lines lines, want 30"
    fi
  fi
done
expect "analyst: GET /v1/export/events?format=xml 400" 400 GET "/v1/export/events?format=xml" \
  analyst_a || true
expect "no credential: GET /v1/export/events 401" 401 GET /v1/export/events "" || true

if expect "GET /metrics 200" 200 GET /metrics ""; then
  for series in 'portcullis_query_requests_total{outcome="ok",route="search"}' \
    'portcullis_query_requests_total{outcome="invalid",route="search"}' \
    'portcullis_http_requests_total{code="401",method="GET",route="/v1/export/events"}' \
    'portcullis_query_database_seconds_count{route="export",shape="listing"}' \
    'portcullis_query_rows_total{route="search"}'; do
    value=$(grep -F "$series " "$work/body" | awk '{print $2}') || value=""
    if [[ -n $value ]] && python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) > 0 else 1)" "$value"; then
      pass "  $series $value"
    else
      fail "  $series: '${value:-absent}', want > 0"
    fi
  done
fi

# --- schemathesis --------------------------------------------------------------------
st_env=(
  PORTCULLIS_API_ANALYST_KEY="$analyst_key"
  PORTCULLIS_API_RUN_ID="$suffix"
)
run_schemathesis "$here/schemathesis-query.toml" --include-tag-regex '^(search|operations)$'

# --- the service survived ------------------------------------------------------------
if service_alive query; then
  expect "after the run: GET /healthz 200" 200 GET /healthz "" || true
  expect "after the run: the analyst still searches" 200 POST /v1/search analyst_a '{"qql":""}' || true
else
  fail "query: still running after the run"
fi
