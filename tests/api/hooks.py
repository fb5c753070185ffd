"""Schemathesis hooks for tests/api/registry_api_test.sh (SCHEMATHESIS_HOOKS).

Tenant names are unique across the whole database, and the database outlives
a run, while schemathesis generates the same names every run (its coverage
phase is deterministic, and the seed is fixed). Without this hook only the
first run ever would see POST /v1/tenants answer 201; every later one would
get 409 for the same names and never check the 201 body again.

So each run appends its own suffix (PORTCULLIS_API_RUN_ID) to the generated
tenant name, where the result still fits the limit: a valid name stays valid
and an invalid one (empty, too long, not a string) stays invalid.
"""

import os

import schemathesis

RUN_SUFFIX = "-" + os.environ.get("PORTCULLIS_API_RUN_ID", "run")
NAME_MAX_BYTES = 200


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    if case.operation.method.upper() != "POST" or case.operation.path != "/v1/tenants":
        return
    body = case.body
    if not isinstance(body, dict):
        return
    name = body.get("name")
    if not isinstance(name, str) or not name:
        return
    if len((name + RUN_SUFFIX).encode("utf-8", "surrogatepass")) <= NAME_MAX_BYTES:
        body["name"] = name + RUN_SUFFIX
