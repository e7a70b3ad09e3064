"""Real parts for the worker tests: an aiosmtpd sink, Redis, and Celery worker and beat
processes running ``workers.app`` against the test database; helpers that drive and watch them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
import redis
from aiosmtpd.controller import Controller

from intake.config import celery_settings
from intake.crypto import generate_key
from intake.extensions import db
from intake.messaging.followups import plan_followups
from intake.models import Lead, Send
from intake.models.types import utcnow
from intake.routing.service import ensure_default_routing
from tests.factories import make_staff
from tests.live import free_port


class Sink:
    """Collects every message an SMTP client hands over."""

    def __init__(self) -> None:
        self.messages: list = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's API)
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def to(self, address: str) -> list:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]

    def wait_for(self, predicate, timeout: float = 60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                found = [m for m in self.messages if predicate(m)]
            if found:
                return found
            time.sleep(0.2)
        raise AssertionError(f"no such message within {timeout} s; got {len(self.messages)}")


def stop_process_group(process: subprocess.Popen, first: int = signal.SIGTERM) -> None:
    """Stop a process started with ``start_new_session=True`` and every child it made: ``first``
    to the group, then SIGKILL if it is still there after 20 s."""
    os.killpg(process.pid, first)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture
def sink_class():
    """The SMTP handler class; the drills override it with one that records timings."""
    return Sink


@pytest.fixture
def smtp_sink(sink_class):
    sink, port = sink_class(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, f"smtp://127.0.0.1:{port}"
    finally:
        controller.stop()


@pytest.fixture
def worker_settings(database_url, redis_url, smtp_sink, tmp_path):
    """Settings shared by the test's app and the worker processes (same keys, same stores)."""
    redis.Redis.from_url(redis_url).flushdb()
    settings = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SMTP_URL": smtp_sink[1],
        "SECRET_KEY": "worker-tests-" + "k" * 40,
        "INTAKE_ENCRYPTION_KEYS": generate_key(),
        "INTAKE_BASE_URL": "https://intake.test",
        "INTAKE_INSTANCE_PATH": str(tmp_path),
        "INTAKE_ENV": "testing",
    }
    yield settings
    redis.Redis.from_url(redis_url).flushdb()


@pytest.fixture
def worker_app(worker_settings, app_factory):
    """The web side of the test, configured exactly like the workers."""
    app = app_factory(
        SQLALCHEMY_DATABASE_URI=worker_settings["DATABASE_URL"],
        REDIS_URL=worker_settings["REDIS_URL"],
        SMTP_URL=worker_settings["SMTP_URL"],
        SECRET_KEY=worker_settings["SECRET_KEY"],
        INTAKE_ENCRYPTION_KEYS=[worker_settings["INTAKE_ENCRYPTION_KEYS"]],
        INTAKE_BASE_URL=worker_settings["INTAKE_BASE_URL"],
        CELERY=celery_settings(worker_settings["REDIS_URL"], None),
    )
    return app


@contextmanager
def celery_process(settings: dict, *args: str, loglevel: str = "WARNING"):
    """A ``celery -A workers.app`` process; stopped (and its children) at the end."""
    env = {**os.environ, **settings}
    log_path = os.path.join(settings["INTAKE_INSTANCE_PATH"], f"celery-{args[0]}.log")
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "workers.app", *args, f"--loglevel={loglevel}"],
            env=env,
            start_new_session=True,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        stop_process_group(process)


@pytest.fixture
def start_worker(worker_settings):
    """Start a worker (and optionally beat) when the test is ready; stopped after it."""
    with ExitStack() as stack:

        def start(*, concurrency: int = 2, beat: bool = False, loglevel: str = "WARNING"):
            worker = stack.enter_context(
                celery_process(
                    worker_settings,
                    "worker",
                    f"--concurrency={concurrency}",
                    "--queues=default,email,routing,periodic",
                    "--without-gossip",
                    "--without-mingle",
                    "--pool=prefork",
                    loglevel=loglevel,
                )
            )
            if beat:
                schedule = os.path.join(worker_settings["INTAKE_INSTANCE_PATH"], "schedule")
                stack.enter_context(
                    celery_process(
                        worker_settings, "beat", f"--schedule={schedule}", loglevel=loglevel
                    )
                )
            return worker

        yield start


# The pipeline, driven and watched ----------------------------------------------------------------

PATIENT = "ada.byron@example.org"
# To the last microsecond: a shift ending "23:59" leaves the day's last minute uncovered.
ALWAYS = {"days": [0, 1, 2, 3, 4, 5, 6], "start": "00:00", "end": "23:59:59.999999"}


def add_coordinator(app, email="coordinator@clinic.example") -> int:
    with app.app_context():
        user = make_staff(name="Cora", email=email, working_hours=ALWAYS)
        ensure_default_routing(now=utcnow())
        db.session.commit()
        return user.id


def the_lead(app) -> Lead:
    with app.app_context():
        lead = db.session.scalars(db.select(Lead)).one()
        lead.first_inquiry_id = lead.inquiries[0].id  # loaded while the session is open
        return lead


def sends(app, cadence: str) -> list[Send]:
    with app.app_context():
        return db.session.scalars(
            db.select(Send).where(Send.cadence == cadence).order_by(Send.step)
        ).all()


def zone_where_it_is(local_hour: int) -> str:
    """A fixed-offset zone where the clock now reads ``local_hour``, so a test of quiet hours
    (or one that must not meet them) holds whenever it runs: "UTC" is night after 20:00 UTC."""
    offset = (local_hour - utcnow().hour + 12) % 24 - 12  # -12 .. 11, all real Etc/GMT zones
    # The Etc/GMT names are POSIX-style, the sign inverted: Etc/GMT-5 is UTC+5.
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


def first_nurture_step_due_now(app, lead: Lead, *, zone: str) -> int:
    """Plan the lead's follow-ups as the relay would, then move the clock past step 1."""
    with app.app_context():
        db.session.get(Lead, lead.id).time_zone = zone
        plan_followups(
            topic="inquiry.completed",
            lead_id=lead.id,
            inquiry_id=lead.first_inquiry_id,
            now=utcnow(),
        )
        step = db.session.scalars(db.select(Send).where(Send.cadence == "nurture")).first()
        step.due_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
        return step.id


def publish(app, task: str, **kwargs) -> None:
    app.extensions["celery"].send_task(task, kwargs=kwargs)
