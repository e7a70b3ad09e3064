"""Drill R4 (QUALITY.md): Redis restarted three times in a few seconds under a busy worker;
a canary inquiry still completes soon after, and nothing is lost or sent twice."""

from __future__ import annotations

import threading
import time
from collections import Counter
from contextlib import suppress
from datetime import timedelta

import pytest

from intake.extensions import db
from intake.models import Lead, Send
from intake.models.types import utcnow
from tests.drills.broker import (
    R4_CANARY_DEADLINE,
    R4_RESTARTS,
    WORKER_ARGS,
    add_coordinators,
    complete_in_process,
    duplicates,
    idempotency_keys,
    ledger,
    ledger_settled,
    patient_email,
    publish,
    report,
)
from tests.live import poll
from tests.workers.conftest import Sink, celery_process

pytestmark = pytest.mark.drill

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

    return bool(poll(still, timeout=timeout, every=0.25))


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
        busy = poll(lambda: 0 < len(sink.messages) < 2 * R4_PATIENTS, timeout=60, every=0.1)
        restarts_began = time.monotonic()
        for _ in range(R4_RESTARTS):  # no persistence: each restart empties every queue
            broker.stop()
            broker.start()
            time.sleep(2.0)
        last_restart = time.monotonic()
        sent_before = len(sink.messages)
        complete_in_process(local_app, [R4_PATIENTS])
        publish(settings, "outbox.relay")
        canary = poll(lambda: sink.to(canary_email), timeout=R4_CANARY_DEADLINE, every=0.2)
        canary_seconds = time.monotonic() - last_restart
        quiet(sink, for_seconds=5, timeout=60)
        recovered = let_time_pass(local_app)  # the 5-minute re-enqueue, without the 5 minutes
        publish(settings, *BEAT_ROUND)  # what beat sends within its next minute
        settled = poll(lambda: ledger_settled(local_app), timeout=60, every=1.0)
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
