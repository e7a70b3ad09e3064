"""Check docker-compose.yml, the Dockerfile and .env.example without a Docker engine.

    uv run --no-project --quiet --with check-jsonschema==0.39.0 --with pyyaml \
        python .ci/validate_compose.py [--file PATH] [--dockerfile PATH] [--env-example PATH]

1. The compose file is YAML with no duplicate keys. (PyYAML reads YAML 1.1, where unquoted
   yes/no are booleans; Compose reads YAML 1.2. Quote them.)
2. `$$`, `$VAR`, `${VAR}`, `${VAR:-x}`, `${VAR-x}`, `${VAR:?msg}`, `${VAR?msg}`, `${VAR:+x}` and
   `${VAR+x}` are interpolated with fixed dummy values for the secrets (never the real
   environment or .env). A variable with no value and no default, or a nested `${...}`, fails.
3. The result is validated against the Compose Specification schema vendored in
   check-jsonschema, with `jsonschema`.
4. Project rules, on a schema-valid file: the seven services, the production commands, one beat,
   start-up order through the one-shot `migrate`, web publishing 8000 with a /readyz
   healthcheck. Always: the secrets are written `${VAR:?msg}` and listed in .env.example.
5. The Dockerfile has a non-root USER, a HEALTHCHECK and `uv sync --frozen`, and its CMD is the
   web command above (gunicorn with its access log on, as Compose runs it).
`docker compose config` is not run: what only Compose's own loader would catch goes unchecked.

Prints one line per failed check, then a summary. Exit 0 when all hold, 1 when one fails, 2 when
the checks cannot run (a file or package is missing).
"""

from __future__ import annotations

import argparse
import importlib.resources
import json
import re
import shlex
import sys
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Stand-ins for the secrets, so nothing real is ever read. None of them is empty.
DUMMY_ENV = {
    "SECRET_KEY": "ci-dummy-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
    "INTAKE_ENCRYPTION_KEYS": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",  # 32 bytes, base64url
    "POSTGRES_PASSWORD": "ci-dummy-postgres-password",
    "INTAKE_APP_DB_PASSWORD": "ci-dummy-app-password",
}
REQUIRED_SERVICES = ("migrate", "web", "worker", "beat", "postgres", "redis", "mailpit")
COMMANDS = {  # the production commands; worker may take extra options after its two words
    "migrate": ["intake", "db", "upgrade"],
    "web": shlex.split(
        "gunicorn --config python:intake.api.gunicorn_conf --bind 0.0.0.0:8000 --workers 2"
        " --threads 4 --access-logfile - intake.wsgi:app"
    ),
    "worker": ["intake", "worker"],
    "beat": ["intake", "beat"],
}
APP_DEPENDENCIES = {
    "migrate": "service_completed_successfully",
    "postgres": "service_healthy",
    "redis": "service_healthy",
}
SCHEMA = ("check_jsonschema.builtin_schemas.vendor", "compose-spec.json")


class Report:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, ok: bool, what: str, why: str = "") -> bool:
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL {what}" + (f": {why}" if why else ""))
        return ok


def setup_error(message: str) -> SystemExit:
    print(f"error: {message}", file=sys.stderr)
    return SystemExit(2)


def load_yaml(text: str):
    """Parse YAML, refusing duplicate keys (PyYAML would silently keep the last one)."""
    import yaml

    class StrictLoader(yaml.SafeLoader):
        pass

    def construct_mapping(loader, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = loader.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    problem=f"duplicate key {key!r}", problem_mark=key_node.start_mark
                )
            seen.add(key)
        return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    try:
        return yaml.load(text, Loader=StrictLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ValueError(f"{where}{exc.problem or exc.context}") from exc
    except yaml.YAMLError as exc:
        raise ValueError(str(exc).replace("\n", " ")) from exc


_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
# $$ | $NAME | ${NAME} | ${NAME<op>arg} | any other '$' (an error). No '$' or braces in arg.
_TOKEN = re.compile(
    rf"\$(?:(?P<escape>\$)|(?P<bare>{_NAME})"
    rf"|\{{(?P<name>{_NAME})(?:(?P<op>:?[-?+])(?P<arg>[^${{}}]*))?\}}|)"
)


def interpolate(text: str, used: list[tuple[str, str]]) -> str:
    """Expand one string as Compose would with DUMMY_ENV; record (name, operator) in `used`."""

    def expand(match: re.Match) -> str:
        if match["escape"]:
            return "$"
        name = match["bare"] or match["name"]
        if not name:
            raise ValueError(
                f"invalid '$' in {text!r}: write '$$' for a literal '$' (no '$' in ${{...}})"
            )
        op, arg = match["op"] or "", match["arg"]
        used.append((name, op))
        value = DUMMY_ENV.get(name)  # never empty, so ':-' and '-' (etc.) agree here
        if op.endswith("-"):
            return arg if value is None else value
        if op.endswith("+"):
            return "" if value is None else arg
        if value is None:
            raise ValueError(
                f"required variable {name} has no value: {arg}"
                if op
                else f"${{{name}}} has no value: write ${{{name}:-default}} or ${{{name}:?why}}"
            )
        return value

    return _TOKEN.sub(expand, text)


def interpolate_tree(node, used: list[tuple[str, str]], path: str = ""):
    """Interpolate every string value (not keys) of a parsed compose document."""
    if isinstance(node, dict):
        return {k: interpolate_tree(v, used, f"{path}/{k}") for k, v in node.items()}
    if isinstance(node, list):
        return [interpolate_tree(v, used, f"{path}/{n}") for n, v in enumerate(node)]
    if isinstance(node, str):
        try:
            return interpolate(node, used)
        except ValueError as exc:
            raise ValueError(f"{path.lstrip('/')}: {exc}") from exc
    return node


def load_validator():
    try:
        import jsonschema

        raw = importlib.resources.files(SCHEMA[0]).joinpath(SCHEMA[1]).read_text()
    except (ImportError, OSError) as exc:
        raise setup_error(
            f"the Compose schema ships in check-jsonschema: run with `uv run --no-project "
            f"--with check-jsonschema==0.39.0 --with pyyaml ...` ({exc})"
        ) from exc
    schema = json.loads(raw)
    return jsonschema.validators.validator_for(schema)(schema)


def describe(error) -> str:
    """Where and what; a oneOf/anyOf error hides its real cause in the deepest sub-error."""
    while error.context:
        best = max(error.context, key=lambda e: len(e.absolute_path))
        if len(best.absolute_path) <= len(error.absolute_path):
            break
        error = best
    return f"{'/'.join(map(str, error.absolute_path)) or '(top level)'}: {error.message}"


def argv_of(command) -> list[str]:
    if command is None:
        return []
    return shlex.split(command) if isinstance(command, str) else [str(p) for p in command]


def conditions(depends_on) -> dict[str, str]:
    if isinstance(depends_on, list):  # the short form means service_started
        return dict.fromkeys(depends_on, "service_started")
    return {k: (v or {}).get("condition", "service_started") for k, v in (depends_on or {}).items()}


def runs_beat(argv: list[str]) -> bool:
    return (
        argv[:2] == COMMANDS["beat"]
        or (bool(argv) and "celery" in argv[0] and "beat" in argv)
        or bool({"-B", "--beat"} & set(argv))
    )


def environment(service: dict) -> dict:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return env


def database_user(service: dict) -> str | None:
    url = environment(service).get("DATABASE_URL")
    return urllib.parse.urlsplit(url).username if url else None


def check_database_roles(report: Report, services: dict) -> None:
    """The app connects as a role whose audit-log grants migrate sets; never as the owner."""
    owner = environment(services.get("postgres", {})).get("POSTGRES_USER")
    app_role = environment(services.get("migrate", {})).get("INTAKE_DB_APP_ROLE")
    report.check(bool(app_role), "migrate sets INTAKE_DB_APP_ROLE", "it does not")
    for name in ("web", "worker", "beat"):
        if name in services:
            user = database_user(services[name])
            report.check(
                user == app_role and user != owner,
                f"{name} connects as the app role {app_role}, not the owner {owner}",
                f"it connects as {user}",
            )


def check_services(report: Report, services: dict) -> None:
    for name in REQUIRED_SERVICES:
        report.check(name in services, f"service {name}", "missing")

    for name, want in COMMANDS.items():
        if name in services:
            got = argv_of(services[name].get("command"))
            ok = got[: len(want)] == want if name == "worker" else got == want
            report.check(ok, f"{name} command is `{shlex.join(want)}`", f"it is {got or 'unset'}")

    beats = sorted(n for n, s in services.items() if runs_beat(argv_of(s.get("command"))))
    report.check(beats == ["beat"], "exactly one service runs beat", f"found {beats or 'none'}")
    if "beat" in services:
        beat = services["beat"]
        for key, value in (
            ("deploy.replicas", (beat.get("deploy") or {}).get("replicas", 1)),
            ("scale", beat.get("scale", 1)),
        ):
            report.check(str(value) in ("0", "1"), f"beat {key} <= 1", f"it is {value}")

    for name in ("web", "worker", "beat"):
        if name in services:
            have = conditions(services[name].get("depends_on"))
            for target, condition in APP_DEPENDENCIES.items():
                report.check(
                    have.get(target) == condition,
                    f"{name} depends_on {target} with condition {condition}",
                    f"it has {have.get(target) or 'none'}",
                )

    if "web" in services:
        web = services["web"]
        ports = web.get("ports") or []
        targets = [
            str(p.get("target")) if isinstance(p, dict) else str(p).rsplit(":", 1)[-1]
            for p in ports
        ]
        report.check(
            any(t.split("/")[0] == "8000" for t in targets),
            "web publishes port 8000",
            f"ports are {ports}",
        )
        test = (web.get("healthcheck") or {}).get("test")
        report.check("/readyz" in str(test), "web healthcheck probes /readyz", f"test is {test}")


def check_secrets(report: Report, used: list[tuple[str, str]], env_example: Path) -> None:
    for name in DUMMY_ENV:
        forms = sorted({f"${{{name}{op}…}}" for var, op in used if var == name and op != ":?"})
        report.check(
            not forms and any(var == name for var, _ in used),
            f"{name} is always written ${{{name}:?message}}",
            f"found {', '.join(forms)}" if forms else "never used",
        )
    required = sorted({*DUMMY_ENV, *(var for var, op in used if op.endswith("?"))})
    if report.check(env_example.is_file(), f"{env_example} exists", "not found"):
        listed = set(re.findall(rf"^\s*({_NAME})\s*=", env_example.read_text(), re.M))
        missing = [var for var in required if var not in listed]
        report.check(
            not missing, f"{env_example.name} lists {', '.join(required)}", f"missing {missing}"
        )


def check_compose(report: Report, compose_file: Path, env_example: Path, validator) -> None:
    try:
        raw = load_yaml(compose_file.read_text())
    except ValueError as exc:
        report.check(False, f"{compose_file.name} is YAML with no duplicate keys", str(exc))
        return
    if not report.check(isinstance(raw, dict), "the top level is a mapping"):
        return
    used: list[tuple[str, str]] = []
    try:
        doc = interpolate_tree(raw, used)
    except ValueError as exc:
        report.check(False, "interpolation", str(exc))
        return
    errors = sorted(describe(e) for e in validator.iter_errors(doc))
    check_secrets(report, used, env_example)
    why = "; ".join(errors) + " (so the service rules were not checked)"
    if report.check(not errors, "Compose schema", why):
        check_services(report, doc.get("services") or {})
        check_database_roles(report, doc.get("services") or {})


def dockerfile_steps(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), comments dropped and continuation lines joined."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\[ \t]*\n", " ", "\n".join(lines))
    steps = []
    for line in joined.splitlines():
        word, _, rest = line.strip().partition(" ")
        if word:
            steps.append((word.upper(), " ".join(rest.split())))
    return steps


def check_dockerfile(report: Report, dockerfile: Path) -> None:
    if not report.check(dockerfile.is_file(), f"{dockerfile} exists", "not found"):
        return
    steps = dockerfile_steps(dockerfile.read_text())
    users = [args.split(":")[0] for word, args in steps if word == "USER"]
    report.check(
        bool(users) and users[-1] not in ("root", "0"),
        "Dockerfile runs as a non-root USER",
        f"USER is {users[-1] if users else 'not set'}",
    )
    health = [args for word, args in steps if word == "HEALTHCHECK"]
    report.check(
        bool(health) and health[-1].split()[:1] != ["NONE"],
        "Dockerfile has a HEALTHCHECK",
        "none",
    )
    commands = [args for word, args in steps if word == "CMD"]
    try:
        cmd = json.loads(commands[-1]) if commands else None
    except json.JSONDecodeError:
        cmd = commands[-1]  # the shell form: run by /bin/sh, so gunicorn would miss SIGTERM
    report.check(
        cmd == COMMANDS["web"],
        f"Dockerfile CMD is `{shlex.join(COMMANDS['web'])}`",
        f"it is {cmd or 'unset'}",
    )
    syncs = [args for word, args in steps if word == "RUN" and "uv sync" in args]
    report.check(
        bool(syncs) and all("--frozen" in args for args in syncs),
        "Dockerfile installs with `uv sync --frozen`",
        f"uv sync steps: {syncs or 'none'}",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--file", type=Path, default=REPO / "docker-compose.yml")
    parser.add_argument("--dockerfile", type=Path, default=REPO / "Dockerfile")
    parser.add_argument("--env-example", type=Path, default=REPO / ".env.example")
    args = parser.parse_args(argv)
    try:
        import yaml  # noqa: F401
    except ImportError as exc:
        raise setup_error("PyYAML is missing: run with `uv run --with pyyaml ...`") from exc
    if not args.file.is_file():
        raise setup_error(f"{args.file} not found")
    validator = load_validator()

    report = Report()
    check_compose(report, args.file, args.env_example, validator)
    check_dockerfile(report, args.dockerfile)
    total = report.passed + report.failed
    if report.failed:
        print(f"compose validation FAILED: {report.failed} of {total} checks")
        return 1
    print(f"compose validation ok: {total} checks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
