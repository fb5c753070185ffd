#!/usr/bin/env python3
"""Structural checks of Portcullis' deployment artifacts.

Run by scripts/check-deploy.sh inside its venv (PyYAML, jsonschema):

  deploy_lint.py compose   --repo DIR --compose-schema FILE
  deploy_lint.py dockerfile --repo DIR
  deploy_lint.py helm      --rendered FILE --expect tls|plaintext [--expect-pdb]
  deploy_lint.py openapi   --repo DIR

Each prints one line per problem ("file: what is wrong") and exits 1 if there
was any, 0 otherwise. These checks encode the deployment contract of the
services (ports, dependencies, TLS, roles, hardening); schema validity is
checked with the published schemas where one exists.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

# --- The deployment contract -------------------------------------------------

# service -> (container port, uses PostgreSQL, uses Kafka)
SERVICES = {
    "registry": (8443, True, False),
    "policy": (8444, True, False),
    "ingest": (8445, True, True),  # PostgreSQL: agent credentials
    "query": (8446, True, False),
    "indexer": (8447, True, True),
    "instrumenter": (8448, False, False),
}
BINARIES = [f"portcullis-{s}" for s in SERVICES] + ["portcullis-migrate"]
MIGRATIONS_DIR = "/usr/share/portcullis/migrations"
TLS_DIR = "/etc/portcullis/tls"
# Every error code the services answer: the Status codes' names
# (libs/common), the HTTP layer's own (libs/http: 405, 411, 413, 415, 429,
# 431) and deadline_exceeded (the query service's 504).
ERROR_CODES = [
    "invalid_argument", "unauthenticated", "permission_denied", "not_found",
    "already_exists", "conflict", "failed_precondition", "payload_too_large",
    "unsupported_media_type", "method_not_allowed",
    "rate_limited", "unavailable", "internal",
    "deadline_exceeded", "length_required", "headers_too_large",
]
SECRET_KEY_RE = re.compile(r"PASSWORD|SECRET|TOKEN|CREDENTIAL", re.I)


class Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, what: str) -> None:
        self.items.append(f"{where}: {what}")

    def check(self, cond: bool, where: str, what: str) -> bool:
        if not cond:
            self.add(where, what)
        return cond

    def finish(self, label: str) -> int:
        for item in self.items:
            print(f"  {item}")
        if self.items:
            print(f"{label}: {len(self.items)} problem(s)")
            return 1
        print(f"{label}: ok")
        return 0


# --- YAML loading that rejects duplicate keys ---------------------------------

class _StrictLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader, node, deep=False):
    loader.flatten_mapping(node)  # resolves "<<" merge keys first
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(path: Path):
    with path.open(encoding="utf-8") as f:
        return yaml.load(f, Loader=_StrictLoader)  # noqa: S506 (SafeLoader subclass)


def load_yaml_all(path: Path):
    with path.open(encoding="utf-8") as f:
        return [d for d in yaml.load_all(f, Loader=_StrictLoader) if d]  # noqa: S506


# --- Compose -----------------------------------------------------------------

_VAR_RE = re.compile(
    r"\$(?:\$|\{(?P<braced>[^}]*)\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))")
_BRACED_RE = re.compile(
    r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:-|-|:\?|\?|:\+|\+)(?P<arg>.*))?$", re.S)


class InterpolationError(Exception):
    pass


def parse_env_file(path: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            raise ValueError(f"{path}:{n}: not KEY=value")
        key, value = line.split("=", 1)
        env[key.strip()] = value.strip()
    return env


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose-style ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e}, ${VAR?e}, $$."""

    def repl(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        if m.group("plain"):
            return env.get(m.group("plain"), "")
        b = _BRACED_RE.match(m.group("braced"))
        if not b:
            raise InterpolationError(f"bad substitution ${{{m.group('braced')}}}")
        name, op, arg = b.group("name"), b.group("op"), b.group("arg")
        value = env.get(name)
        if op is None:
            return value or ""
        if op == ":-":
            return value if value else interpolate(arg, env)
        if op == "-":
            return value if value is not None else interpolate(arg, env)
        if op in (":?", "?"):
            if value is None or (op == ":?" and value == ""):
                raise InterpolationError(f"required variable {name} is missing: {arg}")
            return value
        if op == ":+":
            return interpolate(arg, env) if value else ""
        return interpolate(arg, env) if value is not None else ""

    return _VAR_RE.sub(repl, text)


def interpolate_tree(node, env):
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [interpolate_tree(x, env) for x in node]
    if isinstance(node, dict):
        return {k: interpolate_tree(v, env) for k, v in node.items()}
    return node


def referenced_vars(text: str) -> dict[str, set[str]]:
    """Variable name -> set of operators it is used with ('' for none)."""
    out: dict[str, set[str]] = {}
    for m in _VAR_RE.finditer(text):
        if m.group(0) == "$$":
            continue
        if m.group("plain"):
            out.setdefault(m.group("plain"), set()).add("")
            continue
        b = _BRACED_RE.match(m.group("braced"))
        if b:
            out.setdefault(b.group("name"), set()).add(b.group("op") or "")
    return out


def strings_of(node) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [s for x in node for s in strings_of(x)]
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in strings_of(k) + strings_of(v)]
    return []


def env_dict(environment) -> dict[str, str]:
    if environment is None:
        return {}
    if isinstance(environment, dict):
        return {str(k): "" if v is None else str(v) for k, v in environment.items()}
    out = {}
    for item in environment:
        k, _, v = str(item).partition("=")
        out[k] = v
    return out


def depends_dict(depends_on) -> dict[str, str]:
    if depends_on is None:
        return {}
    if isinstance(depends_on, list):
        return {d: "service_started" for d in depends_on}
    return {k: (v or {}).get("condition", "service_started") for k, v in depends_on.items()}


def published_ports(svc: dict) -> list[tuple[str, str]]:
    """(host_ip, container_port) of each published port."""
    out = []
    for p in svc.get("ports") or []:
        if isinstance(p, dict):
            if p.get("published") is None:
                continue
            out.append((str(p.get("host_ip", "")), str(p.get("target", ""))))
            continue
        spec = str(p).split("/", 1)[0]
        if spec.startswith("["):  # [::1]:8443:8443
            host_ip, _, rest = spec[1:].partition("]:")
            out.append((host_ip, rest.rsplit(":", 1)[-1]))
            continue
        parts = spec.split(":")
        if len(parts) == 3:
            out.append((parts[0], parts[2]))
        elif len(parts) == 2:
            out.append(("", parts[1]))
        else:  # only a container port: published on an ephemeral port, all interfaces
            out.append(("", parts[0]))
    return out


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in graph.get(n, []):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if state.get(m) is None:
                c = visit(m)
                if c:
                    return c
        stack.pop()
        state[n] = 2
        return None

    for n in graph:
        if state.get(n) is None:
            c = visit(n)
            if c:
                return c
    return None


def check_compose(repo: Path, schema_path: Path | None) -> int:
    P = Problems()
    cpath = repo / "docker-compose.yml"
    epath = repo / "deploy/compose/.env.example"
    where = "docker-compose.yml"
    try:
        raw = load_yaml(cpath)
        example_env = parse_env_file(epath)
    except (OSError, yaml.YAMLError, ValueError) as e:
        P.add(where, f"cannot load: {e}")
        return P.finish("compose")
    # Variables are looked for in values only (compose does not read comments).
    text = "\n".join(strings_of(raw))

    # The example env file carries no secret values.
    for k, v in example_env.items():
        if SECRET_KEY_RE.search(k):
            P.check(v == "", "deploy/compose/.env.example",
                    f"{k} must be empty in the example (no secrets in git)")

    # Every variable is either defaulted in the file or documented in the example.
    refs = referenced_vars(text)
    for name, ops in sorted(refs.items()):
        if ops & {"", ":?", "?"}:
            P.check(name in example_env, where,
                    f"${{{name}}} has no default and is not in deploy/compose/.env.example")
    for name in sorted(example_env):
        P.check(name in refs, "deploy/compose/.env.example",
                f"{name} is not used by docker-compose.yml")

    # Interpolate as compose would, with placeholders for the empty secrets.
    env = {k: (v if v else "check-placeholder") for k, v in example_env.items()}
    try:
        doc = interpolate_tree(raw, env)
    except InterpolationError as e:
        P.add(where, str(e))
        return P.finish("compose")

    if schema_path is not None:
        import jsonschema

        schema = json.loads(schema_path.read_text(encoding="utf-8"))
        # The file declares draft 2019-09 under a URI jsonschema does not know
        # ("http://json-schema.org/draft/2019-09/schema#"); name the draft.
        validator = jsonschema.Draft201909Validator(schema)
        for err in sorted(validator.iter_errors(doc), key=lambda e: list(e.path)):
            loc = "/".join(str(p) for p in err.path) or "(root)"
            P.add(where, f"compose-spec schema: at {loc}: {err.message[:300]}")

    services = doc.get("services") or {}
    raw_services = raw.get("services") or {}
    expected = {"postgres", "kafka", "migrate", *SERVICES}
    for s in sorted(expected - set(services)):
        P.add(where, f"service {s} is missing")

    # depends_on: targets exist, no cycles.
    graph = {}
    for name, svc in services.items():
        deps = depends_dict(svc.get("depends_on"))
        graph[name] = list(deps)
        for d in deps:
            P.check(d in services, where, f"{name} depends on unknown service {d}")
            P.check(d != name, where, f"{name} depends on itself")
    cycle = find_cycle(graph)
    P.check(cycle is None, where, f"depends_on cycle: {' -> '.join(cycle or [])}")

    # Every published port is on loopback; host networking would bypass that.
    for name, svc in services.items():
        P.check(svc.get("network_mode") != "host", where, f"{name} uses network_mode: host")
        P.check(not svc.get("privileged"), where, f"{name} is privileged")
        for host_ip, _ in published_ports(svc):
            P.check(host_ip == "127.0.0.1", where,
                    f"{name} publishes a port on {host_ip or 'all interfaces'}; bind 127.0.0.1")

    # Bind mounts from the repository exist (the TLS dir is generated, see gen-dev-certs.sh).
    for name, svc in services.items():
        for v in svc.get("volumes") or []:
            if isinstance(v, dict) and v.get("type") == "bind":
                src = str(v.get("source", ""))
                if v.get("target") == TLS_DIR:
                    continue
                P.check((repo / src).exists(), where, f"{name}: bind source {src} does not exist")

    # Secrets: env entries that look secret are required interpolations, never literals.
    for name, svc in raw_services.items():
        for k, v in env_dict(svc.get("environment")).items():
            if SECRET_KEY_RE.search(k) or k.endswith("_DSN"):
                for m in re.finditer(r"password=(\S*)", v):
                    P.check(m.group(1).startswith("${") and ":?" in m.group(1), where,
                            f"{name}.{k}: password must be a required variable (${{VAR:?...}})")
            if SECRET_KEY_RE.search(k):
                P.check(re.fullmatch(r"\$\{[A-Za-z_][A-Za-z0-9_]*:\?[^}]*\}", v) is not None,
                        where, f"{name}.{k}: must be exactly ${{VAR:?message}} (no default, no literal)")
    P.check(not re.search(r"password=(?!\$\{)", text, re.I), where,
            "a literal password= appears in a value")

    # Networks: the data stores are internal-only.
    networks = doc.get("networks") or {}
    for store in ("postgres", "kafka"):
        svc = services.get(store) or {}
        P.check(not svc.get("ports"), where, f"{store} must not publish ports")
        nets = svc.get("networks") or []
        nets = list(nets) if isinstance(nets, (list, dict)) else []
        P.check(nets == ["backend"], where, f"{store} must be on the backend network only")
    P.check((networks.get("backend") or {}).get("internal") is True, where,
            "network backend must be internal: true")

    # PostgreSQL and Kafka as specified.
    pg = services.get("postgres") or {}
    P.check(str(pg.get("image", "")).startswith("postgres:15"), where, "postgres must run postgres:15")
    P.check(any(isinstance(v, dict) and v.get("target") == "/docker-entrypoint-initdb.d"
                for v in pg.get("volumes") or []), where, "postgres must mount the init scripts")
    init_dir = repo / "deploy/compose/postgres-init"
    scripts = sorted(init_dir.glob("*.sh")) if init_dir.is_dir() else []
    P.check(bool(scripts), "deploy/compose/postgres-init", "no init script")
    for s in scripts:
        body = s.read_text(encoding="utf-8")
        for role in ("portcullis_owner", "portcullis_app", "portcullis_indexer"):
            P.check(f"CREATE ROLE {role}" in body, str(s.relative_to(repo)), f"does not create {role}")
        P.check("OWNER portcullis_owner" in body, str(s.relative_to(repo)),
                "database portcullis must be owned by portcullis_owner")
        P.check("SUPERUSER" not in body.replace("NOSUPERUSER", ""), str(s.relative_to(repo)),
                "no role may be a superuser")
    kafka = services.get("kafka") or {}
    kenv = env_dict(kafka.get("environment"))
    P.check(kafka.get("image") == "apache/kafka:4.1.1", where, "kafka must run apache/kafka:4.1.1")
    P.check("controller" in kenv.get("KAFKA_PROCESS_ROLES", ""), where,
            "kafka must run in KRaft mode (KAFKA_PROCESS_ROLES with controller)")
    P.check(not any("ZOOKEEPER" in k for k in kenv), where, "kafka must not use ZooKeeper")

    # The migration: one-shot, schema owner, the migrations dir of the image.
    mig = services.get("migrate") or {}
    cmd = mig.get("command") or []
    cmd = cmd.split() if isinstance(cmd, str) else [str(c) for c in cmd]
    P.check(cmd[:1] == ["portcullis-migrate"], where, "migrate must run portcullis-migrate")
    if "--dsn" in cmd and cmd.index("--dsn") + 1 < len(cmd):
        P.check("user=portcullis_owner" in cmd[cmd.index("--dsn") + 1], where,
                "migrate must connect as portcullis_owner")
    else:
        P.add(where, "migrate has no --dsn")
    P.check(cmd[-2:] == ["--dir", MIGRATIONS_DIR], where, f"migrate must use --dir {MIGRATIONS_DIR}")
    P.check(str(mig.get("restart", "no")) == "no", where, "migrate must not restart")
    P.check(depends_dict(mig.get("depends_on")).get("postgres") == "service_healthy", where,
            "migrate must wait for postgres to be healthy")

    # The six services.
    for name, (port, uses_pg, uses_kafka) in SERVICES.items():
        svc = services.get(name)
        if svc is None:
            continue
        w = f"{where}: {name}"
        raw_env = env_dict((raw_services.get(name) or {}).get("environment"))
        senv = env_dict(svc.get("environment"))
        cmd = svc.get("command") or []
        cmd = cmd.split() if isinstance(cmd, str) else [str(c) for c in cmd]
        P.check(cmd[:1] == [f"portcullis-{name}"], w, f"command must be portcullis-{name}")
        P.check(senv.get("PORTCULLIS_HTTP_LISTEN") == f"0.0.0.0:{port}", w,
                f"PORTCULLIS_HTTP_LISTEN must be 0.0.0.0:{port}")
        targets = [c for _, c in published_ports(svc)]
        P.check(targets == [str(port)], w, f"must publish exactly container port {port}")
        P.check(senv.get("PORTCULLIS_TLS_CERT") == f"{TLS_DIR}/tls.crt"
                and senv.get("PORTCULLIS_TLS_KEY") == f"{TLS_DIR}/tls.key", w,
                "TLS cert/key must come from the mounted TLS dir")
        P.check(raw_env.get("PORTCULLIS_TLS_DISABLE") == "${PORTCULLIS_TLS_DISABLE:-false}", w,
                "PORTCULLIS_TLS_DISABLE must be ${PORTCULLIS_TLS_DISABLE:-false} (off unless the user sets it)")
        P.check(senv.get("PORTCULLIS_LOG_LEVEL") in ("debug", "info", "warn", "error"), w,
                "PORTCULLIS_LOG_LEVEL must be debug|info|warn|error")
        P.check(any(isinstance(v, dict) and v.get("target") == TLS_DIR and v.get("read_only")
                    for v in svc.get("volumes") or []), w, f"must mount the TLS dir read-only at {TLS_DIR}")
        hc = (svc.get("healthcheck") or {}).get("test") or []
        hc = " ".join(hc) if isinstance(hc, list) else str(hc)
        P.check("portcullis-healthcheck" in hc and ("/readyz" in hc or "/healthz" in hc), w,
                "healthcheck must probe /healthz or /readyz")
        P.check(svc.get("read_only") is True, w, "root filesystem must be read_only")
        P.check("ALL" in (svc.get("cap_drop") or []), w, "must cap_drop ALL")
        P.check(str(svc.get("stop_signal", "SIGTERM")) == "SIGTERM", w, "must stop with SIGTERM")
        deps = depends_dict(svc.get("depends_on"))
        has_pg = "PORTCULLIS_PG_DSN" in senv
        has_kafka = "PORTCULLIS_KAFKA_BROKERS" in senv
        P.check(has_pg == uses_pg, w, f"PORTCULLIS_PG_DSN {'missing' if uses_pg else 'not expected'}")
        P.check(has_kafka == uses_kafka, w,
                f"PORTCULLIS_KAFKA_BROKERS {'missing' if uses_kafka else 'not expected'}")
        if has_pg:
            role = "portcullis_indexer" if name == "indexer" else "portcullis_app"
            P.check(f"user={role} " in senv["PORTCULLIS_PG_DSN"], w,
                    f"{name} connects as {role}")
            P.check(deps.get("migrate") == "service_completed_successfully", w,
                    "must depend on migrate (service_completed_successfully)")
        if has_kafka:
            P.check(senv["PORTCULLIS_KAFKA_BROKERS"] == "kafka:9092", w, "brokers must be kafka:9092")
            P.check(deps.get("kafka") == "service_healthy", w, "must wait for kafka to be healthy")
        if name == "instrumenter":
            P.check(bool(senv.get("PORTCULLIS_INSTRUMENTER_WORKDIR")), w,
                    "PORTCULLIS_INSTRUMENTER_WORKDIR missing")
    return P.finish("compose")


# --- Dockerfile ----------------------------------------------------------------

def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuations joined and comments dropped."""
    out, buf = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not buf and (not stripped or stripped.startswith("#")):
            continue
        if buf and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            buf += stripped[:-1] + " "
            continue
        buf += stripped
        word, _, rest = buf.partition(" ")
        out.append((word.upper(), rest.strip()))
        buf = ""
    return out


def apt_packages(run_args: str) -> list[str]:
    m = re.search(r"apt-get install ([^&;|]*)", run_args)
    if not m:
        return []
    return [t for t in m.group(1).split() if not t.startswith("-")]


def apt_cache_usable() -> bool:
    if not shutil.which("apt-cache"):
        return False
    r = subprocess.run(["apt-cache", "policy", "libc6"], capture_output=True, text=True)
    return "Candidate:" in r.stdout and "(none)" not in r.stdout


def dockerignore_excludes(patterns: list[str], path: str) -> bool:
    excluded = False
    for pat in patterns:
        neg = pat.startswith("!")
        p = pat[1:] if neg else pat
        p = p.strip("/")
        parts = path.split("/")
        hit = any(fnmatch.fnmatch("/".join(parts[:i]), p) or
                  fnmatch.fnmatch("/".join(parts[:i]), p.replace("**/", ""))
                  for i in range(1, len(parts) + 1))
        if hit:
            excluded = not neg
    return excluded


def check_dockerfile(repo: Path) -> int:
    P = Problems()
    where = "deploy/Dockerfile"
    path = repo / where
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        P.add(where, str(e))
        return P.finish("dockerfile")
    ins = dockerfile_instructions(text)
    args = {}
    for word, rest in ins:
        if word == "ARG" and "=" in rest:
            k, v = rest.split("=", 1)
            args.setdefault(k.strip(), v.strip())

    def resolve(s: str) -> str:
        return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: args.get(m.group(1), m.group(0)), s)

    stages = []  # (image, name, [instructions])
    for word, rest in ins:
        if word == "FROM":
            toks = resolve(rest).split()
            name = toks[2] if len(toks) >= 3 and toks[1].upper() == "AS" else ""
            stages.append((toks[0], name, []))
        elif stages:
            stages[-1][2].append((word, rest))
    if not P.check(len(stages) >= 2, where, "must be multi-stage (build + runtime)"):
        return P.finish("dockerfile")
    build, runtime = stages[0], stages[-1]
    P.check(build[0] == "debian:12", where, f"build stage must be FROM debian:12, is {build[0]}")
    P.check(runtime[0] == "debian:12-slim", where, f"runtime stage must be FROM debian:12-slim, is {runtime[0]}")
    for image, _, _ in stages:
        P.check(not image.endswith(":latest") and ":" in image, where, f"base image {image} must be pinned")

    users = [rest for word, rest in runtime[2] if word == "USER"]
    P.check(bool(users), where, "runtime stage must set USER")
    if users:
        uid = users[-1].split(":")[0]
        P.check(uid.isdigit() and uid != "0", where,
                f"final USER must be a numeric non-root uid (for runAsNonRoot), is {users[-1]}")
    P.check(not any(w == "ENTRYPOINT" for w, _ in runtime[2]), where,
            "no ENTRYPOINT: the command picks the service")
    P.check(not any(w == "ADD" and re.search(r"https?://", r) for w, r in ins), where,
            "no ADD from URLs")

    build_runs = " ".join(r for w, r in build[2] if w == "RUN")
    P.check("-DPORTCULLIS_BUILD_TESTS=OFF" in build_runs and "-G Ninja" in build_runs
            and "CMAKE_BUILD_TYPE=Release" in build_runs, where,
            "build must configure Release, Ninja, tests off")
    for b in BINARIES:
        P.check(b in build_runs, where, f"build stage does not check for {b}")

    # COPY sources exist and are not excluded by .dockerignore.
    ignore = repo / ".dockerignore"
    patterns = [l.strip() for l in ignore.read_text(encoding="utf-8").splitlines()
                if l.strip() and not l.strip().startswith("#")] if ignore.exists() else []
    P.check(ignore.exists(), ".dockerignore", "missing")
    for must in (".git", ".env", "deploy/compose/certs"):
        P.check(dockerignore_excludes(patterns, must), ".dockerignore", f"must exclude {must}")
    for word, rest in ins:
        if word != "COPY" or "--from=" in rest:
            continue
        toks = [t for t in rest.split() if not t.startswith("--")]
        for src in toks[:-1]:
            if src == ".":
                continue
            P.check((repo / src).exists(), where, f"COPY source {src} does not exist")
            P.check(not dockerignore_excludes(patterns, src.rstrip("/")), ".dockerignore",
                    f"excludes {src}, which the Dockerfile copies")

    # Every apt package named exists in this machine's Debian (when it is Debian 12).
    pkgs = sorted({p for _, _, body in stages for w, r in body if w == "RUN" for p in apt_packages(r)})
    if apt_cache_usable():
        for pkg in pkgs:
            r = subprocess.run(["apt-cache", "policy", pkg], capture_output=True, text=True)
            P.check("Candidate:" in r.stdout and "Candidate: (none)" not in r.stdout, where,
                    f"apt package {pkg} not found by apt-cache")
        print(f"dockerfile: {len(pkgs)} apt package names verified with apt-cache")
    else:
        print("dockerfile: SKIP apt package name check (no apt-cache with package lists; "
              "run apt-get update on Debian 12)")
    hc = repo / "deploy/healthcheck.sh"
    P.check(hc.exists() and os.access(hc, os.X_OK), "deploy/healthcheck.sh", "missing or not executable")
    return P.finish("dockerfile")


# --- Helm (rendered manifests) --------------------------------------------------

def check_helm(rendered: Path, expect: str, expect_pdb: bool) -> int:
    P = Problems()
    where = f"helm template ({expect}{', pdb' if expect_pdb else ''})"
    try:
        docs = load_yaml_all(rendered)
    except (OSError, yaml.YAMLError) as e:
        P.add(where, f"cannot parse output: {e}")
        return P.finish(where)
    tls = expect == "tls"
    scheme = "HTTPS" if tls else "HTTP"
    by_kind: dict[str, list[dict]] = {}
    for d in docs:
        by_kind.setdefault(d.get("kind", "?"), []).append(d)

    def component(d):
        return ((d.get("metadata") or {}).get("labels") or {}).get("app.kubernetes.io/component")

    deps = {component(d): d for d in by_kind.get("Deployment", [])}
    svcs = {component(d): d for d in by_kind.get("Service", [])}
    P.check(set(deps) == set(SERVICES), where, f"Deployments for {sorted(deps)}, expected {sorted(SERVICES)}")
    P.check(set(svcs) == set(SERVICES), where, f"Services for {sorted(svcs)}, expected {sorted(SERVICES)}")
    pdbs = {component(d) for d in by_kind.get("PodDisruptionBudget", [])}
    P.check(pdbs == (set(SERVICES) if expect_pdb else set()), where, f"PodDisruptionBudgets for {sorted(pdbs)}")

    def check_pod(w: str, pod: dict, container: dict) -> None:
        psc = pod.get("securityContext") or {}
        csc = container.get("securityContext") or {}
        P.check(psc.get("runAsNonRoot") is True or csc.get("runAsNonRoot") is True, w, "runAsNonRoot")
        P.check(csc.get("readOnlyRootFilesystem") is True, w, "readOnlyRootFilesystem")
        P.check(csc.get("allowPrivilegeEscalation") is False, w, "allowPrivilegeEscalation: false")
        P.check("ALL" in ((csc.get("capabilities") or {}).get("drop") or []), w, "capabilities drop ALL")
        P.check(((csc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type")) == "RuntimeDefault",
                w, "seccompProfile RuntimeDefault")
        P.check(not csc.get("privileged"), w, "not privileged")
        P.check(pod.get("automountServiceAccountToken") is False, w, "automountServiceAccountToken: false")
        image = str(container.get("image", ""))
        P.check(bool(image) and not image.endswith(":latest") and not image.endswith(":"), w,
                f"image {image!r} must carry a tag or digest, not latest")

    for name, (port, uses_pg, uses_kafka) in SERVICES.items():
        d = deps.get(name)
        if d is None:
            continue
        w = f"{where}: Deployment {name}"
        pod = d["spec"]["template"]["spec"]
        containers = pod.get("containers") or []
        if not P.check(len(containers) == 1, w, "exactly one container"):
            continue
        c = containers[0]
        check_pod(w, pod, c)
        P.check(c.get("command") == [f"portcullis-{name}"], w, f"command portcullis-{name}")
        P.check([p.get("containerPort") for p in c.get("ports") or []] == [port], w, f"containerPort {port}")
        env = {e["name"]: e for e in c.get("env") or []}
        P.check((env.get("PORTCULLIS_HTTP_LISTEN") or {}).get("value") == f"0.0.0.0:{port}", w,
                "PORTCULLIS_HTTP_LISTEN")
        for key, wanted in (("PORTCULLIS_PG_DSN", uses_pg), ("PORTCULLIS_KAFKA_BROKERS", uses_kafka)):
            e = env.get(key)
            P.check((e is not None) == wanted, w, f"{key} {'missing' if wanted else 'not expected'}")
            if e is not None:
                P.check("secretKeyRef" in (e.get("valueFrom") or {}), w, f"{key} must come from a Secret")
        if uses_pg:
            # The indexer writes as portcullis_indexer, from a Secret of its own.
            ref = ((env.get("PORTCULLIS_PG_DSN") or {}).get("valueFrom") or {}).get("secretKeyRef") or {}
            wanted = "portcullis-postgresql-indexer" if name == "indexer" else "portcullis-postgresql"
            P.check(ref.get("name") == wanted, w, f"PORTCULLIS_PG_DSN must come from Secret {wanted}")
        if tls:
            P.check("PORTCULLIS_TLS_DISABLE" not in env, w, "TLS on: PORTCULLIS_TLS_DISABLE must be absent")
            P.check("PORTCULLIS_TLS_CERT" in env and "PORTCULLIS_TLS_KEY" in env, w, "TLS cert/key env")
            P.check(any(m.get("mountPath") == TLS_DIR for m in c.get("volumeMounts") or []), w,
                    f"TLS secret mounted at {TLS_DIR}")
        else:
            P.check((env.get("PORTCULLIS_TLS_DISABLE") or {}).get("value") == "true", w,
                    "TLS off: PORTCULLIS_TLS_DISABLE=true")
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            get = (c.get(probe) or {}).get("httpGet") or {}
            P.check(get.get("path") == path and get.get("scheme") == scheme, w,
                    f"{probe} must GET {path} over {scheme}")
        s = svcs.get(name)
        if s is not None:
            P.check([p.get("port") for p in s["spec"].get("ports") or []] == [port], w, f"Service port {port}")
            P.check(s["spec"].get("selector") == d["spec"]["selector"]["matchLabels"], w,
                    "Service selector must equal the Deployment's")
        if name == "instrumenter":
            P.check("PORTCULLIS_INSTRUMENTER_WORKDIR" in env, w, "PORTCULLIS_INSTRUMENTER_WORKDIR")

    jobs = by_kind.get("Job", [])
    if P.check(len(jobs) == 1, where, "exactly one migration Job"):
        j = jobs[0]
        hooks = ((j.get("metadata") or {}).get("annotations") or {}).get("helm.sh/hook", "")
        P.check(set(hooks.split(",")) == {"pre-install", "pre-upgrade"}, where,
                "migration Job must be a pre-install,pre-upgrade hook")
        pod = j["spec"]["template"]["spec"]
        c = (pod.get("containers") or [{}])[0]
        check_pod(f"{where}: Job", pod, c)
        P.check(c.get("command") == ["portcullis-migrate"], where, "Job runs portcullis-migrate")
        P.check(c.get("args", [])[-2:] == ["--dir", MIGRATIONS_DIR], where, f"Job uses --dir {MIGRATIONS_DIR}")
        sa = pod.get("serviceAccountName")
        hook_sas = [d for d in by_kind.get("ServiceAccount", [])
                    if "helm.sh/hook" in ((d.get("metadata") or {}).get("annotations") or {})]
        P.check(sa in {d["metadata"]["name"] for d in hook_sas} or sa == "default", where,
                "Job's ServiceAccount must exist before the release's resources (a hook) ")
    return P.finish(where)


# --- OpenAPI (contract beyond the spec validator) -----------------------------------

def check_openapi(repo: Path) -> int:
    P = Problems()
    where = "schema/openapi/portcullis.yaml"
    try:
        doc = load_yaml(repo / where)
    except (OSError, yaml.YAMLError) as e:
        P.add(where, f"cannot load: {e}")
        return P.finish("openapi contract")
    P.check(doc.get("openapi") == "3.0.3", where, "openapi must be 3.0.3")
    comps = doc.get("components") or {}
    schemes = comps.get("securitySchemes") or {}
    for s in ("ApiKey", "AgentCredential"):
        P.check(s in schemes, where, f"security scheme {s} missing")
    codes = (((comps.get("schemas") or {}).get("ErrorCode")) or {}).get("enum") or []
    P.check(sorted(codes) == sorted(ERROR_CODES), where, f"ErrorCode enum {codes} != {ERROR_CODES}")
    err = ((comps.get("schemas") or {}).get("Error")) or {}
    inner = ((err.get("properties") or {}).get("error")) or {}
    P.check(set((inner.get("properties") or {})) == {"code", "message", "location", "details"},
            where, "Error.error must have code, message, location, details")
    detail = ((comps.get("schemas") or {}).get("ErrorDetail")) or {}
    P.check(set(detail.get("required") or []) == {"location", "message"}, where,
            "ErrorDetail must require location and message")
    paths = doc.get("paths") or {}
    for p, statuses in (("/healthz", {"200"}), ("/readyz", {"200", "503"}), ("/metrics", {"200"})):
        op = ((paths.get(p) or {}).get("get")) or {}
        have = set(map(str, (op.get("responses") or {}).keys()))
        P.check(statuses <= have, where, f"GET {p} must document {sorted(statuses)}")
        P.check(op.get("security") == [], where, f"GET {p} must be unauthenticated (security: [])")
    metrics = (((paths.get("/metrics") or {}).get("get") or {}).get("responses") or {}).get("200") or {}
    P.check(any("version=0.0.4" in k for k in (metrics.get("content") or {})), where,
            "/metrics must be text/plain; version=0.0.4")
    return P.finish("openapi contract")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("compose")
    c.add_argument("--repo", type=Path, required=True)
    c.add_argument("--compose-schema", type=Path)
    d = sub.add_parser("dockerfile")
    d.add_argument("--repo", type=Path, required=True)
    h = sub.add_parser("helm")
    h.add_argument("--rendered", type=Path, required=True)
    h.add_argument("--expect", choices=["tls", "plaintext"], required=True)
    h.add_argument("--expect-pdb", action="store_true")
    o = sub.add_parser("openapi")
    o.add_argument("--repo", type=Path, required=True)
    a = ap.parse_args()
    if a.cmd == "compose":
        return check_compose(a.repo, a.compose_schema)
    if a.cmd == "dockerfile":
        return check_dockerfile(a.repo)
    if a.cmd == "helm":
        return check_helm(a.rendered, a.expect, a.expect_pdb)
    return check_openapi(a.repo)


if __name__ == "__main__":
    sys.exit(main())
