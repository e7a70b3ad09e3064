"""Running a job's dry run or import a batch at a time under a lease.

The worker running a stage holds the job's lease (``lease_owner``, ``lease_until``) and renews
it at the start of each batch's transaction; on PostgreSQL that UPDATE also locks the job row
until the batch commits, so a second worker that took the job after the lease ran out cannot
interleave with a batch still being written, and a worker that lost its lease stops. A job
whose lease ran out (its worker was killed) is taken again by ``stale_jobs``' sweep."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from intake.extensions import db
from intake.models import ImportJob

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
QUEUED = "queued"  # the sweep's mark on a job it handed to a worker that has not started yet
RUNNING = ("checking", "importing")


def new_owner() -> str:
    return uuid.uuid4().hex


def claim(job_id: int, *, stage: str, owner: str, now: datetime, lease: timedelta = LEASE) -> bool:
    """Take the job's ``stage`` if nobody holds it (or the sweep queued it); commit after."""
    return bool(
        db.session.execute(
            update(ImportJob)
            .where(
                ImportJob.id == job_id,
                ImportJob.status == stage,
                or_(
                    ImportJob.lease_until.is_(None),
                    ImportJob.lease_until < now,
                    ImportJob.lease_owner == QUEUED,
                ),
            )
            .values(lease_owner=owner, lease_until=now + lease)
            .execution_options(synchronize_session=False)
        ).rowcount
    )


def renew(job_id: int, *, stage: str, owner: str, now: datetime, lease: timedelta = LEASE) -> bool:
    """Extend our lease (and lock the job until commit); False when it is no longer ours."""
    return bool(
        db.session.execute(
            update(ImportJob)
            .where(
                ImportJob.id == job_id, ImportJob.status == stage, ImportJob.lease_owner == owner
            )
            .values(lease_until=now + lease)
            .execution_options(synchronize_session=False)
        ).rowcount
    )


def release(job_id: int, *, owner: str) -> None:
    db.session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id, ImportJob.lease_owner == owner)
        .values(lease_owner=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )


def fail(job_id: int, *, owner: str, why: str) -> None:
    """Mark the job failed (the admin may resume it), naming the error's kind, not its text."""
    db.session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id, ImportJob.lease_owner == owner)
        .values(status="failed", failure=why[:300], lease_owner=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )


def stale_jobs(*, now: datetime, lease: timedelta = LEASE) -> list[tuple[int, str]]:
    """Jobs waiting for a worker (new, resumed, or whose worker vanished), marked as queued
    for one lease so the next sweep does not hand them out again; the caller commits, then
    starts a task for each (id, status)."""
    rows = db.session.execute(
        select(ImportJob.id, ImportJob.status)
        .where(
            ImportJob.status.in_(RUNNING),
            or_(ImportJob.lease_until.is_(None), ImportJob.lease_until < now),
        )
        .order_by(ImportJob.id)
    ).all()
    for job_id, _status in rows:
        db.session.execute(
            update(ImportJob)
            .where(ImportJob.id == job_id)
            .values(lease_owner=QUEUED, lease_until=now + lease)
            .execution_options(synchronize_session=False)
        )
    return [(job_id, status) for job_id, status in rows]


def run_stage(
    job_id: int,
    *,
    stage: str,
    step: Callable[[int, datetime], bool],
    clock: Callable[[], datetime],
    commit: Callable[[], None],
    owner: str | None = None,
    budget_seconds: float | None = None,
    lease: timedelta = LEASE,
) -> str:
    """Claim the job's ``stage`` and call ``step(job_id, now)`` once per batch, each in its own
    transaction begun by renewing the lease, until it says it is finished ("done"), the lease
    is lost ("lost"), ``budget_seconds`` pass ("paused": the lease is released for the next
    task), or a batch raises ("failed": the job is marked so, its committed batches kept).
    "busy" when another worker holds it."""
    owner = owner or new_owner()
    if not claim(job_id, stage=stage, owner=owner, now=clock(), lease=lease):
        db.session.rollback()
        return "busy"
    commit()
    started = time.monotonic()
    while True:
        now = clock()
        if not renew(job_id, stage=stage, owner=owner, now=now, lease=lease):
            db.session.rollback()
            return "lost"
        try:
            finished = step(job_id, now)
        except Exception as error:  # a row that breaks the run: stop, say so, keep the rest
            db.session.rollback()
            fail(job_id, owner=owner, why=type(error).__name__)
            commit()
            # The kind of error only: its text could quote a cell of the file.
            detail = {"job_id": job_id, "stage": stage, "error": type(error).__name__}
            logger.error("import stage failed", extra=detail)
            return "failed"
        if finished:
            release(job_id, owner=owner)
        commit()
        db.session.expunge_all()  # a long run keeps no batch's objects
        if finished:
            return "done"
        if budget_seconds is not None and time.monotonic() - started > budget_seconds:
            release(job_id, owner=owner)
            commit()
            return "paused"
