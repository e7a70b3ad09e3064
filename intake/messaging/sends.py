"""The send ledger: schedule each message once, claim it once, record what happened.

Every message a worker sends — to a patient or to staff — is a row keyed by what it is (lead,
cadence, step). Scheduling the same key twice does nothing; delivering claims the row with a
conditional update, so two workers, two beats or a redelivered task never send it twice
(``intake.messaging.delivery``). Here too: the beat's sweep that hands due rows to workers, and
what staff do with a row that gave up.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, or_, update

from intake.extensions import db, dialect_insert
from intake.models import Send

PATIENT_CADENCES = ("confirmation", "resume_reminder", "resume_link", "nurture")
# What a member of staff wrote to the patient (intake.conversations.outgoing): its own cadence,
# so closing a lead, which stops the automatic ones, leaves a message staff chose to send.
CONVERSATION = "conversation"


def claim_timeout() -> timedelta:
    """How long a worker's claim holds: a row still "sending" after that was abandoned."""
    return timedelta(seconds=current_app.config["INTAKE_SEND_CLAIM_TIMEOUT"])


def send_key(*parts: object) -> str:
    return ":".join(str(part) for part in parts)


def schedule_send(
    *,
    key: str,
    cadence: str,
    template: str,
    due_at: datetime,
    now: datetime,
    step: int = 0,
    lead_id: int | None = None,
    inquiry_id: int | None = None,
    staff_user_id: int | None = None,
    channel: str = "email",
    consult_id: int | None = None,
) -> bool:
    """Add a message to the ledger unless its key is already there; True when added."""
    statement = (
        dialect_insert()(Send)
        .values(
            key=key,
            cadence=cadence,
            step=step,
            template=template,
            channel=channel,
            due_at=due_at,
            created_at=now,
            lead_id=lead_id,
            inquiry_id=inquiry_id,
            staff_user_id=staff_user_id,
            consult_id=consult_id,
            status="scheduled",
            attempts=0,
        )
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(Send.id)
    )
    # rowcount is -1 for this statement on PostgreSQL: a returned id is the reliable answer.
    return db.session.execute(statement).first() is not None


def cancel_sends(
    *,
    lead_id: int,
    cadences: tuple[str, ...] | None = None,
    reason: str,
    now: datetime,
    channel: str | None = None,
) -> int:
    """Cancel the lead's still-scheduled messages of these cadences (None: of every cadence),
    only those of one ``channel`` ("email" or "text") when given; returns how many."""
    where = [Send.lead_id == lead_id, Send.status == "scheduled"]
    if cadences is not None:
        where.append(Send.cadence.in_(cadences))
    if channel is not None:
        where.append(Send.channel == channel)
    return db.session.execute(
        update(Send)
        .where(*where)
        .values(status="cancelled", finished_reason=reason, claimed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount


def _reenqueue_after() -> timedelta:
    return timedelta(seconds=current_app.config["INTAKE_SEND_REENQUEUE_AFTER"])


def due_send_ids(*, now: datetime, limit: int = 500) -> list[int]:
    """Rows due now (or abandoned mid-send) not handed to a worker lately; marks them handed."""
    stale = now - claim_timeout()
    query = (
        db.select(Send.id)
        .where(
            or_(
                and_(Send.status == "scheduled", Send.due_at <= now),
                and_(Send.status == "sending", Send.claimed_at < stale),
            ),
            or_(Send.enqueued_at.is_(None), Send.enqueued_at < now - _reenqueue_after()),
        )
        .order_by(Send.due_at)
        .limit(limit)
    )
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(db.session.scalars(query))
    _give_up_on_abandoned(ids, now)
    ids = list(
        db.session.scalars(db.select(Send.id).where(Send.id.in_(ids), Send.status != "dead"))
    )
    if ids:
        db.session.execute(
            update(Send)
            .where(Send.id.in_(ids))
            .values(enqueued_at=now)
            .execution_options(synchronize_session=False)
        )
    return ids


def _give_up_on_abandoned(ids: list[int], now: datetime) -> None:
    """A row whose workers kept dying mid-send has had its tries: it goes dead, not again."""
    if ids:
        db.session.execute(
            update(Send)
            .where(
                Send.id.in_(ids),
                Send.status == "sending",
                Send.attempts >= current_app.config["INTAKE_SEND_MAX_ATTEMPTS"],
            )
            .values(status="dead", finished_reason="gave_up")
            .execution_options(synchronize_session=False)
        )


def retry_dead(*, send_id: int, now: datetime) -> bool:
    """Staff asked to try a dead row again."""
    return (
        db.session.execute(
            update(Send)
            .where(Send.id == send_id, Send.status == "dead")
            .values(
                status="scheduled", due_at=now, attempts=0, enqueued_at=None, finished_reason=None
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        == 1
    )


def discard_dead(*, send_id: int, now: datetime) -> bool:
    """Staff gave up on a dead row for good: it is cancelled and never tried again."""
    return (
        db.session.execute(
            update(Send)
            .where(Send.id == send_id, Send.status == "dead")
            .values(status="cancelled", finished_reason="discarded")
            .execution_options(synchronize_session=False)
        ).rowcount
        == 1
    )
