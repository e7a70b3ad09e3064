"""The send ledger: schedule each message once, claim it once, record what happened.

Every message a worker sends — to a patient or to staff — is a row keyed by what it is (lead,
cadence, step). Scheduling the same key twice does nothing; delivering claims the row with a
conditional update, so two workers, two beats or a redelivered task never send it twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from intake.extensions import db, dialect_insert
from intake.models import Send

PATIENT_CADENCES = ("confirmation", "resume_reminder", "resume_link", "nurture")
# What a member of staff wrote to the patient (intake.conversations.outgoing): its own cadence,
# so closing a lead, which stops the automatic ones, leaves a message staff chose to send.
CONVERSATION = "conversation"


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
