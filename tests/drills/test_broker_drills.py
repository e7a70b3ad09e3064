"""Broker drills (QUALITY.md R2, R4, R5): what patients and workers see when Redis stops, freezes
or restarts, and when two beats run at once. Real gunicorn, PostgreSQL, Redis, Celery worker and
beat processes, and an SMTP sink; each drill has its own throwaway ``redis-server``, so the
shared Redis is never touched.

CI sizes by default; ``INTAKE_DRILL_LONG=1`` runs the sizes QUALITY.md names (1,000 submissions,
10 minutes of two beats), and ``INTAKE_DRILL_R2_SUBMISSIONS`` sets R2's count alone."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import http.client
import http.cookiejar
import logging
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
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from aiosmtpd.controller import Controller
from celery import Celery
from flask_migrate import upgrade

from intake import create_app
from intake.config import celery_settings
from intake.crypto import generate_key
from intake.extensions import db
from intake.models import Lead, OutboxEvent, Send
from intake.models.types import utcnow
from intake.services import relay, routing
from intake.services.routing import ensure_default_routing
from intake.services.staff import create_staff_user
from tests.conftest import empty_tables
from tests.drills.conftest import wait_until
from tests.live import LiveClient, _NoRedirect
from tests.public.helpers import complete_inquiry
from tests.workers.conftest import Sink, celery_process, free_port

pytestmark = pytest.mark.drill

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
ALWAYS = {"days": [0, 1, 2, 3, 4, 5, 6], "start": "00:00", "end": "23:59"}


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
        if not wait_until(self.answers, timeout=10, every=0.05):
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


@pytest.fixture
def broker(tmp_path):
    server = ThrowawayRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class DrillSink(Sink):
    """The worker tests' sink, able to answer slowly (``delay`` seconds a message)."""

    delay = 0.0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's API)
        if self.delay:
            await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def sink():
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # a line per SMTP command otherwise
    collected, port = DrillSink(), free_port()
    controller = Controller(collected, hostname="127.0.0.1", port=port)
    controller.start()
    collected.url = f"smtp://127.0.0.1:{port}"
    try:
        yield collected
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def drill_database(postgres_url):
    """The session's PostgreSQL database, migrated (a no-op when another fixture did it)."""
    app = create_app({"INTAKE_ENV": "testing", "SQLALCHEMY_DATABASE_URI": postgres_url})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return postgres_url


@pytest.fixture
def settings(drill_database, broker, sink, tmp_path):
    """The environment shared by gunicorn, the workers and the beats (same keys, same stores)."""
    return {
        "DATABASE_URL": drill_database,
        "REDIS_URL": broker.url,
        "SMTP_URL": sink.url,
        "SECRET_KEY": "broker-drills-" + "k" * 40,
        "INTAKE_ENCRYPTION_KEYS": generate_key(),
        "INTAKE_BASE_URL": "https://intake.test",
        "INTAKE_INSTANCE_PATH": str(tmp_path),
        "INTAKE_ENV": "development",
        "INTAKE_MIN_FILL_SECONDS": "0",
    }


@pytest.fixture
def local_app(settings, tmp_path):
    """This process's view of the same database; its nudges go to an in-memory broker, so the
    only way work reaches the workers is the one under test."""
    app = create_app(
        {
            "INTAKE_ENV": "testing",
            "SQLALCHEMY_DATABASE_URI": settings["DATABASE_URL"],
            "SECRET_KEY": settings["SECRET_KEY"],
            "INTAKE_ENCRYPTION_KEYS": [settings["INTAKE_ENCRYPTION_KEYS"]],
            "INTAKE_BASE_URL": settings["INTAKE_BASE_URL"],
            "INTAKE_INQUIRY_RATE_LIMIT": "10000 per minute",
            "CELERY": {**celery_settings(None, tmp_path), "broker_url": "memory://"},
        }
    )
    empty_tables(app)
    yield app
    empty_tables(app)


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
    """``gunicorn -w 2 --threads 4 intake.wsgi:app`` on a free loopback port."""
    port = free_port()
    log_path = os.path.join(settings["INTAKE_INSTANCE_PATH"], "gunicorn.log")
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
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
        wait_until(up, timeout=30, every=0.2)
        assert process.poll() is None, f"gunicorn exited; see {log_path}"
        yield base_url
    finally:
        os.killpg(process.pid, signal.SIGINT)  # quick shutdown: nothing is in flight by now
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


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
            _NoRedirect(),
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


# --- R2 -------------------------------------------------------------------------------------------


def _submit_through_outage(variant: str, *, settings, broker: ThrowawayRedis):
    """All submissions under gunicorn with Redis stopped first, or frozen a tenth of the way
    in; Redis is back (restarted empty, or thawed) on return. Returns the outcomes, the wall
    time and when Redis froze."""
    frozen_at: list[float] = []

    def freeze_once(finished: int) -> None:
        if variant == "frozen" and finished == R2_SUBMISSIONS // 10:
            broker.freeze()
            frozen_at.append(time.monotonic())

    with gunicorn(settings) as base_url:
        if variant == "stopped":
            broker.stop()
        started = time.monotonic()
        outcomes = run_submissions(base_url, R2_SUBMISSIONS, when_done=freeze_once)
        wall = time.monotonic() - started
    if variant == "stopped":
        broker.start()  # the same port, empty: whatever was queued in Redis is gone
    else:
        broker.thaw()
    return outcomes, wall, (frozen_at[0] if frozen_at else None)


def _stored(app) -> tuple[int, list[OutboxEvent]]:
    """How many leads, and the completion events, the database holds."""
    with app.app_context():
        leads = db.session.scalar(db.select(db.func.count(Lead.id)))
        completed = db.session.scalars(
            db.select(OutboxEvent).where(OutboxEvent.topic == "inquiry.completed")
        ).all()
        db.session.expunge_all()
        return leads, completed


def _confirmations_sent(app) -> int:
    with app.app_context():
        return db.session.scalar(
            db.select(db.func.count(Send.id)).where(
                Send.cadence == "confirmation", Send.status == "sent"
            )
        )


def _r2(variant: str, *, settings, broker: ThrowawayRedis, sink: Sink, local_app, capsys) -> None:
    count = R2_SUBMISSIONS
    outcomes, wall, frozen_at = _submit_through_outage(variant, settings=settings, broker=broker)
    back_at = time.monotonic()
    leads, completed = _stored(local_app)
    everyone = {patient_email(index) for index in range(count)}
    with workers(settings, beats=1):
        delivered = wait_until(
            lambda: len(confirmed(sink, everyone)) >= len(completed),
            timeout=R2_EMAIL_DEADLINE,
            every=1.0,
        )
        email_seconds = time.monotonic() - back_at
        wait_until(lambda: _ledger_settled(local_app), timeout=30, every=1.0)
        time.sleep(3)  # a late duplicate would show up here
    _, completed = _stored(local_app)
    unpublished = sum(event.published_at is None for event in completed)
    sent_rows = _confirmations_sent(local_app)
    keys = idempotency_keys(sink)
    with sink.lock:
        per_patient = Counter(str(m["To"]) for m in sink.messages if str(m["To"]) in everyone)

    submits = [o.submit_seconds for o in outcomes if o.submit_seconds is not None]
    posts = [seconds for o in outcomes for seconds in o.post_seconds]
    accepted = [o for o in outcomes if o.accepted]
    server_errors = sum(status >= 500 for o in outcomes for status in o.statuses)
    failures = [o.error for o in outcomes if o.error]
    p95s = slice_p95s(outcomes)
    frozen = [o.submit_seconds for o in accepted if frozen_at and o.finished_at > frozen_at]
    report(
        capsys,
        f"DRILL R2-{variant} submissions={count} threads={R2_THREADS} "
        f"accepted={len(accepted)} server_errors={server_errors} failed_patients={len(failures)} "
        f"submit_p50={percentile(submits, 0.5):.3f}s submit_p95={percentile(submits, 0.95):.3f}s "
        + (f"submit_p95_while_frozen={percentile(frozen, 0.95):.3f}s " if frozen_at else "")
        + f"worst_tenth_p95={max(p95s, default=0):.3f}s submit_max={max(submits, default=0):.3f}s "
        f"any_post_p95={percentile(posts, 0.95):.3f}s any_post_max={max(posts, default=0):.3f}s "
        f"submit_wall={wall:.1f}s rate={count / wall:.1f}/s leads={leads} "
        f"completed_events={len(completed)} unpublished={unpublished} "
        f"confirmations={len(per_patient)}/{len(completed)} confirmation_rows_sent={sent_rows} "
        f"all_emails_after={email_seconds:.1f}s emails={sum(keys.values())} "
        f"duplicates={duplicates(keys)} "
        f"p95_bar={R2_P95_LIMIT}s:{'PASS' if max(p95s, default=0) < R2_P95_LIMIT else 'FAIL'}",
    )
    # What the workers owe every inquiry the database holds, whatever its patient was shown.
    assert delivered, f"{len(per_patient)} of {len(completed)} confirmations in {email_seconds}s"
    assert duplicates(keys) == 0 and set(per_patient.values()) <= {1}
    assert unpublished == 0 and sent_rows == len(completed) == len(per_patient)
    assert {patient_email(o.index) for o in accepted} <= set(per_patient)
    # What the patients saw.
    assert not failures, failures[:3]
    assert len(accepted) == count and server_errors == 0
    # The p95 bar is a figure reported above (PASS/FAIL), not an assertion: timings on a
    # shared two-core machine are benchmarks, never test verdicts (QUALITY.md).
    assert leads == count and len(completed) == count


def _ledger_settled(app) -> bool:
    """No ledger row due now is still waiting or mid-send."""
    with app.app_context():
        waiting = db.session.scalar(
            db.select(db.func.count(Send.id)).where(
                Send.status.in_(("scheduled", "sending")), Send.due_at <= utcnow()
            )
        )
        db.session.rollback()
        return waiting == 0


@pytest.mark.timeout(600)
def test_r2_submissions_are_accepted_while_redis_is_stopped_and_confirmed_once_it_returns(
    settings, broker, sink, local_app, capsys
):
    _r2("stopped", settings=settings, broker=broker, sink=sink, local_app=local_app, capsys=capsys)


@pytest.mark.timeout(600)
def test_r2_submissions_are_accepted_while_redis_is_frozen_and_confirmed_once_it_thaws(
    settings, broker, sink, local_app, capsys
):
    _r2("frozen", settings=settings, broker=broker, sink=sink, local_app=local_app, capsys=capsys)


# --- R5 -------------------------------------------------------------------------------------------

R5_STAFF = 3
R5_RELAYED = 20  # relayed before the run; their confirmation and new-lead rows come due during it
R5_WAITING = 10  # left in the outbox for the beats' relay
DUE_CADENCES = ("confirmation", "staff_new_lead", "staff_digest")


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


def relay_in_process(app) -> None:
    """What ``outbox.relay`` and ``routing.route_lead`` do, run here instead of in a worker."""
    with app.app_context():
        now = utcnow()
        for _name, kwargs in relay.relay_outbox(now=now):
            routing.route_lead(lead_id=kwargs["lead_id"], now=now)
            if kwargs["trigger"] == "inquiry.completed":
                routing.reroute_if_better(lead_id=kwargs["lead_id"], now=now)
        db.session.commit()


def spread_due_times(app, *, over: float) -> int:
    """Make the planned confirmation and new-lead rows come due one by one over ``over`` s."""
    with app.app_context():
        rows = db.session.scalars(
            db.select(Send)
            .where(Send.cadence.in_(DUE_CADENCES), Send.status == "scheduled")
            .order_by(Send.id)
        ).all()
        start = utcnow()
        for position, row in enumerate(rows):
            row.due_at = start + timedelta(seconds=over * position / len(rows))
        db.session.commit()
        return len(rows)


def ledger(app) -> list[Send]:
    with app.app_context():
        rows = db.session.scalars(db.select(Send).order_by(Send.id)).all()
        db.session.expunge_all()
        return rows


def ledger_hash(row: Send) -> str:
    return hashlib.sha256(row.key.encode()).hexdigest()


@pytest.mark.timeout(R5_SECONDS + 300)
def test_r5_two_beats_get_each_periodic_job_done_once(settings, sink, local_app, capsys):
    staff = add_coordinators(local_app, R5_STAFF)
    complete_in_process(local_app, range(R5_RELAYED))
    relay_in_process(local_app)
    spread = spread_due_times(local_app, over=R5_SECONDS * 2 / 3)
    complete_in_process(local_app, range(R5_RELAYED, R5_RELAYED + R5_WAITING))
    patients = R5_RELAYED + R5_WAITING

    started = time.monotonic()
    with ExitStack() as stack:
        stack.enter_context(celery_process(settings, *WORKER_ARGS))
        beats = [
            stack.enter_context(
                celery_process(
                    settings,
                    "beat",
                    f"--schedule={os.path.join(settings['INTAKE_INSTANCE_PATH'], f'beat-{n}')}",
                )
            )
            for n in range(2)
        ]
        for _half in range(2):  # the digest's crontab will not come round: each beat's share
            publish(settings, "periodic.staff_digest")
            publish(settings, "periodic.staff_digest")
            time.sleep(R5_SECONDS / 2)
        beats_alive = sum(beat.poll() is None for beat in beats)
        settled = wait_until(lambda: _ledger_settled(local_app), timeout=60, every=1.0)
        time.sleep(3)  # a late duplicate would show up here
    wall = time.monotonic() - started

    rows = ledger(local_app)
    due = [row for row in rows if row.cadence in DUE_CADENCES]
    sent = [row for row in rows if row.status == "sent"]
    by_cadence = Counter(row.cadence for row in sent)
    keys = idempotency_keys(sink)
    expected = {ledger_hash(row) for row in sent}
    with sink.lock:
        digests = Counter(str(m["To"]) for m in sink.messages if m["Subject"] == "Your leads today")
    with local_app.app_context():
        events = db.session.scalars(db.select(OutboxEvent)).all()
        claims = Counter(event.attempts for event in events if event.published_at is not None)
        unpublished = sum(event.published_at is None for event in events)
    report(
        capsys,
        f"DRILL R5 seconds={R5_SECONDS} wall={wall:.0f}s beats={len(beats)} "
        f"beats_alive={beats_alive} workers=1 patients={patients} staff={R5_STAFF} "
        f"due_rows={len(due)} spread_rows={spread} sent={len(sent)} "
        f"confirmations={by_cadence['confirmation']} new_lead={by_cadence['staff_new_lead']} "
        f"digests={dict(sorted(digests.items()))} emails={sum(keys.values())} "
        f"duplicates={duplicates(keys)} resent_rows={sum(row.attempts != 1 for row in sent)} "
        f"events={len(events)} unpublished={unpublished} event_claims={dict(claims)}",
    )
    assert beats_alive == 2
    assert settled, [(row.cadence, row.status) for row in due if row.status != "sent"]
    assert all(row.status == "sent" for row in due)
    assert by_cadence["confirmation"] == patients and by_cadence["staff_new_lead"] == patients
    assert digests == {email: 1 for email in staff}
    assert duplicates(keys) == 0 and set(keys) == expected
    assert all(row.attempts == 1 for row in sent)
    assert unpublished == 0 and set(claims) == {1}


# --- R4 -------------------------------------------------------------------------------------------

R4_PATIENTS = 30
R4_SMTP_DELAY = 0.3  # seconds per message at the sink, so the worker is busy through the restarts
BEAT_ROUND = ("periodic.route_unrouted", "periodic.sweep_sla", "periodic.sweep_sends")


def quiet(sink: Sink, *, for_seconds: float, timeout: float) -> bool:
    """Wait until no message has arrived for ``for_seconds``."""
    seen = [len(sink.messages), time.monotonic()]

    def still() -> bool:
        if len(sink.messages) != seen[0]:
            seen[0], seen[1] = len(sink.messages), time.monotonic()
        return time.monotonic() - seen[1] >= for_seconds

    return bool(wait_until(still, timeout=timeout, every=0.25))


def let_time_pass(app) -> int:
    """Move the clock on past the sweep's re-enqueue wait and the send-claim timeout, for the
    rows handed to a worker that never did them; returns how many."""
    with app.app_context():
        past = utcnow() - timedelta(seconds=app.config["INTAKE_SEND_REENQUEUE_AFTER"] + 60)
        stale = utcnow() - timedelta(seconds=app.config["INTAKE_SEND_CLAIM_TIMEOUT"] + 60)
        handed = db.session.execute(
            db.update(Send)
            .where(Send.status == "scheduled", Send.enqueued_at.is_not(None))
            .where(Send.due_at <= utcnow())
            .values(enqueued_at=past)
        ).rowcount
        claimed = db.session.execute(
            db.update(Send).where(Send.status == "sending").values(claimed_at=stale)
        ).rowcount
        db.session.commit()
        return handed + claimed


class Restarting:
    """A worker kept running the way production's ``restart: unless-stopped`` keeps it: started
    again (at most ``limit`` times) whenever it exits; ``restarts`` counts how often."""

    def __init__(self, settings, limit: int = 5) -> None:
        self.settings, self.limit, self.restarts = settings, limit, 0
        self.started: list = []
        self.stopping = threading.Event()
        self.watcher = threading.Thread(target=self._watch, daemon=True)

    def _start(self) -> None:
        manager = celery_process(self.settings, *WORKER_ARGS)
        self.worker = manager.__enter__()
        self.started.append(manager)

    def __enter__(self):
        self._start()
        self.watcher.start()
        return self

    def _watch(self) -> None:
        while not self.stopping.wait(0.5) and self.restarts < self.limit:
            if self.worker.poll() is not None:
                self.restarts += 1
                self._start()

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self.watcher.join(timeout=10)
        for manager in reversed(self.started):
            with suppress(ProcessLookupError):  # that one had died, and its children with it
                manager.__exit__(None, None, None)


def unrouted(app) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(db.select(Lead.id).where(Lead.owner_id.is_(None))))


@pytest.mark.timeout(300)
def test_r4_a_canary_completes_soon_after_three_redis_restarts_and_nothing_is_lost(
    settings, broker, sink, local_app, capsys
):
    sink.delay = R4_SMTP_DELAY
    add_coordinators(local_app, 2)
    complete_in_process(local_app, range(R4_PATIENTS))
    canary_email = patient_email(R4_PATIENTS)

    with Restarting(settings) as worker:
        publish(settings, "outbox.relay")
        busy = wait_until(lambda: 0 < len(sink.messages) < 2 * R4_PATIENTS, timeout=60, every=0.1)
        restarts_began = time.monotonic()
        for _ in range(R4_RESTARTS):  # no persistence: each restart empties every queue
            broker.stop()
            broker.start()
            time.sleep(2.0)
        last_restart = time.monotonic()
        sent_before = len(sink.messages)
        complete_in_process(local_app, [R4_PATIENTS])
        publish(settings, "outbox.relay")
        canary = wait_until(lambda: sink.to(canary_email), timeout=R4_CANARY_DEADLINE, every=0.2)
        canary_seconds = time.monotonic() - last_restart
        quiet(sink, for_seconds=5, timeout=60)
        recovered = let_time_pass(local_app)  # the 5-minute re-enqueue, without the 5 minutes
        publish(settings, *BEAT_ROUND)  # what beat sends within its next minute
        settled = wait_until(lambda: _ledger_settled(local_app), timeout=60, every=1.0)
        quiet(sink, for_seconds=3, timeout=30)
    rows = ledger(local_app)
    left_behind = [row for row in rows if row.due_at <= utcnow() and row.status != "sent"]
    sent = Counter(row.cadence for row in rows if row.status == "sent")
    keys = idempotency_keys(sink)
    lost_routes = unrouted(local_app)
    report(
        capsys,
        f"DRILL R4 restarts={R4_RESTARTS} within={last_restart - restarts_began:.1f}s "
        f"worker_busy={bool(busy)} worker_crashes={worker.restarts} "
        f"emails_before_restarts={sent_before} "
        f"canary={'yes' if canary else 'no'} canary_after={canary_seconds:.1f}s "
        f"rows_needing_reenqueue={recovered} settled={bool(settled)} "
        f"confirmations={sent['confirmation']}/{R4_PATIENTS + 1} "
        f"new_lead_notices={sent['staff_new_lead']}/{R4_PATIENTS + 1} "
        f"left_behind={len(left_behind)} "
        f"unrouted_leads={len(lost_routes)}/{R4_PATIENTS + 1} emails={sum(keys.values())} "
        f"duplicates={duplicates(keys)}",
    )
    assert busy
    assert last_restart - restarts_began <= 10.0
    assert canary and canary_seconds <= R4_CANARY_DEADLINE
    assert duplicates(keys) == 0
    assert not left_behind, [(row.cadence, row.status) for row in left_behind]
    assert not lost_routes, f"{len(lost_routes)} leads never routed"
    assert sent["confirmation"] == sent["staff_new_lead"] == R4_PATIENTS + 1
