"""Check a JSON document against a schema of the OpenAPI document.

Usage: conforms.py SPEC SCHEMA_NAME JSON_FILE

For responses schemathesis does not check (policy_api_test.sh: the rule
table as JSON, which takes an Accept header that OpenAPI 3.0 cannot
describe as a parameter). SCHEMA_NAME is one of components/schemas. Runs in
the tests/api venv (PyYAML and jsonschema_rs are schemathesis' own
dependencies). Prints every violation and exits 1 when there is one.
"""

import json
import sys

import jsonschema_rs
import yaml


def to_json_schema(node):
    """OpenAPI 3.0's `nullable: true` as JSON Schema (null or the schema)."""
    if isinstance(node, list):
        return [to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_json_schema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") is True:
        return {"anyOf": [out, {"type": "null"}]}
    return out


def main() -> int:
    if len(sys.argv) != 4:
        print("usage: conforms.py SPEC SCHEMA_NAME JSON_FILE", file=sys.stderr)
        return 2
    spec_path, name, doc_path = sys.argv[1:]
    with open(spec_path, encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    # The named schema at the root, the document's components beside it for
    # its $refs.
    schema = {"$ref": f"#/components/schemas/{name}",
              "components": to_json_schema(spec["components"])}
    with open(doc_path, encoding="utf-8") as f:
        doc = json.load(f)
    validator = jsonschema_rs.Draft4Validator(schema)
    errors = [f"{'/'.join(map(str, e.instance_path)) or '(root)'}: {e.message}"
              for e in validator.iter_errors(doc)]
    for e in errors[:20]:
        print(e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
