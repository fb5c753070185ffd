#!/usr/bin/env python3
"""Prepares a registry for registry_bench.sh.

Creates a fresh tenant (operator token), an enrollment token without max_uses
(admin key), and registers N agents with it over a few keep-alive HTTPS
connections. Writes into OUT_DIR (mode 700, made by the caller):

  agents.txt          one "<agent id> <credential>" per line (heartbeat.lua)
  enrollment_token    the enrollment token's secret (register.lua)
  heartbeat_interval  the heartbeat_interval_seconds the registry answered

Standard library only. Exits 1 with a message on the first unexpected answer.
"""

import argparse
import http.client
import json
import os
import ssl
import sys
import threading
import time


class Client:
    """One keep-alive HTTPS connection to the registry."""

    def __init__(self, host, port, ca):
        self.ctx = ssl.create_default_context(cafile=ca)
        self.host, self.port = host, port
        self.conn = None

    def post(self, path, token, body, want):
        payload = json.dumps(body).encode()
        headers = {
            "Authorization": "Bearer " + token,
            "Content-Type": "application/json",
        }
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPSConnection(
                    self.host, self.port, context=self.ctx, timeout=30)
            try:
                self.conn.request("POST", path, body=payload, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
            except (http.client.HTTPException, OSError):
                # The server may close an idle keep-alive connection: retry
                # once on a new one.
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
                continue
            if resp.getheader("Connection", "").lower() == "close":
                self.conn.close()
                self.conn = None
            if resp.status not in want:
                raise RuntimeError("POST %s: HTTP %d: %s" %
                                   (path, resp.status, data[:300].decode(errors="replace")))
            return json.loads(data)
        raise AssertionError("unreachable")


def write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--ca", required=True, help="CA certificate (PEM)")
    p.add_argument("--operator-token-file", required=True)
    p.add_argument("--agents", type=int, default=2000)
    p.add_argument("--connections", type=int, default=4)
    p.add_argument("--run-id", required=True, help="makes names unique")
    p.add_argument("--out-dir", required=True)
    a = p.parse_args()

    with open(a.operator_token_file) as f:
        operator_token = f.read().strip()

    c = Client(a.host, a.port, a.ca)
    tenant = c.post("/v1/tenants", operator_token, {"name": "bench-" + a.run_id}, (201,))
    admin = tenant["admin_key"]["secret"]
    token = c.post("/v1/enrollment-tokens", admin, {"name": "bench-" + a.run_id}, (201,))
    enrollment = token["secret"]
    if token.get("max_uses") is not None:
        raise RuntimeError("enrollment token has max_uses=%r" % token["max_uses"])

    results = [None] * a.agents
    errors = []
    interval = []

    def worker(k):
        cl = Client(a.host, a.port, a.ca)
        try:
            for i in range(k, a.agents, a.connections):
                r = cl.post("/v1/agents/register", enrollment, {
                    "container_id": "bench-%s-hb-%06d" % (a.run_id, i),
                    "image_name": "registry.example/bench/app",
                    "image_digest": "sha256:" + "0" * 64,
                    "hostname": "bench-host-%d" % (i % 50),
                    "labels": {"bench": "heartbeat"},
                    "agent_version": "bench",
                    "kernel_version": "6.1.0",
                }, (201,))
                results[i] = (r["agent_id"], r["credential"])
                if not interval:
                    interval.append(r["heartbeat_interval_seconds"])
        except Exception as e:  # reported by the main thread
            errors.append(e)

    start = time.monotonic()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(a.connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    elapsed = time.monotonic() - start

    write_private(os.path.join(a.out_dir, "agents.txt"),
                  "".join("%s %s\n" % r for r in results))
    write_private(os.path.join(a.out_dir, "enrollment_token"), enrollment + "\n")
    write_private(os.path.join(a.out_dir, "heartbeat_interval"), "%d\n" % interval[0])
    print("tenant %s: %d agents registered in %.1f s (%.0f/s over %d connections)" %
          (tenant["tenant"]["id"], a.agents, elapsed, a.agents / elapsed, a.connections),
          file=sys.stderr)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:
        print("bench_setup.py: error: %s" % e, file=sys.stderr)
        sys.exit(1)
