"""P13: the peer, DjangoCRM's public contact form, against P1's floor and intake in the same run.

Optional: ``python -m bench P13`` runs it, a run without names leaves it out (it installs a
third-party app, see ``bench/peer.py``). The peer's form is ``POST /en/contact-form/<uuid>/``
(``crm.views.contact_form``): a Django form, a banned-company check, its stop phrases, a search
for a contact or lead with the same email or phone, then one INSERT of a ``crm_request`` and one
of its ``crm_crmemail`` (16 statements on an empty database, autocommit; it creates no lead:
staff turn a request into one later).

Four servers run at once, each ``gunicorn -w 2 --threads 4`` on a loopback port: the floor
(``bench.floor_app``: INSERT + LPUSH), intake's ``POST /inquiry`` driven as P1 drives it (its own
database ``intake_bench_p13``), the peer as shipped (``CONN_MAX_AGE=0``: a new connection per
request) and the peer with persistent connections (``CONN_MAX_AGE=600``), both on database
``intake_bench_peer``. ``bench.load`` drives each for the same time, in an order that reverses
every round (A B C D, D C B A …); figures are medians of the rounds. Around each round the side's
rows are counted and compared with the posts its server accepted: the floor's rows, intake's
leads and ``inquiry.started`` events, the peer's ``crm_request`` and ``crm_crmemail`` rows (its
thank-you page and its form shown again with errors both answer 200, so only the count tells
them apart). Worker CPU per request is read from each server's processes (psutil). Target:
intake's ratio to the floor ≥ 3 × the tuned (persistent) peer's.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psutil
import psycopg
import redis

from bench import peer
from bench.harness import analyze_if_no_autovacuum, median, result
from bench.load import Load, Request, drive, floor_spec, gunicorn, harness_spec
from bench.p1_submit import THREADS, Patients, drop_database, fresh_database

INTAKE_DATABASE = "intake_bench_p13"
REDIS_URL = "redis://127.0.0.1:6379/15"  # CI uses 13 and 14
PERSISTENT_SECONDS = 600
TARGET = 3.0


@dataclass
class RowCheck:
    """Rows one table gained, round by round, against the posts its server accepted. A round
    that differs (a 200 that showed the form again, a write lost or made twice) fails it."""

    accepted: int = 0
    created: int = 0
    rounds_off: int = 0

    def record(self, before: int, after: int, accepted: int) -> None:
        self.accepted += accepted
        self.created += after - before
        if after - before != accepted:
            self.rounds_off += 1

    @property
    def holds(self) -> bool:
        return self.rounds_off == 0 and self.accepted > 0


def multiple(ratio: float, peer_ratio: float) -> float:
    """How many times the peer's ratio to the floor ``ratio`` is (0 when the peer has none)."""
    return ratio / peer_ratio if peer_ratio > 0 else 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU so far of a gunicorn master and its workers."""
    master = psutil.Process(pid)
    total = 0.0
    for process in (master, *master.children(recursive=True)):
        with contextlib.suppress(psutil.NoSuchProcess):
            times = process.cpu_times()
            total += times.user + times.system
    return total


@dataclass
class Side:
    """One server under load: what it is sent, how its rows are counted, what it did."""

    name: str
    base_url: str
    build: Callable[[int], Request]
    counters: dict[str, Callable[[], int]]
    pid: int
    loads: list[Load] = field(default_factory=list)
    checks: dict[str, RowCheck] = field(default_factory=dict)
    cpu: float = 0.0

    def round(self, seconds: float, timed: bool = True) -> None:
        before = {table: count() for table, count in self.counters.items()}
        cpu = cpu_seconds(self.pid)
        load = drive(
            self.base_url, self.build, threads=THREADS, seconds=seconds, max_requests=100_000
        )
        if timed:
            self.cpu += cpu_seconds(self.pid) - cpu
            self.loads.append(load)
        for table, count in self.counters.items():
            self.checks.setdefault(table, RowCheck()).record(before[table], count(), load.ok)

    @property
    def rate(self) -> float:
        return median([load.rate for load in self.loads])

    @property
    def holds(self) -> bool:
        failed = sum(load.failed for load in self.loads)
        return failed == 0 and all(check.holds for check in self.checks.values())

    def note(self) -> str:
        ok = sum(load.ok for load in self.loads)
        statuses: dict[int, int] = {}
        for load in self.loads:
            for status, count in load.statuses.items():
                statuses[status] = statuses.get(status, 0) + count
        rows = " ".join(
            f"{table}+{check.created}/{check.accepted}"
            + (f"({check.rounds_off} rounds off)" if check.rounds_off else "")
            for table, check in self.checks.items()
        )
        latencies = sorted(lat for load in self.loads for lat in load.latencies)
        p50 = latencies[len(latencies) // 2] * 1000 if latencies else 0.0
        return (
            f"{self.name} rounds req/s {'/'.join(f'{load.rate:.0f}' for load in self.loads)}, "
            f"statuses={statuses}, rows made/accepted {rows}, p50={p50:.0f}ms, "
            f"worker CPU {self.cpu / ok * 1000 if ok else 0:.1f}ms/req"
        )


def counter(connection: psycopg.Connection, sql: str) -> Callable[[], int]:
    return lambda: connection.execute(sql).fetchone()[0]


def run(args) -> None:
    rounds, seconds = (2, 3.0) if args.quick else (6, 10.0)
    print(f"# P13: peer {peer.ensure_env()}", flush=True)
    queue = redis.Redis.from_url(REDIS_URL)
    queue.flushdb()
    try:
        peer_url = peer.fresh_database()
        intake_url = fresh_database(INTAKE_DATABASE)
        with contextlib.ExitStack() as stack:
            sides = _start(stack, intake_url, peer_url)
            for side in sides:
                side.round(1.0, timed=False)
            analyze_if_no_autovacuum(intake_url, peer_url)  # the warm-up's rows: see P1
            for number in range(rounds):
                for side in sides if number % 2 == 0 else sides[::-1]:
                    side.round(seconds)
                    analyze_if_no_autovacuum(intake_url, peer_url)  # untimed: see P1
                    time.sleep(0.2)
        _report(sides, f"{rounds}x{seconds:.0f}s")
    finally:
        queue.flushdb()
        drop_database(INTAKE_DATABASE)
        drop_database(peer.DATABASE)


def _start(stack: contextlib.ExitStack, intake_url: str, peer_url: str) -> list[Side]:
    """The four servers, up at once, and the connections that count their rows."""
    intake_db = stack.enter_context(psycopg.connect(intake_url, autocommit=True))
    peer_db = stack.enter_context(psycopg.connect(peer_url, autocommit=True))
    floor_url, floor = stack.enter_context(gunicorn(floor_spec(intake_url, REDIS_URL)))
    intake_base, intake = stack.enter_context(
        gunicorn(harness_spec(intake_url, REDIS_URL), probe="/healthz")
    )
    patients = Patients("p13")
    for thread in range(THREADS):
        patients.open_form(intake_base, thread)
    floor_rows = {"floor_rows": counter(intake_db, "SELECT count(*) FROM bench_floor_submissions")}
    intake_rows = {
        "leads": counter(intake_db, "SELECT count(*) FROM leads"),
        "inquiry.started": counter(
            intake_db, "SELECT count(*) FROM outbox_events WHERE topic = 'inquiry.started'"
        ),
    }
    peer_rows = {
        table: counter(peer_db, f"SELECT count(*) FROM {table}")  # noqa: S608 (our names)
        for table in ("crm_request", "crm_crmemail")
    }
    sides = [
        Side("floor", floor_url, patients.post("/submit"), floor_rows, floor.pid),
        Side("intake", intake_base, patients.post("/inquiry"), intake_rows, intake.pid),
    ]
    for name, conn_max_age in (("shipped", 0), ("persistent", PERSISTENT_SECONDS)):
        base_url, process = stack.enter_context(
            gunicorn(
                peer.APP,
                env=peer.env(conn_max_age),
                probe=peer.FORM_PATH,
                log_path=str(peer.HOME / f"gunicorn-{name}.log"),
                python=str(peer.PYTHON),
                cwd=peer.HOME,
                start_seconds=180,
            )
        )
        sides.append(Side(name, base_url, peer.posts(f"p13{name}"), peer_rows, process.pid))
    return sides


def _report(sides: list[Side], rounds: str) -> None:
    floor, intake, shipped, persistent = sides
    setup = f"gunicorn -w 2 --threads 4 each, {THREADS} client threads, {rounds} rounds a side"
    floor_note = floor.note() + ("" if floor.holds else " ROWS OFF")
    ratios = {}
    for side, conn_max_age in ((shipped, 0), (persistent, PERSISTENT_SECONDS)):
        ratios[side.name] = side.rate / floor.rate if floor.rate else 0.0
        note = (
            f"DjangoCRM POST {peer.FORM_PATH} (CONN_MAX_AGE={conn_max_age}, DEBUG off) vs floor "
            f"INSERT+LPUSH; {setup}, order reversing; {side.note()}; {floor_note}"
        )
        passed = side.holds and floor.holds
        result(
            f"P13.{side.name}",
            side.rate,
            floor.rate,
            "reported,rows==accepted",
            passed,
            unit="req/s",
            note=note,
        )
    ratio = intake.rate / floor.rate if floor.rate else 0.0
    times = multiple(ratio, ratios["persistent"])
    note = (
        f"{times:.2f}x the tuned peer's ratio ({ratio:.3f} vs {ratios['persistent']:.3f}; "
        f"{multiple(ratio, ratios['shipped']):.2f}x the peer as shipped); POST /inquiry step 1 "
        f"as in P1, same run and floor; {intake.note()}"
    )
    passed = all(side.holds for side in sides) and times >= TARGET
    result(
        "P13.intake",
        intake.rate,
        floor.rate,
        f">={TARGET:g}x_tuned_peer_ratio",
        passed,
        unit="req/s",
        note=note,
    )
