"""Shared parts of the broker drills (R2, R4, R5): a throwaway ``redis-server`` per drill, an
SMTP sink that can answer slowly, the real gunicorn and patients submitting from many addresses,
worker and beat processes, and the figures each drill prints. The shared Redis is never touched.

CI sizes by default; ``INTAKE_DRILL_LONG=1`` runs the sizes QUALITY.md names (1,000 submissions,
10 minutes of two beats), and ``INTAKE_DRILL_R2_SUBMISSIONS`` sets R2's count alone."""

from __future__ import annotations

import asyncio
import functools
import http.client
import http.cookiejar
import math
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis
from celery import Celery

from intake.accounts.staff import create_staff_user
from intake.config import celery_settings
from intake.extensions import db
from intake.models import Send
from intake.models.types import utcnow
from intake.routing.service import ensure_default_routing
from tests.conftest import complete_inquiry
from tests.live import LiveClient, NoRedirect, poll
from tests.workers.conftest import Sink, celery_process, free_port, stop_process_group

LONG = os.environ.get("INTAKE_DRILL_LONG") == "1"
# QUALITY.md: 1,000; CI: 300, so both variants and R5 fit in about six minutes.
R2_SUBMISSIONS = int(os.environ.get("INTAKE_DRILL_R2_SUBMISSIONS") or (1000 if LONG else 300))
R2_THREADS = 8
R2_P95_LIMIT = 1.0
R2_EMAIL_DEADLINE = 300.0  # all confirmations within 5 minutes of Redis returning
R5_SECONDS = 600 if LONG else 90  # QUALITY.md: 10 minutes; CI: 90 s
R4_RESTARTS = 3
R4_CANARY_DEADLINE = 60.0
REPO = Path(__file__).resolve().parents[2]
WORKER_ARGS = (
    "worker",
    "--concurrency=2",
    "--queues=default,email,routing,periodic",
    "--without-gossip",
    "--without-mingle",
    "--pool=prefork",
)
# To the last microsecond: a shift ending "23:59" leaves the day's last minute uncovered.
ALWAYS = {"days": [0, 1, 2, 3, 4, 5, 6], "start": "00:00", "end": "23:59:59.999999"}


def report(capsys, line: str) -> None:
    with capsys.disabled():
        print(f"\n{line}", flush=True)


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


# --- a redis-server of our own ------------------------------------------------------------------


class ThrowawayRedis:
    """A ``redis-server`` on a free loopback port, without persistence, that drills may stop,
    restart on the same port (empty), freeze and thaw. Only this process is ever signalled."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.process: subprocess.Popen | None = None
        self.frozen = False

    def start(self) -> None:
        with open(self.workdir / "redis-server.log", "ab") as log:
            self.process = subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "no",
                    "--dir",
                    str(self.workdir),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        if not poll(self.answers, timeout=10, every=0.05):
            raise AssertionError(f"redis-server on port {self.port} did not start")

    def answers(self) -> bool:
        try:
            return redis.Redis.from_url(self.url, socket_timeout=0.5).ping()
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process is None:
            return
        self.thaw()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def freeze(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)
        self.frozen = True

    def thaw(self) -> None:
        if self.process is not None and self.frozen:
            os.kill(self.process.pid, signal.SIGCONT)
            self.frozen = False


class DrillSink(Sink):
    """The worker tests' sink, able to answer slowly (``delay`` seconds a message)."""

    delay = 0.0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's API)
        if self.delay:
            await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


def publish(settings, *tasks: str) -> None:
    """Send tasks by name from a Celery client of the drill's Redis, as another web or beat
    process would."""
    client = Celery("drill-publisher")
    client.config_from_object(
        celery_settings(settings["REDIS_URL"], Path(settings["INTAKE_INSTANCE_PATH"]))
    )
    try:
        for task in tasks:
            client.send_task(task)
    finally:
        client.close()


@contextmanager
def workers(settings, *, beats: int = 1):
    """One worker and ``beats`` beat processes, each beat with its own schedule file."""
    with ExitStack() as stack:
        stack.enter_context(celery_process(settings, *WORKER_ARGS))
        for number in range(beats):
            schedule = os.path.join(settings["INTAKE_INSTANCE_PATH"], f"beat-{number}.schedule")
            stack.enter_context(celery_process(settings, "beat", f"--schedule={schedule}"))
        yield


# --- the real web server and patients from many addresses ---------------------------------------


@contextmanager
def gunicorn(settings):
    """``gunicorn -w 2 --threads 4 intake.wsgi:app`` with the production config (the app preloaded
    in the master) on a free loopback port."""
    port = free_port()
    log_path = os.path.join(settings["INTAKE_INSTANCE_PATH"], "gunicorn.log")
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                "python:intake.api.gunicorn_conf",
                "-w",
                "2",
                "--threads",
                "4",
                "-b",
                f"127.0.0.1:{port}",
                "intake.wsgi:app",
            ],
            env={**os.environ, **settings},
            cwd=REPO,
            start_new_session=True,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return LiveClient(base_url).get("/inquiry").status_code == 200
        except OSError:
            return process.poll() is not None  # died: stop waiting, fail below

    try:
        poll(up, timeout=30, every=0.2)
        assert process.poll() is None, f"gunicorn exited; see {log_path}"
        yield base_url
    finally:
        stop_process_group(process, signal.SIGINT)  # quick shutdown: nothing is in flight now


class _FromAddress(urllib.request.HTTPHandler):
    """Open connections from one loopback address: each patient is a different client."""

    def __init__(self, address: str) -> None:
        super().__init__()
        self.address = address

    def http_open(self, req):
        connection = functools.partial(http.client.HTTPConnection, source_address=(self.address, 0))
        return self.do_open(connection, req)


class PatientClient(LiveClient):
    """A LiveClient from its own loopback address that records every status and POST time."""

    def __init__(self, base_url: str, address: str, together: threading.Barrier | None) -> None:
        super().__init__(base_url)
        self.together = together
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
            NoRedirect(),
            _FromAddress(address),
        )
        self.statuses: list[int] = []
        self.post_seconds: list[float] = []

    def get(self, path: str):
        response = super().get(path)
        self.statuses.append(response.status_code)
        return response

    def post(self, path: str, data):
        if self.together is not None:  # the first wave presses the button at the same moment
            self.together.wait(timeout=30)
            self.together = None
        started = time.perf_counter()
        response = super().post(path, data)
        self.post_seconds.append(time.perf_counter() - started)
        self.statuses.append(response.status_code)
        return response


def patient_address(index: int) -> str:
    """127.0.x.y, one per patient: the form's real per-address limit (30 posts a minute) then
    applies to each patient as it would in life, and the limiter keeps a key per patient."""
    return f"127.0.{index // 250 + 1}.{index % 250 + 2}"


def patient_email(index: int) -> str:
    return f"drill.patient{index}@example.org"


@dataclass
class Outcome:
    index: int
    finished_at: float = 0.0
    submit_seconds: float | None = None
    post_seconds: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    accepted: bool = False
    error: str | None = None


def submit(base_url: str, index: int, together: threading.Barrier | None = None) -> Outcome:
    """One patient completes all four steps; the last POST is the submit that is timed."""
    client = PatientClient(base_url, patient_address(index), together)
    outcome = Outcome(index)
    try:
        response = complete_inquiry(
            client,
            inquiry={"email": patient_email(index), "phone": f"(202) 555-{index:04d}"},
        )
        outcome.accepted = response.status_code == 303 and response.headers.get(
            "Location", ""
        ).endswith("/inquiry/sent")
        outcome.submit_seconds = client.post_seconds[-1]
    except Exception as error:  # noqa: BLE001 (a drill counts failures; it never stops at one)
        outcome.error = f"{type(error).__name__}: {str(error)[:200]}"
    outcome.statuses, outcome.post_seconds = client.statuses, client.post_seconds
    outcome.finished_at = time.monotonic()
    return outcome


def run_submissions(base_url: str, count: int, *, when_done=None) -> list[Outcome]:
    """``count`` patients from ``R2_THREADS`` threads; ``when_done(n)`` after each one. The
    first ``R2_THREADS`` send their first step at once, as a crowd does: that is when the rate
    limiter first finds Redis gone, and a race there must not reach a patient either."""
    done, lock = [0], threading.Lock()
    together = threading.Barrier(R2_THREADS)

    def one(index: int) -> Outcome:
        outcome = submit(base_url, index, together if index < R2_THREADS else None)
        with lock:
            done[0] += 1
            finished = done[0]
        if when_done is not None:
            when_done(finished)
        return outcome

    with ThreadPoolExecutor(max_workers=R2_THREADS) as pool:
        return list(pool.map(one, range(count)))


def slice_p95s(outcomes: list[Outcome], slices: int = 10) -> list[float]:
    """p95 of the submit in each tenth of the run, in the order submissions finished."""
    timed = sorted(
        (o for o in outcomes if o.submit_seconds is not None), key=lambda o: o.finished_at
    )
    size = max(1, len(timed) // slices)
    chunks = [timed[start : start + size] for start in range(0, len(timed), size)]
    return [percentile([o.submit_seconds for o in chunk], 0.95) for chunk in chunks]


def idempotency_keys(sink: Sink) -> Counter:
    with sink.lock:
        return Counter(str(m["X-Intake-Idempotency-Key"] or "").strip() for m in sink.messages)


def duplicates(keys: Counter) -> int:
    return sum(count - 1 for count in keys.values() if count > 1)


def confirmed(sink: Sink, emails: set[str]) -> set[str]:
    with sink.lock:
        return {str(m["To"]) for m in sink.messages} & emails


def ledger_settled(app) -> bool:
    """No ledger row due now is still waiting or mid-send."""
    with app.app_context():
        waiting = db.session.scalar(
            db.select(db.func.count(Send.id)).where(
                Send.status.in_(("scheduled", "sending")), Send.due_at <= utcnow()
            )
        )
        db.session.rollback()
        return waiting == 0


def add_coordinators(app, count: int) -> list[str]:
    """Coordinators on duty around the clock, and the default round-robin routing."""
    emails = [f"coordinator{number}@clinic.example" for number in range(count)]
    with app.app_context():
        for number, email in enumerate(emails):
            user, _ = create_staff_user(
                email=email, name=f"Coordinator {number}", role="coordinator", now=utcnow()
            )
            user.working_hours = ALWAYS
        db.session.flush()
        ensure_default_routing(now=utcnow())
        db.session.commit()
    return emails


def complete_in_process(app, indexes) -> None:
    client_app = app.test_client
    for index in indexes:
        complete_inquiry(
            client_app(),
            inquiry={"email": patient_email(index), "phone": f"(202) 555-{index:04d}"},
        )


def ledger(app) -> list[Send]:
    with app.app_context():
        rows = db.session.scalars(db.select(Send).order_by(Send.id)).all()
        db.session.expunge_all()
        return rows
