"""Shared parts for the worker drills: the tests/workers fixtures on PostgreSQL only (the
production shape), an SMTP sink that takes a little time to accept each message and notes when
it did, a loopback text provider that does the same for texts, Celery workers that a drill may
``kill -9`` (and the ways to kill them and to put their orphaned messages back), and the
one-line ``DRILL`` report."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest
import redis
from aiosmtpd.controller import Controller
from flask_migrate import upgrade

from intake import create_app
from intake.config import celery_settings
from intake.crypto import generate_key
from intake.extensions import db
from intake.jobs import SWEEP_SENDS
from tests.conftest import empty_tables
from tests.drills.broker import DrillSink, ThrowawayRedis
from tests.drills.provider import DrillTextProvider
from tests.live import poll
from tests.workers.conftest import (  # noqa: F401 (fixtures, used by name)
    Sink,
    free_port,
    smtp_sink,
    start_worker,
    stop_process_group,
    worker_app,
    worker_settings,
)

WORKER_QUEUES = "--queues=default,email,routing,periodic"


@pytest.fixture(scope="session")
def database_url(postgres_url):
    """The drills run on PostgreSQL only, migrated once: the production shape."""
    app = create_app({"INTAKE_ENV": "testing", "SQLALCHEMY_DATABASE_URI": postgres_url})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return postgres_url


class TimedSink(Sink):
    """A Sink that takes ``delay`` seconds to accept each message, notes when it did, and can
    be told to hold new messages back or to be slow saying goodbye to chosen ones.

    A message counts as accepted when the sink keeps it and answers ``250``. Every pause comes
    before that: a client that dies during one never got its ``250`` (aiosmtpd cancels the
    handler when the connection drops), so, as with a real server, nothing was accepted."""

    def __init__(self) -> None:
        super().__init__()
        self.delay = 0.0
        self.received_at: list[datetime] = []
        self.counts: Counter = Counter()
        self.paused = False  # hold every new message before accepting it
        # accepted messages (1-based) after which the next command on their connection waits
        self.slow_goodbyes: set[int] = set()
        self.goodbye_wait = 3.0  # within R1's soft time limit (8 s)
        self.goodbyes_held = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's API)
        if self.delay:
            await asyncio.sleep(self.delay)
        for _ in range(3000):  # at most 30 s
            if not self.paused:
                break
            await asyncio.sleep(0.01)
        message = message_from_bytes(envelope.content, policy=policy.default)
        key = str(message["X-Intake-Idempotency-Key"] or "").strip()
        with self.lock:
            self.messages.append(message)
            self.received_at.append(datetime.now(UTC))
            self.counts[key] += 1
            session.slow_goodbye = len(self.messages) in self.slow_goodbyes
        return "250 OK"

    async def _hold_what_comes_next(self, session) -> None:
        """After a chosen message, be slow to answer whatever its worker says next on that
        connection: its goodbye (QUIT), or on a connection it keeps, its next message (MAIL)."""
        if getattr(session, "slow_goodbye", False):
            session.slow_goodbye = False
            with self.lock:
                self.goodbyes_held += 1
            await asyncio.sleep(self.goodbye_wait)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802
        await self._hold_what_comes_next(session)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_QUIT(self, server, session, envelope):  # noqa: N802 (aiosmtpd's API)
        await self._hold_what_comes_next(session)
        return "221 Bye"

    @property
    def accepted(self) -> int:
        with self.lock:
            return len(self.messages)

    def keys(self) -> Counter:
        """How many messages arrived per ledger row (the idempotency header, stripped)."""
        with self.lock:
            return Counter(self.counts)

    def message_ids(self) -> set[str]:
        with self.lock:
            return {str(m["Message-ID"]).strip() for m in self.messages}


@pytest.fixture
def sink_class():
    """The drills' SMTP sink records when each message arrived and how each session ended."""
    return TimedSink


def duplicates(keys: Counter) -> int:
    return sum(count - 1 for count in keys.values() if count > 1)


QUEUES = ("default", "email", "routing", "periodic")


def queues_idle(redis_url: str, *, orphans: int = 0) -> bool:
    """Nothing waiting in a queue, and nothing delivered but unacknowledged beyond ``orphans``
    (messages a killed worker left behind, which kombu restores only after the broker's
    visibility timeout)."""
    client = redis.Redis.from_url(redis_url)
    waiting = sum(client.llen(name) for name in QUEUES)
    return waiting == 0 and client.hlen("unacked") <= orphans


def unacked(redis_url: str) -> int:
    return redis.Redis.from_url(redis_url).hlen("unacked")


class KillableWorkers:
    """Celery worker processes, each the leader of its own process group, that a drill may
    ``kill -9`` whole (main process and pool children); the survivors are stopped after.

    ``env`` adds settings for these workers only (e.g. shorter timeouts, which intake.config
    reads from the environment)."""

    def __init__(self, settings: dict, env: dict | None = None) -> None:
        self.env = {**os.environ, **settings, **(env or {})}
        self.processes: list[subprocess.Popen] = []
        self.log_path = os.path.join(settings["INTAKE_INSTANCE_PATH"], "celery-drill-worker.log")

    def start(self, *, concurrency: int = 4) -> subprocess.Popen:
        args = [
            sys.executable, "-m", "celery", "-A", "workers.app", "worker",
            f"--concurrency={concurrency}", WORKER_QUEUES, "--without-gossip",
            "--without-mingle", "--pool=prefork", "--loglevel=WARNING",
        ]  # fmt: skip
        with open(self.log_path, "ab") as log:
            process = subprocess.Popen(
                args, env=self.env, start_new_session=True, stdout=log, stderr=subprocess.STDOUT
            )
        self.processes.append(process)
        return process

    @staticmethod
    def kill(process: subprocess.Popen) -> None:
        """SIGKILL the worker's whole process group: nothing gets to ack, reject or restore."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    @staticmethod
    def stop(process: subprocess.Popen) -> None:
        """A warm shutdown (SIGTERM), as a deploy would do it; SIGKILL after 20 s."""
        if process.poll() is None:
            stop_process_group(process)

    def stop_all(self) -> None:
        for process in self.processes:
            self.stop(process)


@pytest.fixture
def killable_workers(worker_settings):  # noqa: F811 (the imported fixture, by name)
    """Build a KillableWorkers for this test's settings; every one still running is stopped."""
    made: list[KillableWorkers] = []

    def build(env: dict | None = None) -> KillableWorkers:
        made.append(KillableWorkers(worker_settings, env))
        return made[-1]

    yield build
    for workers in made:
        workers.stop_all()


@dataclass
class Kill:
    at_accepted: int
    at_seconds: float


def kill_while_every_message_is_recorded(
    sink, workers, worker, kills: list[Kill], started: float, *, also=()
):
    """Hold new messages back before acceptance (at the SMTP sink, and at every one of ``also``
    that can pause: the text provider), give every accepted one time to be recorded as sent,
    then kill -9: no message is between its acceptance and its ledger commit."""
    receivers = (sink, *also)
    for receiver in receivers:
        receiver.paused = True
    time.sleep(2.0)
    workers.kill(worker)
    accepted = sum(receiver.accepted for receiver in receivers)
    kills.append(Kill(accepted, round(time.monotonic() - started, 1)))
    time.sleep(0.5)  # the dead connections' handlers are cancelled, never accepted
    for receiver in receivers:
        receiver.paused = False


def restore_orphans(*, redis_url: str, workers, worker, last_kill: float, visibility: float):
    """Once the killed workers' messages are older than the visibility timeout, start a fresh
    worker: its start-up scan puts them back, marked redelivered, and they must change nothing.
    Returns the new worker and how many messages were put back."""
    orphans = unacked(redis_url)
    visible_at = last_kill + visibility + 1
    time.sleep(max(0.0, visible_at - time.monotonic()))
    workers.stop(worker)
    worker = workers.start(concurrency=4)
    assert poll(lambda: queues_idle(redis_url), timeout=45), unacked(redis_url)
    return worker, orphans


@dataclass
class Batch:
    worker: subprocess.Popen  # the one running at the end
    kills: list[Kill]
    started: float  # time.monotonic() when the first worker started
    seconds: float


def drive_through_kills(
    *, app, workers, thresholds, landed, kill, done, deadline: float, sweep_every: float
) -> Batch:
    """Start a worker and sweep the ledger every ``sweep_every`` seconds, as beat would, only
    more often; each time ``landed()`` (messages received) reaches the next of ``thresholds``,
    ``kill(workers, worker, kills, started)`` and start a fresh worker; until ``done()`` (asked
    every second) or ``deadline`` seconds."""
    started = time.monotonic()
    worker = workers.start(concurrency=4)
    kills: list[Kill] = []
    next_sweep = next_check = 0.0
    while time.monotonic() - started < deadline:
        now = time.monotonic()
        if now >= next_sweep:
            app.extensions["celery"].send_task(SWEEP_SENDS)
            next_sweep = now + sweep_every
        if len(kills) < len(thresholds) and landed() >= thresholds[len(kills)]:
            kill(workers, worker, kills, started)
            worker = workers.start(concurrency=4)
        if now >= next_check:
            if done():
                break
            next_check = now + 1.0
        time.sleep(0.02)
    return Batch(worker, kills, started, time.monotonic() - started)


@pytest.fixture
def text_provider():
    """The loopback text provider (tests/drills/provider.py); its ``url`` is the SMS_URL."""
    provider = DrillTextProvider()
    provider.start()
    try:
        yield provider
    finally:
        provider.stop()


@pytest.fixture
def drill_report(request, capsys):
    """Print a drill's figures as one ``DRILL <id> ...`` line, shown with or without ``-s``."""

    def report(drill_id: str, **figures) -> str:
        line = " ".join([f"DRILL {drill_id}", *(f"{k}={v}" for k, v in figures.items())])
        request.node.user_properties.append(("drill", line))
        with capsys.disabled():
            print(f"\n{line}", flush=True)
        return line

    return report


# --- the broker drills' own Redis, SMTP sink, settings and app ------------------------------------


@pytest.fixture
def broker(tmp_path):
    server = ThrowawayRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


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
