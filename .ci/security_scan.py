"""sqlmap and wapiti against a local intake instance; see .ci/security-scan for how to run it.

The instance is the real app under gunicorn on PostgreSQL and Redis, on a free loopback port.
Staff pages are scanned through a session opened by the app's own sign-in service (the same
server-side session a password and TOTP code would open), so the scan needs no secret typed in.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parent.parent
PG = "postgresql://postgres@127.0.0.1:5432"
DATABASE = "intake_scan"
REDIS_URL = "redis://127.0.0.1:6379/6"
COOKIE = "intake_session"
SQLMAP = ["uvx", "--quiet", "--from", "sqlmap==1.10.10", "sqlmap"]
WAPITI_VERSION = "wapiti3==3.3.2"
ALLOW_FILE = ROOT / ".ci" / "security-scan-allow.txt"
# Attack modules that need no host but the target: ssrf, xxe and log4shell call out to an
# external endpoint, nikto and wapp download databases, ssl needs HTTPS, so they stay off.
# timesql is left to sqlmap's time-based (stacked) payloads, which cover the same ground.
WAPITI_MODULES = (
    "sql,xss,permanentxss,exec,file,crlf,redirect,csrf,methods,csp,http_headers,cookieflags"
)
# Pages whose forms would end the scanner's own session: never posted to.
WAPITI_EXCLUDE = ("/staff/logout", "/staff/account/sessions", "/staff/password")
SQLMAP_TIMEOUT = 240
# wapiti's --max-scan-time bounds the crawl only; each attack module has its own limit.
WAPITI_CRAWL_SECONDS = 60
WAPITI_ATTACK_SECONDS = 20


def log(message: str) -> None:
    print(f"[security-scan] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def psql(sql: str) -> None:
    command = ["psql", "-q", "-v", "ON_ERROR_STOP=1", f"{PG}/postgres", "-c", sql]
    # The PostgreSQL client on PATH, as .ci/run uses it; the SQL is our own.
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)  # noqa: S603


def flush_redis() -> None:
    command = ["redis-cli", "-h", "127.0.0.1", "-n", "6", "flushdb"]
    subprocess.run(command, check=False, stdout=subprocess.DEVNULL)  # noqa: S603


def run_tool(command: list[str], output: Path, timeout: float) -> bool:
    """Run a scanner in its own process group, output to a file; False if it ran out of time.

    uvx starts the tool as a child: on a timeout or an interrupt the whole group is stopped,
    so no scanner outlives the scan."""
    with open(output, "wb") as out:
        process = subprocess.Popen(  # noqa: S603 (fixed command, loopback target)
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            process.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


# --- the instance ---------------------------------------------------------------------------


def app_environment(port: int, instance: Path) -> dict[str, str]:
    from intake.crypto import generate_key

    return {
        **os.environ,
        "INTAKE_ENV": "development",
        "DATABASE_URL": f"{PG}/{DATABASE}",
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": secrets.token_urlsafe(48),
        "INTAKE_ENCRYPTION_KEYS": generate_key(),
        "INTAKE_INSTANCE_PATH": str(instance),
        "INTAKE_BASE_URL": f"http://127.0.0.1:{port}",
        # The scanners post hundreds of times a minute from one address: no bot pause, and a
        # limit high enough that 429s do not hide what the form does with the input.
        "INTAKE_MIN_FILL_SECONDS": "0",
        "INTAKE_INQUIRY_RATE_LIMIT": "100000 per minute",
        "INTAKE_STAFF_IDLE_MINUTES": "60",
    }


def prepare(env: dict[str, str]) -> tuple[str, int]:
    """Migrate and seed the database; return a staff session cookie and a lead id."""
    os.environ.update(env)
    import pyotp
    from argon2 import PasswordHasher
    from flask_migrate import upgrade
    from sqlalchemy import select

    from intake import create_app
    from intake.accounts.sessions import open_session
    from intake.accounts.signin import seal_totp_secret
    from intake.demo.seed import add_demo_leads
    from intake.extensions import db
    from intake.models import Lead, StaffUser
    from intake.models.types import utcnow
    from intake.routing.service import ensure_default_routing

    app = create_app()
    with app.app_context():
        upgrade()
        ensure_default_routing(now=utcnow())
        add_demo_leads(now=utcnow(), count=3)  # each lead page is the same page to a scanner
        user = StaffUser(
            email="scanner@intake.local",
            name="Security Scanner",
            role="coordinator",
            password_hash=PasswordHasher().hash(secrets.token_urlsafe(24)),
            must_change_password=False,
            totp_confirmed_at=utcnow(),
        )
        db.session.add(user)
        db.session.flush()
        seal_totp_secret(user, pyotp.random_base32())
        token = open_session(user=user, now=utcnow(), ip="127.0.0.1")
        lead_id = db.session.scalar(select(Lead.id).order_by(Lead.id))
        db.session.commit()
        db.engine.dispose()
        serializer = app.session_interface.get_signing_serializer(app)
        cookie = serializer.dumps({"_user_id": token, "_fresh": True})
    return cookie, lead_id


def start_gunicorn(env: dict[str, str], port: int, logs: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", "2", "--threads", "4", "--timeout", "60", "intake.wsgi:app"]
    with open(logs / "gunicorn.log", "wb") as out:
        process = subprocess.Popen(  # noqa: S603 (our own fixed command)
            command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    for _ in range(60):
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited; see {logs / 'gunicorn.log'}")
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=2):  # noqa: S310 (loopback)
                return process
        except OSError:
            time.sleep(0.5)
    raise SystemExit("the instance did not become ready in 30 s")


# --- forms, read as a browser would --------------------------------------------------------

TEXT_VALUES = {
    "email": "scan.patient@example.org",
    "phone": "+12025550142",
    "date_of_birth-day": "12",  # a date is typed as day, month and year
    "date_of_birth-month": "4",
    "date_of_birth-year": "1980",
    "first_name": "Scan",
    "last_name": "Patient",
    "region": "Florida",
    "term": "Rivera",
    "body": "Called, left a message.",
    "postal_code": "33101",
    "detected_time_zone": "America/New_York",
    "diagnosis_year": "2015",
    "dmt_name": "none",
    "symptoms_other": "fatigue",
    "country": "US",
}


class Browser:
    """A cookie-keeping client for the loopback instance."""

    def __init__(self, base: str, cookie: str | None = None) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        if cookie:
            self.opener.addheaders = [("Cookie", f"{COOKIE}={cookie}")]

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=10) as response:
            return response.read().decode()

    def post(self, path: str, data: list[tuple[str, str]]) -> str:
        body = urllib.parse.urlencode(data).encode()
        with self.opener.open(self.base + path, data=body, timeout=10) as response:
            return response.read().decode()

    def cookie(self) -> str:
        values = [c.value for c in self.jar if c.name == COOKIE]
        return values[-1] if values else ""


def form_data(html: str, action: str) -> list[tuple[str, str]]:
    """The fields of the form posting to ``action``, filled with plausible answers."""
    soup = BeautifulSoup(html, "html.parser")
    form = next(
        (f for f in soup.find_all("form") if (f.get("action") or "").split("?")[0] == action),
        None,
    ) or soup.find("form", attrs={"method": re.compile("post", re.I)})
    if form is None:
        raise SystemExit(f"no form posting to {action}")
    data: list[tuple[str, str]] = []
    seen: set[str] = set()
    for element in form.find_all(["input", "select", "textarea"]):
        name, kind = element.get("name"), (element.get("type") or "text").lower()
        if not name or name in seen or kind in ("submit", "button"):
            continue
        if element.name == "select":
            values = [o.get("value", "") for o in element.find_all("option") if o.get("value")]
            value = TEXT_VALUES.get(name, values[0] if values else "")
            value = value if value in values else (values[0] if values else "")
        elif kind in ("radio", "checkbox"):
            value = element.get("value", "y")
        elif kind == "hidden":
            value = element.get("value", "")
        else:
            value = TEXT_VALUES.get(name, element.get("value") or "")
        seen.add(name)
        data.append((name, value))
    return data


# --- sqlmap ---------------------------------------------------------------------------------


@dataclass
class SqlmapResult:
    tested: set[str] = field(default_factory=set)
    injectable: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def sqlmap(
    name: str,
    url: str,
    *,
    cookie: str,
    logs: Path,
    data: list[tuple[str, str]] | None = None,
    csrf_url: str | None = None,
    result: SqlmapResult,
    dbms: str = "PostgreSQL",
) -> None:
    command = [
        *SQLMAP,
        "-u",
        url,
        "--batch",
        "--level=1",
        "--risk=1",
        f"--dbms={dbms}",
        # Boolean, error and stacked (time-based) payloads; UNION only where a page shows rows.
        "--technique=" + ("BES" if data is not None else "BEUS"),
        "--timeout=15",
        "--retries=1",
        "--disable-coloring",
        "--skip-waf",
        "--flush-session",
        "--skip=csrf_token,draft,rendered_at,submission_key,leave_blank",
        f"--output-dir={logs / 'sqlmap'}",
    ]
    if cookie:
        command.append(f"--cookie={COOKIE}={cookie}")
    if name in ("contact", "about_ms"):  # the next step's page says nothing about the input
        command.append("--ignore-redirects")
    if data is not None:
        command.append("--data=" + urllib.parse.urlencode(data))
    if csrf_url is not None:  # sqlmap re-reads the token before each request, one at a time
        command += ["--csrf-token=csrf_token", f"--csrf-url={csrf_url}"]
    else:
        command.append("--threads=2")
    log(f"sqlmap: {name}")
    path = logs / f"sqlmap-{name}.log"
    if not run_tool(command, path, SQLMAP_TIMEOUT):
        result.problems.append(f"{name}: stopped after {SQLMAP_TIMEOUT} s")
    output = path.read_text(errors="replace")
    tested = set(re.findall(r"(?:GET|POST|Cookie) parameter '([^']+)' does not seem", output))
    # "parameter 'x' is dynamic" says only that the page changes with it: not a finding.
    found = re.findall(
        r"(?:GET|POST|Cookie) parameter '([^']+)' "
        r"(?:(?:is|appears to be) '[^']+' injectable|is vulnerable)",
        output,
    )
    if "identified the following injection point" in output and not found:
        found = ["(see log)"]
    result.tested |= {f"{name}:{p}" for p in tested | set(found)}
    result.injectable += sorted({f"{name}:{p}" for p in found})
    if not tested and not found:
        result.problems.append(f"{name}: no parameter was tested (see sqlmap-{name}.log)")
    for line in re.findall(r"^\[\S+\] \[CRITICAL\] (.*)$", output, re.M):
        if "do not appear to be injectable" not in line:
            result.problems.append(f"{name}: {line}")


def run_sqlmap(base: str, staff_cookie: str, lead_id: int, logs: Path) -> SqlmapResult:
    result = SqlmapResult()
    patient = Browser(base)
    contact = form_data(patient.get("/inquiry"), "/inquiry")
    sqlmap(
        "contact",
        f"{base}/inquiry",
        cookie=patient.cookie(),
        data=contact,
        csrf_url=f"{base}/inquiry",
        logs=logs,
        result=result,
    )
    # A second browser gets as far as step 2, so that step's own fields are tested too.
    patient = Browser(base)
    patient.post("/inquiry", form_data(patient.get("/inquiry"), "/inquiry"))
    step = form_data(patient.get("/inquiry/about_ms"), "/inquiry/about_ms")
    sqlmap(
        "about_ms",
        f"{base}/inquiry/about_ms",
        cookie=patient.cookie(),
        data=step,
        csrf_url=f"{base}/inquiry/about_ms",
        logs=logs,
        result=result,
    )
    staff = Browser(base, staff_cookie)
    queue = (
        "view=all&status=new&owner=&team=&outcome=&ms_type=RRMS&source=&created_from=2020-01-01"
        "&created_to=2030-01-01&sla=&incomplete=&sort=newest&after=&search="
    )
    sqlmap("queue", f"{base}/staff/?{queue}", cookie=staff_cookie, logs=logs, result=result)
    search = form_data(staff.get("/staff/"), "/staff/search")
    sqlmap(
        "search",
        f"{base}/staff/search",
        cookie=staff_cookie,
        data=search,
        csrf_url=f"{base}/staff/",
        logs=logs,
        result=result,
    )
    lead = f"/staff/leads/{lead_id}"
    note = form_data(staff.get(lead), f"{lead}/notes")
    sqlmap(
        "note",
        f"{base}{lead}/notes",
        cookie=staff_cookie,
        data=note,
        csrf_url=f"{base}{lead}",
        logs=logs,
        result=result,
    )
    return result


# --- wapiti ---------------------------------------------------------------------------------


def wapiti_python() -> str:
    """A Python >= 3.12 already on this machine (uv cannot download one offline)."""
    candidates = [os.environ.get("WAPITI_PYTHON", "")]
    candidates += [shutil.which(f"python3.{minor}") or "" for minor in (12, 13, 14)]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates += sorted(str(p) for p in pyenv.glob("3.1[234]*/bin/python3"))
    check = "import sys; sys.exit(not (3, 12) <= sys.version_info < (3, 15))"
    for candidate in filter(None, candidates):
        probe = subprocess.run(  # noqa: S603 (a local interpreter asked its version)
            [candidate, "-c", check], capture_output=True, check=False
        )
        if probe.returncode == 0:
            return candidate
    raise SystemExit("wapiti 3.3.2 needs Python 3.12-3.14: set WAPITI_PYTHON to one")


def run_wapiti(
    base: str,
    staff_cookie: str,
    work: Path,
    logs: Path,
    modules: str = WAPITI_MODULES,
    starts: tuple[str, ...] = ("/inquiry", "/staff/"),
) -> dict:
    report = work / "wapiti.json"
    command = [
        *("uvx", "--quiet", "--python", wapiti_python(), "--from", WAPITI_VERSION, "wapiti"),
        *("-u", f"{base}/", "--scope", "folder", "-m", modules),
        *("--flush-session", "--no-bugreport", "-v", "1", "--tasks", "4", "-d", "4"),
        *("--max-scan-time", str(WAPITI_CRAWL_SECONDS)),
        *("--max-attack-time", str(WAPITI_ATTACK_SECONDS)),
        *("--max-links-per-page", "40", "-t", "15"),
        *("--store-session", str(work / "wapiti-session")),
        *("--store-config", str(work / "wapiti-config")),
        *("-f", "json", "-dr", "1", "-o", str(report)),
        # Modules that call back to an outside endpoint are off; this points any such call at
        # a closed loopback port all the same.
        *("--endpoint", "http://127.0.0.1:9/"),
    ]
    for start in starts:
        command += ["-s", base + start]
    if staff_cookie:
        command += ["-C", f"{COOKIE}={staff_cookie}"]
    for path in WAPITI_EXCLUDE:
        command += ["-x", base + path]
    log("wapiti: crawling and attacking")
    limit = WAPITI_CRAWL_SECONDS + WAPITI_ATTACK_SECONDS * (modules.count(",") + 1) + 120
    if not run_tool(command, logs / "wapiti.log", limit):
        raise SystemExit(f"wapiti overran its time; see {logs / 'wapiti.log'}")
    if not report.exists():
        raise SystemExit(f"wapiti wrote no report; see {logs / 'wapiti.log'}")
    launched = (logs / "wapiti.log").read_text(errors="replace").count("Launching module")
    return {**json.loads(report.read_text()), "launched_modules": launched}


def load_allowed() -> list[tuple[str, re.Pattern, str]]:
    """``category | regex | reason`` per line, the regex searched in "<path> <parameter>: <info>
    || <the attack's HTTP request on one line>"; a line without a reason is refused, so every
    accepted item stays explained."""
    allowed = []
    for number, line in enumerate(ALLOW_FILE.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = [part.strip() for part in line.split("|", 2)]
        if len(parts) != 3 or not all(parts):
            raise SystemExit(f"{ALLOW_FILE.name}:{number}: want 'category | regex | reason'")
        allowed.append((parts[0], re.compile(parts[1]), parts[2]))
    return allowed


def judge_wapiti(report: dict) -> tuple[list[str], list[str]]:
    """(failures, explained): every vulnerability fails unless allowed with a reason."""
    allowed = load_allowed()
    failures, explained = [], []
    for section in ("vulnerabilities", "anomalies", "additionals"):
        for category, items in (report.get(section) or {}).items():
            for item in items:
                info = f"{item.get('path')} {item.get('parameter') or ''}: {item.get('info')}"
                request = " ".join((item.get("http_request") or "").split())
                text = f"{info} || {request}"
                reason = next(
                    (r for c, rx, r in allowed if c == category and rx.search(text)), None
                )
                line = f"{section}/{category}: {info}"
                if reason is None:
                    failures.append(line)
                else:
                    explained.append(f"{line}\n      allowed: {reason}")
    return failures, explained


# --- self-test: the same checks must fail on a page that is injectable on purpose ---------


def toy_app(environ, start_response):
    """A deliberately vulnerable page (SQL injection and reflected XSS in ``name``)."""
    import sqlite3

    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
    name = query.get("name", ["a"])[0]
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE t (name TEXT)")
    connection.execute("INSERT INTO t VALUES ('a'), ('b')")
    try:
        sql = f"SELECT name FROM t WHERE name = '{name}'"  # noqa: S608 (injectable on purpose)
        rows = connection.execute(sql).fetchall()
    except sqlite3.Error as exc:
        rows = [str(exc)]
    body = f"<html><body><p>Hello {name}</p><a href='/?name=a'>a</a> {rows}</body></html>"
    start_response("200 OK", [("Content-Type", "text/html")])
    return [body.encode()]


def self_test(work: Path, logs: Path) -> int:
    """Both scanners, through the same parsing, must report the toy page; exit 0 if they do."""
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_message(self, *_args) -> None:
            pass

    server = make_server("127.0.0.1", 0, toy_app, handler_class=Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        sql = SqlmapResult()
        sqlmap("toy", f"{base}/?name=a", cookie="", logs=logs, result=sql, dbms="SQLite")
        report = run_wapiti(base, "", work, logs, "sql,xss", ("/?name=a",))
        failures, _explained = judge_wapiti(report)
    finally:
        server.shutdown()
    print(f"self-test sqlmap: injectable {sorted(set(sql.injectable)) or 'NONE'}")
    print(f"self-test wapiti: {failures or 'NONE'}")
    caught = bool(sql.injectable) and any("Cross Site Scripting" in f for f in failures)
    print("self-test: " + ("both scanners report the toy page" if caught else "MISSED"))
    return 0 if caught else 1


# --- main -----------------------------------------------------------------------------------


def main() -> int:
    # Loopback never goes through a proxy, whatever the environment says (PyPI still may).
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    keep = os.environ.get("SCAN_KEEP") == "1"
    work = Path(tempfile.mkdtemp(prefix="intake-scan-"))
    logs = work / "logs"
    logs.mkdir()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server: subprocess.Popen | None = None
    if sys.argv[1:] == ["--self-test"]:
        try:
            return self_test(work, logs)
        finally:
            if not keep:
                shutil.rmtree(work, ignore_errors=True)

    def stop(*_args) -> None:
        raise SystemExit(130)

    signal.signal(signal.SIGTERM, stop)
    started = time.monotonic()
    try:
        psql(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        psql(f'CREATE DATABASE "{DATABASE}"')
        flush_redis()
        env = app_environment(port, work / "instance")
        staff_cookie, lead_id = prepare(env)
        server = start_gunicorn(env, port, logs)
        log(f"instance ready at {base} (logs in {logs})")

        sql = run_sqlmap(base, staff_cookie, lead_id, logs)
        report = run_wapiti(base, staff_cookie, work, logs)
        failures, explained = judge_wapiti(report)
        infos = report.get("infos", {})
        crawled = infos.get("crawled_pages_nbr", len(infos.get("crawled_pages", [])))
        vulnerabilities = sum(len(v) for v in (report.get("vulnerabilities") or {}).values())
        attacked = report["launched_modules"]

        print()
        for line in explained:
            print(f"  explained  {line}")
        for line in failures:
            print(f"  FINDING    {line}")
        for line in sql.injectable:
            print(f"  INJECTABLE {line}")
        for line in sql.problems:
            print(f"  PROBLEM    sqlmap {line}")
        print(f"sqlmap: {len(sql.tested)} parameters tested, {len(sql.injectable)} injectable")
        print(
            f"wapiti: {crawled} URLs crawled, {attacked} attack modules run, "
            f"{vulnerabilities} vulnerabilities ({len(failures)} unexplained findings, "
            f"{len(explained)} explained)"
        )
        print(f"security-scan: {time.monotonic() - started:.0f} s")
        return 1 if failures or sql.injectable or sql.problems else 0
    finally:
        if server is not None and server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        try:
            psql(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        except subprocess.CalledProcessError:
            log(f"could not drop the database {DATABASE}")
        flush_redis()
        if keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
