"""Summarize a schemathesis JUnit report for tests/api/registry_api_test.sh.

Usage: summarize.py JUNIT_XML

Prints one line per API operation ("ok" or "FAILED" and the first line of
each distinct failure) and, as its last line, "<passed> <failed>" for the
calling script to add to its own counts. An operation that schemathesis
skipped (no case could be generated) counts as failed: the document and the
run no longer cover it.
"""

import sys
import xml.etree.ElementTree as ET


def first_line(text: str) -> str:
    for line in (text or "").splitlines():
        line = line.strip()
        if line:
            return line[:200]
    return "(no message)"


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: summarize.py JUNIT_XML", file=sys.stderr)
        return 2
    root = ET.parse(sys.argv[1]).getroot()
    passed = failed = 0
    for case in root.iter("testcase"):
        name = case.get("name") or "?"
        problems = []
        for tag in ("failure", "error", "skipped"):
            for el in case.findall(tag):
                msg = el.get("message") or el.text or ""
                problems.append(f"{tag}: {first_line(msg)}")
        if problems:
            failed += 1
            print(f"FAILED {name}")
            for p in sorted(set(problems)):
                print(f"    {p}")
        else:
            passed += 1
            print(f"ok     {name}")
    print(f"{passed} {failed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
