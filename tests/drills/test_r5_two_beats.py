"""Drill R5 (QUALITY.md): two beats at once; every periodic job is still done exactly once."""

from __future__ import annotations

import hashlib
import os
import time
from collections import Counter
from contextlib import ExitStack
from datetime import timedelta

import pytest

from intake import jobs
from intake.extensions import db
from intake.models import OutboxEvent, Send
from intake.models.types import utcnow
from intake.routing import service as routing
from tests.drills.broker import (
    R5_SECONDS,
    WORKER_ARGS,
    add_coordinators,
    complete_in_process,
    duplicates,
    idempotency_keys,
    ledger,
    ledger_settled,
    publish,
    report,
)
from tests.live import poll
from tests.workers.conftest import celery_process

pytestmark = pytest.mark.drill

# --- R5 -------------------------------------------------------------------------------------------

R5_STAFF = 3
R5_RELAYED = 20  # relayed before the run; their confirmation and new-lead rows come due during it
R5_WAITING = 10  # left in the outbox for the beats' relay
DUE_CADENCES = ("confirmation", "staff_new_lead", "staff_digest")


def relay_in_process(app) -> None:
    """What ``outbox.relay`` and ``routing.route_lead`` do, run here instead of in a worker."""
    with app.app_context():
        now = utcnow()
        for event in jobs.relay_outbox(now=now):
            routing.route_lead(lead_id=event.lead_id, now=now)
            if event.trigger == "inquiry.completed":
                routing.reroute_if_better(lead_id=event.lead_id, now=now)
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
        settled = poll(lambda: ledger_settled(local_app), timeout=60, every=1.0)
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
