"""P8: memory per web worker and per Celery child after 1,000 mixed requests, against a minimal
Flask worker (``bench.floor_app``) after as many; then the growth over the next 1,000.

Project: ``gunicorn -w 2 --threads 4`` and one Celery worker (``--concurrency 1``, so its one
pool child runs every relay, routing and email task the requests cause) with an SMTP sink. The
mixed requests come from 4 client threads, each repeating: a patient opens and sends the four
inquiry steps (8 requests), opens the thank-you page, and an admin opens the queue and the new
lead's page (11 requests). Floor: the same gunicorn settings, alternating ``GET /`` and
``POST /submit``. Both run with the production config (``intake.api.gunicorn_conf``, through
``bench.load.gunicorn``): the app loaded once in the master and frozen with ``gc.freeze`` before
each fork, intake's also warmed there (``warm_up``), so a worker's USS is what it does not share
with the master. Memory is USS (pages only that process holds), read from /proc with psutil,
taken as the largest of the workers; RSS is in the note, with the PSS of the whole gunicorn
(master and workers added up, each shared page split between the processes that hold it).

The note also gives the stack floor's worker (``bench.stack_floor_app``: the floor's two
requests through the Flask-SQLAlchemy, WTForms and Jinja stack intake must use, warmed in its
master the same way), driven as the floor is: what any app on that stack owes to the stack.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
import urllib.request

import psutil
import psycopg
from aiosmtpd.controller import Controller

from bench.harness import (
    BENCH_ENCRYPTION_KEY,
    BENCH_SECRET_KEY,
    bench_app,
    psycopg_url,
    result,
)
from bench.load import drive, floor_spec, gunicorn, harness_spec, stack_floor_spec
from bench.p1_submit import DATABASE, REDIS_URL, Patients, drop_database, fresh_database
from tests.conftest import complete_inquiry
from tests.live import LiveClient
from tests.workers.conftest import Sink, celery_process, free_port

RATIO_TARGET, GROWTH_TARGET = 1.3, 0.05
CLIENTS = 4


def memory(process: psutil.Process) -> tuple[float, float]:
    """(USS, RSS) in MiB."""
    info = process.memory_full_info()
    return info.uss / 2**20, info.rss / 2**20


def largest(processes: list[psutil.Process]) -> tuple[float, float]:
    figures = [memory(process) for process in processes]
    return max(uss for uss, _ in figures), max(rss for _, rss in figures)


def server_total(master: psutil.Process) -> float:
    """PSS of gunicorn's master and workers added up, in MiB: the server's whole memory, pages
    shared by several processes counted once (each holding its share)."""
    return sum(process.memory_full_info().pss for process in [master, *master.children()]) / 2**20


def staff_cookie(app) -> str:
    """A signed-in admin's session cookie (a real server-side session row, no password step)."""
    from intake.accounts.sessions import open_session
    from intake.accounts.staff import create_staff_user
    from intake.extensions import db
    from intake.models.types import utcnow

    with app.app_context():
        user, _ = create_staff_user(
            email="bench-p8-admin@bench.example", name="Bench Admin", role="admin", now=utcnow()
        )
        user.must_change_password = False
        user.totp_confirmed_at = utcnow()
        db.session.flush()
        token = open_session(user=user, now=utcnow(), ip="127.0.0.1")
        db.session.commit()
        serializer = app.session_interface.get_signing_serializer(app)
        return serializer.dumps({"_user_id": token, "_fresh": True})


class Mixed:
    """The project's mixed requests, counted, from several threads until a total is reached."""

    def __init__(self, base_url: str, cookie: str, database_url: str) -> None:
        self.base_url, self.cookie, self.database_url = base_url, cookie, database_url
        self.sent, self.errors, self.patients = 0, 0, 0
        self.lock = threading.Lock()

    def _staff_get(self, path: str) -> int:
        request = urllib.request.Request(  # noqa: S310 (a loopback http URL of ours)
            self.base_url + path, headers={"Cookie": f"intake_session={self.cookie}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
            response.read()
            return response.status

    def _latest_lead(self) -> int:
        with psycopg.connect(psycopg_url(self.database_url)) as connection:
            return connection.execute("SELECT max(id) FROM leads").fetchone()[0]

    def cycle(self) -> None:
        with self.lock:
            self.patients += 1
            number = self.patients
        client = LiveClient(self.base_url)
        complete_inquiry(
            client,
            inquiry={
                "email": f"p8.patient{number}.{time.monotonic_ns()}@example.org",
                "phone": f"(212) 555-{number % 10000:04d}",
            },
        )
        statuses = [client.get("/inquiry/sent").status_code]
        statuses.append(self._staff_get("/staff/"))
        statuses.append(self._staff_get(f"/staff/leads/{self._latest_lead()}"))
        with self.lock:
            self.sent += 11
            self.errors += sum(status >= 400 for status in statuses)

    def until(self, total: int, seconds: float) -> None:
        deadline = time.monotonic() + seconds

        def worker() -> None:
            while time.monotonic() < deadline:
                with self.lock:
                    if self.sent >= total:
                        return
                try:
                    self.cycle()
                except (OSError, AssertionError):
                    with self.lock:
                        self.errors += 1

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=seconds + 60)


def floor_memory(
    spec: str, requests: int, seconds: float, phases: int = 2
) -> tuple[list[tuple], float]:
    """A floor app's largest worker (USS, RSS) after each of ``phases`` runs of ``requests``,
    and its whole server's PSS after the first."""
    patients = Patients("p8")
    with gunicorn(spec) as (base, process):
        for thread in range(CLIENTS):
            patients.forms[thread] = ("", {})
        post = patients.post("/submit")

        def mixed(thread: int):
            mixed.count += 1
            return ("GET", "/", None, {}) if mixed.count % 2 else post(thread)

        mixed.count = 0
        workers = psutil.Process(process.pid).children()
        figures = []
        for _ in range(phases):
            drive(base, mixed, threads=CLIENTS, seconds=seconds, max_requests=requests)
            time.sleep(1)
            figures.append(largest(workers))
            if len(figures) == 1:
                whole = server_total(psutil.Process(process.pid))
        return figures, whole


def run(args) -> None:
    requests, seconds = (200, 20.0) if args.quick else (1000, 80.0)
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    url = fresh_database(DATABASE)
    sink, port = Sink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    instance = tempfile.mkdtemp(prefix="intake-bench-p8-")
    settings = {
        "DATABASE_URL": url,
        "REDIS_URL": REDIS_URL,
        "SMTP_URL": f"smtp://127.0.0.1:{port}",
        "SECRET_KEY": BENCH_SECRET_KEY,
        "INTAKE_ENCRYPTION_KEYS": BENCH_ENCRYPTION_KEY,
        "INTAKE_BASE_URL": "https://intake.bench",
        "INTAKE_INSTANCE_PATH": instance,
        "INTAKE_ENV": "testing",
    }
    app = bench_app(url, REDIS_URL=REDIS_URL)
    cookie = staff_cookie(app)
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    try:
        (floor_first, floor_second), floor_server = floor_memory(
            floor_spec(url, REDIS_URL), requests, seconds
        )
        [stack_first], _ = floor_memory(
            stack_floor_spec(url, REDIS_URL), requests, seconds, phases=1
        )
        with (
            celery_process(
                settings,
                "worker",
                "--concurrency=1",
                "--queues=default,email,routing,periodic",
                "--without-gossip",
                "--without-mingle",
                "--pool=prefork",
            ) as worker,
            gunicorn(harness_spec(url, REDIS_URL), probe="/healthz") as (base, process),
        ):
            web = psutil.Process(process.pid).children()
            load = Mixed(base, cookie, url)
            figures = []
            for phase in (1, 2):
                load.until(requests * phase, seconds)
                time.sleep(3)  # the worker finishes the tasks these requests caused
                child = psutil.Process(worker.pid).children()
                figures.append((largest(web), largest(child), load.sent))
                if phase == 1:
                    web_server = server_total(psutil.Process(process.pid))
    finally:
        controller.stop()
        redis.Redis.from_url(REDIS_URL).flushdb()
        drop_database(DATABASE)
    (web1, child1, sent1), (web2, child2, sent2) = figures
    floor_uss = floor_first[0]
    emails = len(sink.messages)

    def growth(first: tuple, second: tuple) -> float:
        return (second[0] - first[0]) / first[0]

    whole = (
        f"gunicorn PSS (master + workers) {web_server:.0f}MiB vs floor {floor_server:.0f}MiB; "
        f"the stack floor's worker {stack_first[0]:.1f}MiB USS, "
        f"{stack_first[0] / floor_uss:.2f}x the floor; "
    )
    for scenario, name, first, second, server in (
        ("P8-web", "gunicorn worker", web1, web2, whole),
        ("P8-celery", "Celery child", child1, child2, ""),
    ):
        ratio_ok = first[0] <= RATIO_TARGET * floor_uss
        note = (
            f"{name} USS after {sent1} mixed requests (floor worker after {requests}); RSS "
            f"{first[1]:.0f}MiB vs floor {floor_first[1]:.0f}MiB; {server}growth over next "
            f"{sent2 - sent1}: {growth(first, second):+.1%} "
            f"(floor {growth(floor_first, floor_second):+.1%}); "
            f"errors={load.errors} emails={emails}"
        )
        result(
            scenario,
            first[0],
            floor_uss,
            f"<={RATIO_TARGET}x_floor,growth<{GROWTH_TARGET:.0%}",
            ratio_ok and growth(first, second) < GROWTH_TARGET and load.errors == 0,
            unit="MiB",
            note=note,
        )
