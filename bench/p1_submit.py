"""P1: form submit throughput under gunicorn on PostgreSQL, against the floor.

"Submit" is the inquiry's first step, ``POST /inquiry``: the request that validates the contact
form (WTForms), then writes the lead, its inquiry with the sealed answers, its contact details
and the ``inquiry.started`` outbox event in one INSERT with data-modifying CTEs, on the
condition that no lead holds the email or phone (then nudges a worker from a background
thread): one wait on PostgreSQL for a new person (the pool checks a connection's socket, not
the server, before handing it out). Later steps only
add answers to that inquiry. Each load thread opens the form once, untimed, as a browser would
(its session cookie, CSRF token and signed render time), then posts it again and again with a new
submission key and a new email and phone, so every timed request creates a new lead.

The floor is ``bench.floor_app`` under the same gunicorn settings: the same posted body, one raw
INSERT and one Redis LPUSH. Both servers run at once; the same load generator drives each for the
same time, alternately (A B B A …). The figure is the median of each side's rounds. Where the
server's autovacuum is off (this machine's shared server), the harness runs ``ANALYZE`` before
each round (the first included: the warm-up rows are there), untimed, as autovacuum would on a
growing table.
"""

from __future__ import annotations

import http.client
import itertools
import os
import secrets
import time
import urllib.parse
from collections.abc import Callable

import psycopg
import redis

from bench.harness import analyze_if_no_autovacuum, median, psycopg_url, result
from bench.load import Load, drive, floor_spec, gunicorn, harness_spec
from tests.conftest import CONTACT, hidden_fields
from tests.live import LiveResponse

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
# Its own scratch database (dropped after) and Redis database (flushed), shared with P2, P6 and
# P8; INTAKE_BENCH_P1_DATABASE and INTAKE_BENCH_P1_REDIS_URL move them when two runs share
# the servers.
DATABASE = os.environ.get("INTAKE_BENCH_P1_DATABASE", "intake_bench_p1")
REDIS_URL = os.environ.get("INTAKE_BENCH_P1_REDIS_URL", "redis://127.0.0.1:6379/9")
THREADS = 8  # as many requests in flight as the servers have threads (2 workers × 4)
AREA_CODES = ("202", "212", "213", "305", "312", "415", "617", "713", "206", "303")
TARGET = 0.60


def database_url(name: str) -> str:
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


def fresh_database(name: str) -> str:
    """Drop and create ``name``, migrate it with the project's migrations; its URL."""
    from flask_migrate import upgrade

    from bench.harness import bench_app
    from intake.extensions import db

    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    url = database_url(name)
    app = bench_app(url, REDIS_URL=REDIS_URL)
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url


def drop_database(name: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Patients:
    """Builds contact-step posts as a browser that opened the form once would send them: the
    page's hidden fields and session cookie, a new submission key, a new email and phone."""

    def __init__(self, label: str, exchange: int = 555) -> None:
        self.label = f"{label}.{secrets.token_hex(3)}"
        self.numbers = itertools.count()
        self.exchange = exchange
        self.forms: dict[int, tuple[str, dict[str, str]]] = {}

    def open_form(self, base_url: str, thread: int) -> None:
        host, port = base_url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            connection.request("GET", "/inquiry")
            response = connection.getresponse()
            body = response.read()
            cookie = (response.getheader("Set-Cookie") or "").split(";", 1)[0]
        finally:
            connection.close()
        hidden = hidden_fields(LiveResponse(response.status, {}, body))
        self.forms[thread] = (cookie, hidden)

    def answers(self) -> dict[str, str]:
        number = next(self.numbers)
        area = AREA_CODES[number // 10000 % len(AREA_CODES)]
        # The first exchange, then the next ones: a number never comes back (the same name with
        # the same phone joins the earlier lead, and P13 sends over 100,000 posts through one set).
        exchange = self.exchange + number // (10000 * len(AREA_CODES))
        return {
            **CONTACT,
            "email": f"{self.label}.{number}@example.org",
            "phone": f"({area}) {exchange}-{number % 10000:04d}",
        }

    def post(self, path: str) -> Callable[[int], tuple]:
        def build(thread: int):
            cookie, hidden = self.forms[thread]
            fields = {
                **hidden,
                "submission_key": secrets.token_urlsafe(24),
                **self.answers(),
                "action": "continue",
            }
            body = urllib.parse.urlencode(fields).encode()
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": cookie,
            }
            return "POST", path, body, headers

        return build


def unused_exchange(url: str) -> int:
    """The first exchange from 555 in which no lead of ``url`` has a phone number, for posts to a
    database that outlives the run: a number an earlier run sent, with the same name, would join
    that run's lead (the known person's path) instead of making a new one."""
    with psycopg.connect(psycopg_url(url)) as connection:
        for exchange in range(555, 990):
            prefixes = [f"+1{area}{exchange}%" for area in AREA_CODES]
            taken = connection.execute(
                "SELECT EXISTS (SELECT 1 FROM leads WHERE phone LIKE ANY (%s))", (prefixes,)
            ).fetchone()[0]
            if not taken:
                return exchange
    raise RuntimeError(f"every exchange from 555 holds a lead's phone in {url}")


def count_rows(url: str, sql: str) -> int:
    with psycopg.connect(psycopg_url(url)) as connection:
        return connection.execute(sql).fetchone()[0]


def run(args) -> None:
    rounds, seconds = (2, 3.0) if args.quick else (6, 10.0)
    url = fresh_database(DATABASE)
    queue = redis.Redis.from_url(REDIS_URL)
    queue.flushdb()
    patients = Patients("p1")
    try:
        with (
            gunicorn(harness_spec(url, REDIS_URL), probe="/healthz") as (project_url, _),
            gunicorn(floor_spec(url, REDIS_URL)) as (floor_url, _),
        ):
            for thread in range(THREADS):
                patients.open_form(project_url, thread)

            def side(base_url: str, path: str, loads: list[Load], limit: float):
                def go() -> float:
                    load = drive(
                        base_url,
                        patients.post(path),
                        threads=THREADS,
                        seconds=limit,
                        max_requests=100_000,
                    )
                    loads.append(load)
                    return load.rate

                return go

            warm: list[Load] = []
            analyzed = False
            side(floor_url, "/submit", warm, 1.0)()
            side(project_url, "/inquiry", warm, 1.0)()
            floor_loads: list[Load] = []
            project_loads: list[Load] = []
            floor_rates, project_rates = [], []
            for number in range(rounds):
                analyzed = analyze_if_no_autovacuum(url)  # untimed, before each round
                first, second = (
                    (("floor", floor_rates), ("project", project_rates))
                    if number % 2 == 0
                    else (("project", project_rates), ("floor", floor_rates))
                )
                for name, rates in (first, second):
                    if name == "floor":
                        rates.append(side(floor_url, "/submit", floor_loads, seconds)())
                    else:
                        rates.append(side(project_url, "/inquiry", project_loads, seconds)())
                time.sleep(0.2)
        project_ok = sum(load.ok for load in project_loads + warm[1:])
        leads = count_rows(url, "SELECT count(*) FROM leads")
        events = count_rows(
            url, "SELECT count(*) FROM outbox_events WHERE topic = 'inquiry.started'"
        )
        failed = sum(load.failed for load in floor_loads + project_loads)
        value, floor = median(project_rates), median(floor_rates)
        ratio = value / floor if floor else 0.0
        statuses = {}
        for load in floor_loads + project_loads:
            for status, count in load.statuses.items():
                statuses[status] = statuses.get(status, 0) + count
        project_p95 = sorted(lat for load in project_loads for lat in load.latencies)
        note = (
            f"POST /inquiry (step 1: lead+inquiry+outbox) vs floor INSERT+LPUSH; gunicorn -w 2 "
            f"--threads 4 each, {THREADS} client threads, {rounds}x{seconds:.0f}s rounds a side "
            f"alternating; rounds req/s project={'/'.join(f'{r:.0f}' for r in project_rates)} "
            f"floor={'/'.join(f'{r:.0f}' for r in floor_rates)}; failed={failed} "
            f"statuses={statuses}; "
            f"leads={leads} outbox_started={events} for {project_ok} accepted posts; "
            f"project p50={project_p95[len(project_p95) // 2] * 1000:.0f}ms"
            + ("; ANALYZE before each round (the server's autovacuum is off)" if analyzed else "")
        )
        passed = ratio >= TARGET and failed == 0 and leads == project_ok == events
        result("P1", value, floor, f">={TARGET}x_floor", passed, unit="req/s", note=note)
    finally:
        queue.flushdb()
        drop_database(DATABASE)
