"""P6: follow-up email throughput through Celery into a local SMTP sink, against a raw smtplib
loop sending the same number of messages to the same sink, in the same run.

Project: a real ``celery -A workers.app worker`` process (prefork, ``--concurrency 4`` as
``intake worker`` starts it, Redis broker) and the project's own path: ``periodic.sweep_sends``
hands the due ledger rows to ``email.deliver`` tasks, up to 10 a task (``jobs.email_deliveries``:
N = 400 makes 40), which take their rows one after another: each is claimed with its row, lead,
inquiry, cadence settings, the consent in force and the lead's suppressions read, and the lead's
reply token made (this being its first email), in one statement (committed); then checked,
rendered, sent over the SMTP connection the pool process keeps open, and recorded (one UPDATE,
committed). Each round first adds N completed inquiries with a
confirmation due (untimed), then times from the sweep's publication to the sink's acceptance of
the N-th message.

Floor: one Python loop, one thread, that sends N copies of a message the project rendered
(same size), each over its own SMTP connection (connect, ``sendmail``, ``QUIT``), as the project
did per ledger row when the target was set; the project now keeps one connection per worker
process, the floor is left as it was so the figures stay comparable. Rounds alternate
(A B B A …); the figure is each side's median. Its own database and Redis database (not P1's).
"""

from __future__ import annotations

import logging
import smtplib
import tempfile
import time
from email import policy

from aiosmtpd.controller import Controller

from bench.harness import (
    BENCH_ENCRYPTION_KEY,
    BENCH_SECRET_KEY,
    bench_app,
    median,
    result,
)
from bench.p1_submit import drop_database, fresh_database
from tests.workers.conftest import Sink, celery_process, free_port

TARGET = 0.8
# Its own database and Redis database: P1 and P8 share theirs, and a scenario run alone beside
# them (another checkout's P1, say) must not drop or flush the other's.
DATABASE = "intake_bench_p6"
REDIS_URL = "redis://127.0.0.1:6379/12"
CONCURRENCY = 4  # `intake worker` default


def seed(app, first: int, count: int) -> None:
    """``count`` completed inquiries with email consent, each with its confirmation due now."""
    from intake.extensions import db
    from intake.models.types import utcnow
    from tests.factories import add_patient, schedule_step

    now = utcnow()
    with app.app_context():
        inquiries = [
            add_patient(number=n, time_zone="UTC", purposes=("contact_email",), now=now)
            for n in range(first, first + count)
        ]
        db.session.flush()
        for inquiry in inquiries:
            schedule_step("confirmation", inquiry, step=1, due_at=now, now=now)
        db.session.commit()
        db.session.remove()


def wait_for(sink: Sink, count: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sink.lock:
            if len(sink.messages) >= count:
                return True
        time.sleep(0.005)
    return False


def run(args) -> None:
    rounds, count = (2, 100) if args.quick else (5, 400)
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    url = fresh_database(DATABASE)
    sink, port = Sink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    smtp_url = f"smtp://127.0.0.1:{port}"
    instance = tempfile.mkdtemp(prefix="intake-bench-p6-")
    settings = {
        "DATABASE_URL": url,
        "REDIS_URL": REDIS_URL,
        "SMTP_URL": smtp_url,
        "SECRET_KEY": BENCH_SECRET_KEY,
        "INTAKE_ENCRYPTION_KEYS": BENCH_ENCRYPTION_KEY,
        "INTAKE_BASE_URL": "https://intake.bench",
        "INTAKE_INSTANCE_PATH": instance,
        "INTAKE_ENV": "testing",
    }
    app = bench_app(url, REDIS_URL=REDIS_URL, SMTP_URL=smtp_url)
    celery = app.extensions["celery"]
    import redis

    from intake.jobs import SWEEP_SENDS

    redis.Redis.from_url(REDIS_URL).flushdb()
    seeded, project_rates, floor_rates, timeouts = 0, [], [], 0
    try:
        with celery_process(
            settings,
            "worker",
            f"--concurrency={CONCURRENCY}",
            "--queues=default,email,routing,periodic",
            "--without-gossip",
            "--without-mingle",
            "--pool=prefork",
        ):

            def project() -> float:
                nonlocal seeded, timeouts
                seed(app, seeded, count)
                seeded += count
                with sink.lock:
                    target = len(sink.messages) + count
                started = time.perf_counter()
                celery.send_task(SWEEP_SENDS)
                if not wait_for(sink, target, timeout=120):
                    timeouts += 1
                return count / (time.perf_counter() - started)

            # Warm-up (untimed): the worker's children connect and load templates, and the
            # project renders the message the floor will send.
            seeded_warm = 20
            seed(app, seeded, seeded_warm)
            seeded += seeded_warm
            celery.send_task(SWEEP_SENDS)
            if not wait_for(sink, seeded_warm, timeout=120):
                raise RuntimeError(f"the worker sent nothing; see {instance}/celery-worker.log")
            with sink.lock:
                sample = sink.messages[0]
            payload = sample.as_bytes(policy=policy.SMTP)

            def floor() -> float:
                with sink.lock:
                    target = len(sink.messages) + count
                started = time.perf_counter()
                for _ in range(count):
                    smtp = smtplib.SMTP("127.0.0.1", port, timeout=10)
                    smtp.sendmail("no-reply@intake.local", [str(sample["To"])], payload)
                    smtp.quit()
                wait_for(sink, target, timeout=30)
                return count / (time.perf_counter() - started)

            for number in range(rounds):
                order = (floor, project) if number % 2 == 0 else (project, floor)
                for side in order:
                    (floor_rates if side is floor else project_rates).append(side())
    finally:
        controller.stop()
        redis.Redis.from_url(REDIS_URL).flushdb()
        drop_database(DATABASE)
    value, floor_value = median(project_rates), median(floor_rates)
    note = (
        f"{count} confirmations a round through a Celery worker (prefork x{CONCURRENCY}, "
        f"Redis) vs one smtplib loop, a connection per message; {rounds} rounds "
        f"alternating; rounds msg/s project={'/'.join(f'{r:.0f}' for r in project_rates)} "
        f"floor={'/'.join(f'{r:.0f}' for r in floor_rates)}; timeouts={timeouts}"
    )
    passed = value >= TARGET * floor_value and timeouts == 0
    result("P6", value, floor_value, f">={TARGET}x_floor", passed, unit="msg/s", note=note)
