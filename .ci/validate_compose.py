"""Check docker-compose.yml and the Dockerfile without a Docker engine.

Run from the repository root (the extra packages come from PyPI and do not touch uv.lock):

    uv run --no-project --with check-jsonschema==0.39.0 --with pyyaml \
        python .ci/validate_compose.py [--file PATH] [--dockerfile PATH] [--no-cli]

What it checks:
1. The compose file parses as YAML, with no duplicate keys (PyYAML would silently keep the last).
2. Variable interpolation, done here the way Compose does it, with dummy values for the secrets
   (never the real environment or .env): `$$`, `$VAR`, `${VAR}`, `${VAR:-default}`,
   `${VAR-default}`, `${VAR:?message}`, `${VAR?message}`, `${VAR:+alt}`, `${VAR+alt}`, nested.
3. The interpolated file against the official Compose Specification JSON schema, as vendored in
   the check-jsonschema package (no download at CI time), with the `jsonschema` package.
4. This project's rules, which no schema can know: the services, the production commands, one
   beat, the start-up order through the one-shot `migrate` service, the required secrets.
5. The Dockerfile and .dockerignore, minimally.
6. `docker compose config -q` as a second opinion, only when a Compose v2 CLI is on this machine
   (it needs no engine); otherwise a note says it was skipped. Nothing above depends on it.

Exit status: 0 when everything holds, 1 when a check fails, 2 when the checks could not run.
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import importlib.metadata
import importlib.resources
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

SCHEMA_PACKAGE = "check-jsonschema"
SCHEMA_RESOURCE = ("check_jsonschema.builtin_schemas.vendor", "compose-spec.json")
SCHEMA_SHA256 = ("check_jsonschema.builtin_schemas.vendor.sha256", "compose-spec.sha256")

# Stand-ins for the secrets, so nothing real is ever read. They have the right shape.
DUMMY_ENV = {
    "SECRET_KEY": "ci-dummy-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
    "INTAKE_ENCRYPTION_KEYS": base64.urlsafe_b64encode(bytes(range(32))).decode().rstrip("="),
    "POSTGRES_PASSWORD": "ci-dummy-postgres-password",
}
REQUIRED_SECRETS = ("SECRET_KEY", "INTAKE_ENCRYPTION_KEYS", "POSTGRES_PASSWORD")

APP_SERVICES = ("migrate", "web", "worker", "beat")
LONG_RUNNING = ("web", "worker", "beat", "postgres", "redis", "mailpit")
REQUIRED_SERVICES = ("migrate", "web", "worker", "beat", "postgres", "redis", "mailpit")
WEB_COMMAND = [
    "gunicorn",
    "--bind",
    "0.0.0.0:8000",
    "--workers",
    "2",
    "--threads",
    "4",
    "intake.wsgi:app",
]
WORKER_COMMAND = ["intake", "worker"]
BEAT_COMMAND = ["intake", "beat"]
MIGRATE_COMMAND = ["intake", "db", "upgrade"]
APP_DEPENDENCIES = {
    "migrate": "service_completed_successfully",
    "postgres": "service_healthy",
    "redis": "service_healthy",
}


class Report:
    """Collects check results and prints each as it happens."""

    def __init__(self) -> None:
        self.passed = 0
        self.failures: list[str] = []

    def section(self, title: str) -> None:
        print(f"\n== {title}")

    def check(self, ok: bool, what: str, why: str = "") -> bool:
        if ok:
            self.passed += 1
            print(f"  ok    {what}")
        else:
            message = f"{what}: {why}" if why else what
            self.failures.append(message)
            print(f"  FAIL  {message}")
        return ok

    def note(self, text: str) -> None:
        print(f"  note  {text}")


class SetupError(Exception):
    """The checks cannot run at all (missing file or package)."""


# --------------------------------------------------------------------------- YAML


_YAML11_ONLY_TAGS = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}
_YAML12_SCALARS = (  # the YAML 1.2 core schema's booleans and numbers
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        r"""^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?
            |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$""",
        "-+0123456789.",
    ),
)


def load_yaml(text: str, source: str):
    try:
        import yaml
    except ImportError as exc:
        raise SetupError(
            "PyYAML is missing: run with `uv run --no-project --with pyyaml ...`"
        ) from exc

    class StrictLoader(yaml.SafeLoader):
        """SafeLoader that reads scalars and mappings the way Compose (YAML 1.2) does.

        Duplicate keys are an error; merge keys (<<) still work. Only true/false are booleans
        (YAML 1.1 also takes yes/no/on/off) and there are no base-60 numbers (1.1 reads 22:22
        as 1342), so `- yes` stays a string and "22:22" a port mapping, as in Compose.
        """

    StrictLoader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag not in _YAML11_ONLY_TAGS]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    StrictLoader.add_constructor(
        "tag:yaml.org,2002:int",
        lambda loader, node: int(loader.construct_scalar(node), 0 if "x" in node.value else 10),
    )
    for tag, pattern, firsts in _YAML12_SCALARS:
        StrictLoader.add_implicit_resolver(tag, re.compile(pattern, re.X), list(firsts))

    def construct_mapping(loader, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = loader.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found duplicate key {key!r} (first at line {seen[key] + 1})",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line
        loader.flatten_mapping(node)
        return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    try:
        return yaml.load(text, Loader=StrictLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        raise ValueError(f"{source}, {where}: {exc.problem or exc.context}") from exc
    except yaml.YAMLError as exc:
        raise ValueError(f"{source}: {exc}") from exc


# --------------------------------------------------------------------------- interpolation


class InterpolationError(ValueError):
    def __init__(self, message: str, variable: str | None = None) -> None:
        super().__init__(message)
        self.variable = variable


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")


def interpolate(text: str, env: dict[str, str], used: list[tuple[str, str]] | None = None) -> str:
    """Expand one string the way Compose does; record (name, operator) pairs into `used`."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char != "$":
            out.append(char)
            i += 1
            continue
        nxt = text[i + 1 : i + 2]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "{":
            end = _closing_brace(text, i + 2)
            out.append(_expand_braced(text[i + 2 : end], env, used))
            i = end + 1
        else:
            match = _NAME.match(text, i + 1)
            if not match:
                raise InterpolationError(f"invalid template {text!r}: a lone '$' (write '$$')")
            name = match.group()
            if used is not None:
                used.append((name, ""))
            out.append(_lookup(name, env))
            i = match.end()
    return "".join(out)


def _closing_brace(text: str, start: int) -> int:
    depth = 1
    i = start
    while i < len(text):
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise InterpolationError(f"invalid template {text!r}: '${{' without a closing '}}'")


def _expand_braced(body: str, env: dict[str, str], used) -> str:
    match = _NAME.match(body)
    if not match:
        raise InterpolationError(f"invalid variable name in '${{{body}}}'")
    name, rest = match.group(), body[match.end() :]
    operator = next((op for op in _OPERATORS if rest.startswith(op)), None)
    if operator is None:
        if rest:
            raise InterpolationError(f"invalid template '${{{body}}}'")
        if used is not None:
            used.append((name, ""))
        return _lookup(name, env)
    if used is not None:
        used.append((name, operator))
    arg = rest[len(operator) :]
    is_set = name in env
    value = env.get(name, "")
    present = bool(value) if operator.startswith(":") else is_set
    if operator in (":-", "-"):
        return value if present else interpolate(arg, env, used)
    if operator in (":+", "+"):
        return interpolate(arg, env, used) if present else ""
    if not present:  # ":?" or "?"
        message = interpolate(arg, env) or "(no message)"
        raise InterpolationError(
            f"required variable {name} is missing a value: {message}", variable=name
        )
    return value


def _lookup(name: str, env: dict[str, str]) -> str:
    if name not in env:
        # Compose warns and substitutes "" here; in this project that is always a mistake.
        raise InterpolationError(
            f"${{{name}}} has no value, default or ':?' message: "
            f"write ${{{name}:-default}} or ${{{name}:?why it is needed}}",
            variable=name,
        )
    return env[name]


def interpolate_tree(node, env: dict[str, str], used: list | None = None, path: str = ""):
    """Interpolate every string value (not keys) in a parsed compose document."""
    if isinstance(node, dict):
        return {
            k: interpolate_tree(v, env, used, f"{path}.{k}" if path else str(k))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [interpolate_tree(v, env, used, f"{path}[{n}]") for n, v in enumerate(node)]
    if isinstance(node, str):
        try:
            return interpolate(node, env, used)
        except InterpolationError as exc:
            raise InterpolationError(f"{path}: {exc}", exc.variable) from exc
    return node


def interpolation_self_test() -> list[str]:
    """A few cases with Compose's documented results, so a regression here cannot hide."""
    env = {"SET": "v", "EMPTY": ""}
    cases = [
        ("a$$b", "a$b"),
        ("$SET/x", "v/x"),
        ("${SET}", "v"),
        ("${UNSET:-d}", "d"),
        ("${EMPTY:-d}", "d"),
        ("${EMPTY-d}", ""),
        ("${UNSET-d}", "d"),
        ("${SET:+alt}", "alt"),
        ("${EMPTY:+alt}", ""),
        ("${EMPTY+alt}", "alt"),
        ("${UNSET:-${SET}}", "v"),
        ("${UNSET:-a${UNSET2:-b}c}", "abc"),
        ("${SET:?msg}", "v"),
        ("${EMPTY?msg}", ""),
    ]
    errors = [
        f"{text!r} gave {got!r}, expected {want!r}"
        for text, want in cases
        if (got := _try(text, env)) != want
    ]
    for text in ("${UNSET:?m}", "${EMPTY:?m}", "${UNSET?m}", "$", "${SET", "${1X}", "$UNSET"):
        if not isinstance(_try(text, env), InterpolationError):
            errors.append(f"{text!r} should have been an error")
    return errors


def _try(text, env):
    try:
        return interpolate(text, env)
    except InterpolationError as exc:
        return exc


# --------------------------------------------------------------------------- schema


def load_schema() -> tuple[dict, str]:
    try:
        version = importlib.metadata.version(SCHEMA_PACKAGE)
        resource = importlib.resources.files(SCHEMA_RESOURCE[0]).joinpath(SCHEMA_RESOURCE[1])
        raw = resource.read_bytes()
    except (importlib.metadata.PackageNotFoundError, ModuleNotFoundError, FileNotFoundError) as exc:
        raise SetupError(
            f"the Compose schema ships in {SCHEMA_PACKAGE}: run with "
            f"`uv run --no-project --with {SCHEMA_PACKAGE}==0.39.0 --with pyyaml ...` ({exc})"
        ) from exc
    try:
        expected = (
            importlib.resources.files(SCHEMA_SHA256[0])
            .joinpath(SCHEMA_SHA256[1])
            .read_text()
            .strip()
        )
    except (ModuleNotFoundError, FileNotFoundError):
        expected = None
    actual = hashlib.sha256(raw).hexdigest()
    if expected and expected != actual:
        raise SetupError(f"{SCHEMA_RESOURCE[1]} does not match the checksum {SCHEMA_PACKAGE} ships")
    origin = (
        f"{SCHEMA_PACKAGE} {version}, {SCHEMA_RESOURCE[0].replace('.', '/')}/{SCHEMA_RESOURCE[1]}"
    )
    return json.loads(raw), f"{origin} (sha256 {actual[:12]}…)"


def schema_errors(document: dict, schema: dict) -> list[str]:
    try:
        import jsonschema
    except ImportError as exc:
        raise SetupError("jsonschema is missing (check-jsonschema depends on it)") from exc
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    found = []
    for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.path))):
        found.extend(_describe(error))
    return found


def _describe(error) -> list[str]:
    """The useful leaves of a schema error (oneOf/anyOf errors hide the real cause in context)."""
    if error.context:
        leaves = [c for c in error.context if not c.context] or error.context
        best = max(leaves, key=lambda c: len(c.absolute_path))
        if len(best.absolute_path) > len(error.absolute_path):
            return _describe(best)
    where = "/".join(map(str, error.absolute_path)) or "(top level)"
    return [f"{where}: {error.message}"]


# --------------------------------------------------------------------------- project rules


def as_argv(command) -> list[str] | None:
    if command is None:
        return None
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def env_mapping(environment) -> dict[str, str | None]:
    if isinstance(environment, dict):
        return {str(k): None if v is None else str(v) for k, v in environment.items()}
    result: dict[str, str | None] = {}
    for item in environment or []:
        key, sep, value = str(item).partition("=")
        result[key] = value if sep else None
    return result


def depends_conditions(depends_on) -> dict[str, str]:
    if isinstance(depends_on, list):  # short syntax means "started", not healthy or completed
        return {name: "service_started" for name in depends_on}
    return {
        name: (spec or {}).get("condition", "service_started")
        for name, spec in (depends_on or {}).items()
    }


def check_project_rules(report: Report, raw: dict, doc: dict, env_example: Path) -> None:
    services = doc.get("services") or {}

    report.section("services")
    for name in REQUIRED_SERVICES:
        report.check(name in services, f"service '{name}' is defined", "missing")
    extra = sorted(set(services) - set(REQUIRED_SERVICES))
    if extra:
        report.note(f"other services: {', '.join(extra)}")
    for name, service in services.items():
        for target in depends_conditions(service.get("depends_on")):
            report.check(
                target in services,
                f"{name} depends on an existing service '{target}'",
                "no such service",
            )
        declared = set((doc.get("volumes") or {}).keys())
        for volume in service.get("volumes") or []:
            source = volume.get("source") if isinstance(volume, dict) else str(volume).split(":")[0]
            if source and not source.startswith((".", "/", "~", "$")):
                report.check(
                    source in declared,
                    f"{name} mounts declared volume '{source}'",
                    "add it under the top-level volumes:",
                )

    report.section("production commands")
    expected = {"web": WEB_COMMAND, "beat": BEAT_COMMAND, "migrate": MIGRATE_COMMAND}
    for name, want in expected.items():
        if name in services:
            got = as_argv(services[name].get("command"))
            report.check(got == want, f"{name} runs `{shlex.join(want)}`", f"it runs {got!r}")
    if "worker" in services:
        got = as_argv(services["worker"].get("command")) or []
        report.check(got[:2] == WORKER_COMMAND, "worker runs `intake worker`", f"it runs {got!r}")
        report.check(
            not {"-B", "--beat"} & set(got),
            "worker does not embed a beat (-B/--beat)",
            "beat runs in its own service",
        )

    report.section("one beat")
    beat_like = sorted(
        name
        for name, service in services.items()
        if (argv := as_argv(service.get("command")) or [])
        and (argv[:2] == BEAT_COMMAND or ("celery" in argv[0] and "beat" in argv))
    )
    report.check(
        beat_like == ["beat"], "exactly one service runs beat", f"found {beat_like or 'none'}"
    )
    if "beat" in services:
        beat = services["beat"]
        replicas = (beat.get("deploy") or {}).get("replicas", 1)
        scale = beat.get("scale", 1)
        report.check(int(replicas) <= 1, "beat has deploy.replicas <= 1", f"replicas is {replicas}")
        report.check(int(scale) <= 1, "beat has scale <= 1", f"scale is {scale}")

    report.section("start-up order")
    for name in ("web", "worker", "beat"):
        if name not in services:
            continue
        conditions = depends_conditions(services[name].get("depends_on"))
        for target, condition in APP_DEPENDENCIES.items():
            report.check(
                conditions.get(target) == condition,
                f"{name} waits for {target}: {condition}",
                f"it has {conditions.get(target) or 'no dependency'}",
            )
    if "migrate" in services:
        migrate = services["migrate"]
        conditions = depends_conditions(migrate.get("depends_on"))
        report.check(
            conditions.get("postgres") == "service_healthy",
            "migrate waits for postgres: service_healthy",
            f"it has {conditions.get('postgres')}",
        )
        restart = str(migrate.get("restart", "no"))
        report.check(
            restart in ("no", "on-failure") or restart.startswith("on-failure:"),
            "migrate is one-shot (restart no/on-failure)",
            f"restart is {restart!r}",
        )
    for name in ("postgres", "redis"):
        if name in services:
            health = services[name].get("healthcheck") or {}
            report.check(
                bool(health.get("test")) and not health.get("disable"),
                f"{name} has a healthcheck (service_healthy needs one)",
                "none defined",
            )

    report.section("app services share one image and environment")
    present = [name for name in APP_SERVICES if name in services]
    for name in present:
        build = services[name].get("build")
        context = build.get("context") if isinstance(build, dict) else build
        report.check(
            context in (".", "./"), f"{name} builds from the repository root", f"build is {build!r}"
        )
    builds = {json.dumps(services[n].get("build"), sort_keys=True) for n in present}
    images = {services[n].get("image") for n in present}
    report.check(
        len(builds) == 1 and len(images) == 1,
        "migrate/web/worker/beat share build and image",
        f"builds {builds}, images {images}",
    )
    envs = [env_mapping(services[name].get("environment")) for name in present]
    report.check(
        all(e == envs[0] for e in envs),
        "migrate/web/worker/beat share one environment",
        "they differ",
    )
    for name, env in zip(present, envs, strict=True):
        prefixes = {
            "INTAKE_ENV": "production",
            "DATABASE_URL": "postgresql://",
            "REDIS_URL": "redis://",
            "SMTP_URL": "smtp://",
        }
        bad = [k for k, prefix in prefixes.items() if not (env.get(k) or "").startswith(prefix)]
        bad += [k for k in ("SECRET_KEY", "INTAKE_ENCRYPTION_KEYS") if not env.get(k)]
        report.check(not bad, f"{name} has the production settings", f"wrong or missing: {bad}")

    report.section("web")
    if "web" in services:
        web = services["web"]
        targets = []
        for port in web.get("ports") or []:
            if isinstance(port, dict):
                targets.append(str(port.get("target")))
            else:
                targets.append(str(port).rsplit(":", 1)[-1].split("/")[0])
        report.check(
            "8000" in targets, "web publishes container port 8000", f"ports are {web.get('ports')}"
        )
        test = web.get("healthcheck", {}).get("test")
        test_text = test if isinstance(test, str) else " ".join(test or [])
        report.check(
            "/readyz" in test_text, "web's healthcheck probes /readyz", f"test is {test!r}"
        )
    for name in LONG_RUNNING:
        if name in services:
            restart = services[name].get("restart")
            report.check(
                restart in ("unless-stopped", "always"),
                f"{name} restarts (unless-stopped)",
                f"restart is {restart!r}",
            )
    if "redis" in services:
        argv = as_argv(services["redis"].get("command")) or []
        report.check(
            "--appendonly" in argv and argv[argv.index("--appendonly") + 1 :][:1] == ["yes"],
            "redis runs with --appendonly yes",
            f"command is {argv!r}",
        )
    for name, image in (
        ("postgres", "postgres:16"),
        ("redis", "redis:7"),
        ("mailpit", "axllent/mailpit"),
    ):
        if name in services:
            got = str(services[name].get("image", ""))
            report.check(
                bool(re.fullmatch(re.escape(image) + r"(?:[.:-].*)?", got)),
                f"{name} uses {image}",
                f"image is {got!r}",
            )

    check_secrets(report, raw, env_example)


def check_secrets(report: Report, raw: dict, env_example: Path) -> None:
    report.section("required secrets")
    for name in REQUIRED_SECRETS:
        used: list[tuple[str, str]] = []
        interpolate_tree(raw, DUMMY_ENV, used)
        operators = {op for var, op in used if var == name}
        report.check(
            operators == {":?"},
            f"{name} is only ever referenced as ${{{name}:?message}}",
            f"references use {sorted(operators) or 'nothing'}",
        )
        for label, env in (
            ("unset", {k: v for k, v in DUMMY_ENV.items() if k != name}),
            ("empty", {**DUMMY_ENV, name: ""}),
        ):
            try:
                interpolate_tree(raw, env)
                refused = False
            except InterpolationError as exc:
                refused = exc.variable == name
            report.check(refused, f"compose refuses to start with {name} {label}", "it would start")
    if env_example.is_file():
        listed = set(re.findall(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=", env_example.read_text(), re.M))
        used = []
        interpolate_tree(raw, DUMMY_ENV, used)
        required = sorted({var for var, op in used if op in (":?", "?")})
        missing = [v for v in required if v not in listed]
        report.check(
            not missing,
            f"{env_example.name} lists every required variable ({', '.join(required)})",
            f"missing {missing}",
        )
    else:
        report.check(False, f"{env_example} exists", "not found")


# --------------------------------------------------------------------------- Dockerfile


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    instructions, pending = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = (pending + stripped).strip()
        pending = ""
        if full:
            word, _, rest = full.partition(" ")
            instructions.append((word.upper(), rest.strip()))
    return instructions


def check_dockerfile(report: Report, dockerfile: Path) -> None:
    report.section(f"Dockerfile ({dockerfile})")
    if not report.check(dockerfile.is_file(), "Dockerfile exists", "not found"):
        return
    steps = dockerfile_instructions(dockerfile.read_text())
    words = [w for w, _ in steps]

    def first(word, pred=lambda a: True):
        return next((n for n, (w, a) in enumerate(steps) if w == word and pred(a)), None)

    froms = [a for w, a in steps if w == "FROM"]
    report.check(
        bool(froms) and froms[0].split()[0] == "python:3.11-slim",
        "based on python:3.11-slim",
        f"FROM {froms}",
    )
    report.check(
        bool(re.search(r"pip install .*\buv==\d", " ".join(a for w, a in steps if w == "RUN"))),
        "installs a pinned uv with pip",
        "no `pip install uv==X` step",
    )
    deps = first("RUN", lambda a: "uv sync" in a and "--no-install-project" in a)
    copy_all = first(
        "COPY", lambda a: [p for p in a.split() if not p.startswith("--")][:1] == ["."]
    )
    full = first("RUN", lambda a: "uv sync" in a and "--no-install-project" not in a)
    lock_copy = first("COPY", lambda a: "uv.lock" in a and "pyproject.toml" in a)
    order_ok = None not in (lock_copy, deps, copy_all, full) and lock_copy < deps < copy_all < full
    report.check(
        order_ok,
        "lock copied and dependencies synced before the source (layer cache)",
        "expected COPY pyproject.toml uv.lock → uv sync --no-install-project → COPY . . → uv sync",
    )
    syncs = [a for w, a in steps if w == "RUN" and "uv sync" in a]
    report.check(
        bool(syncs) and all("--frozen" in a and "--no-dev" in a for a in syncs),
        "every uv sync is --frozen --no-dev",
        f"{syncs}",
    )
    users = [a.split(":")[0].strip() for w, a in steps if w == "USER"]
    report.check(
        bool(users) and users[-1] not in ("root", "0"),
        "runs as a non-root USER",
        f"USER {users[-1] if users else '(none)'}",
    )
    health = [a for w, a in steps if w == "HEALTHCHECK"]
    report.check(
        bool(health) and "NONE" not in health[-1].split() and "/healthz" in health[-1],
        "HEALTHCHECK probes /healthz",
        f"{health or 'none'}",
    )
    if health:
        report.check(
            "curl" not in health[-1] and "wget" not in health[-1],
            "HEALTHCHECK needs no curl/wget (not in slim)",
            health[-1],
        )
    report.check(
        "8000" in " ".join(a for w, a in steps if w == "EXPOSE"), "EXPOSE 8000", "not exposed"
    )
    envs = " ".join(a for w, a in steps if w == "ENV")
    report.check(
        bool(re.search(r"\bINTAKE_ENV=production\b", envs)), "ENV INTAKE_ENV=production", "not set"
    )
    report.check("/app/.venv/bin" in envs, "ENV PATH has /app/.venv/bin", "not set")
    report.check("CMD" in words, "has a default CMD", "none")

    ignore = dockerfile.parent / ".dockerignore"
    if report.check(ignore.is_file(), ".dockerignore exists", "not found"):
        lines = {line.strip().rstrip("/") for line in ignore.read_text().splitlines()}
        for entry in (".venv", ".git", ".env", "instance"):
            report.check(entry in lines, f".dockerignore keeps out {entry}", "not listed")
    if not (dockerfile.parent / "intake" / "wsgi.py").is_file():
        report.note("intake/wsgi.py does not exist yet; the web command imports intake.wsgi:app")


# --------------------------------------------------------------------------- compose CLI


def _run(argv: list[str], env) -> subprocess.CompletedProcess:
    """Run the Compose CLI: a fixed argument list, no shell."""
    return subprocess.run(  # noqa: S603
        argv, capture_output=True, text=True, env=env, timeout=120, check=False
    )


def find_compose_cli() -> list[str] | None:
    candidates = []
    if shutil.which("docker"):
        candidates.append(["docker", "compose"])
    if shutil.which("docker-compose"):
        candidates.append(["docker-compose"])
    for argv in candidates:
        try:
            out = _run([*argv, "version"], os.environ)
        except (OSError, subprocess.TimeoutExpired):
            continue
        major = re.search(r"version v?(\d+)\.", out.stdout)
        if out.returncode == 0 and major and int(major.group(1)) >= 2:
            return argv
    return None


def check_with_compose_cli(report: Report, compose_file: Path) -> None:
    report.section("docker compose config (second opinion)")
    cli = find_compose_cli()
    if cli is None:
        report.note(
            "skipped: no Compose v2 CLI here (`docker compose version` failed); "
            "the schema check above does not need one"
        )
        return
    env = {**os.environ, **DUMMY_ENV}
    with tempfile.TemporaryDirectory() as tmp:
        # Trust the CLI only if it reports a broken file as broken (some wrappers drop the status).
        bad = Path(tmp) / "compose.yml"
        bad.write_text("services:\n  probe:\n    image: busybox\n    not_a_compose_key: 1\n")
        probe = _run([*cli, "-f", str(bad), "config", "-q"], env)
    if probe.returncode == 0:
        report.note(
            f"skipped: `{' '.join(cli)}` accepted a broken file, so its verdict means nothing"
        )
        return
    result = _run([*cli, "-f", str(compose_file), "config", "-q"], env)
    report.check(
        result.returncode == 0,
        f"`{' '.join(cli)} -f {compose_file.name} config -q` accepts it",
        (result.stderr or result.stdout).strip(),
    )


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--file", type=Path, default=REPO / "docker-compose.yml", help="compose file"
    )
    parser.add_argument("--dockerfile", type=Path, default=REPO / "Dockerfile")
    parser.add_argument("--env-example", type=Path, default=REPO / ".env.example")
    parser.add_argument("--no-cli", action="store_true", help="skip `docker compose config`")
    args = parser.parse_args(argv)
    report = Report()

    try:
        print(f"compose file: {args.file}")
        if not args.file.is_file():
            raise SetupError(f"{args.file} not found")
        schema, origin = load_schema()

        report.section("interpolation")
        problems = interpolation_self_test()
        report.check(
            not problems,
            "interpolation matches Compose on the reference cases",
            "; ".join(problems),
        )
        try:
            raw = load_yaml(args.file.read_text(), str(args.file))
        except ValueError as exc:
            report.check(False, "the file is YAML with no duplicate keys", str(exc))
            return finish(report)
        report.check(True, "the file is YAML with no duplicate keys")
        if not report.check(
            isinstance(raw, dict), "the top level is a mapping", f"it is {type(raw).__name__}"
        ):
            return finish(report)
        try:
            doc = interpolate_tree(copy.deepcopy(raw), DUMMY_ENV)
            report.check(True, f"every ${{...}} resolves (dummy values for {', '.join(DUMMY_ENV)})")
        except InterpolationError as exc:
            report.check(False, "every ${...} resolves", str(exc))
            return finish(report)

        report.section(f"Compose Specification schema ({origin})")
        errors = schema_errors(doc, schema)
        report.check(
            not errors,
            "valid against the Compose Specification",
            f"{len(errors)} error(s):" + "".join(f"\n          {e}" for e in errors),
        )

        check_project_rules(report, raw, doc, args.env_example)
        check_dockerfile(report, args.dockerfile)
        if args.no_cli:
            report.section("docker compose config (second opinion)")
            report.note("skipped: --no-cli")
        else:
            check_with_compose_cli(report, args.file.resolve())
    except SetupError as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 2
    return finish(report)


def finish(report: Report) -> int:
    if report.failures:
        print(
            f"\ncompose validation FAILED: {len(report.failures)} of "
            f"{report.passed + len(report.failures)} checks"
        )
        for failure in report.failures:
            print(f"  - {failure}")
        return 1
    print(f"\ncompose validation ok: all {report.passed} checks hold")
    return 0


if __name__ == "__main__":
    sys.exit(main())
