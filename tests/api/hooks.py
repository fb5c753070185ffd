"""Schemathesis hooks for tests/api/registry_api_test.sh and policy_api_test.sh
(SCHEMATHESIS_HOOKS).

Tenant names are unique across the whole database, and the database outlives
a run, while schemathesis generates the same names every run (its coverage
phase is deterministic, and the seed is fixed). Without this hook only the
first run ever would see POST /v1/tenants answer 201; every later one would
get 409 for the same names and never check the 201 body again.

So each run appends its own suffix (PORTCULLIS_API_RUN_ID) to the generated
tenant name, where the result still fits the limit: a valid name stays valid
and an invalid one (empty, too long, not a string) stays invalid.

Policy names are unique in a tenant, and hypothesis keeps generating the
same few short names ("0", "00"), so most generated POST /v1/policies got
409 and the stateful phase, which follows the links of a 201, had little to
follow. The hook appends a counter to the generated name where the result
still fits (409 for a taken name is checked by policy_api_test.sh itself).

PORTCULLIS_API_MAX_BODY_BYTES (policy_api_test.sh sets it to the policy
service's largest body limit) drops generated cases whose JSON body is
larger. The coverage phase builds such bodies from the document's limits (a
list of 256 paths of 4096 characters each, escaped: about 7 MB), and the
service refuses a body over its largest limit as soon as it sees the
Content-Length: it writes the 413 and shuts the connection down while the
client is still sending, so the client gets a connection reset (or a TLS
EOF) instead of the 413, and schemathesis a network error, depending on
timing. The 413 itself is documented and checked with a smaller body.
"""

import itertools
import json
import os

import schemathesis

RUN_SUFFIX = "-" + os.environ.get("PORTCULLIS_API_RUN_ID", "run")
NAME_MAX_BYTES = 200
MAX_BODY_BYTES = int(os.environ.get("PORTCULLIS_API_MAX_BODY_BYTES") or 0)


@schemathesis.hook
def filter_case(ctx, case):
    if MAX_BODY_BYTES <= 0:
        return True
    body = case.body
    if isinstance(body, (bytes, str)):
        size = len(body)
    else:
        try:
            size = len(json.dumps(body))
        except (TypeError, ValueError):
            return True
    return size <= MAX_BODY_BYTES


def _suffixed(holder, suffix):
    """Appends suffix to holder["name"] when it is a name and still fits."""
    if not isinstance(holder, dict):
        return
    name = holder.get("name")
    if not isinstance(name, str) or not name:
        return
    if len((name + suffix).encode("utf-8", "surrogatepass")) <= NAME_MAX_BYTES:
        holder["name"] = name + suffix


_policy_names = itertools.count(1)


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    if case.operation.method.upper() != "POST":
        return
    if case.operation.path == "/v1/tenants":
        _suffixed(case.body, RUN_SUFFIX)
    elif case.operation.path == "/v1/policies" and isinstance(case.body, dict):
        _suffixed(case.body.get("document"), f"-{next(_policy_names)}")
