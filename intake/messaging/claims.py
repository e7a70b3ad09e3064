"""Claiming a ledger row: the conditional update that makes one worker its only sender.

A row may be taken when it is due and not yet taken, or taken by a worker that has not finished
before the claim went stale (killed, say) and has attempts left. On PostgreSQL the claim is one
statement that also reads everything the send-time checks need (``claim_and_load``); elsewhere
it is an UPDATE alone (``claim_send``), the rest read afterwards (``intake.messaging.delivery``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cache

from flask import current_app
from sqlalchemy import and_, bindparam, case, exists, or_, update
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value

from intake.conversations import replies
from intake.extensions import db
from intake.messaging.cadence_texts import consent_for
from intake.messaging.cadences import load_cadences
from intake.messaging.mail import PATIENT_EMAIL_CADENCES
from intake.messaging.sends import CONVERSATION, claim_timeout
from intake.models import CadenceSetting, Consent, Inquiry, Lead, Send
from intake.models.sends import Suppression


def _claim_values(now: datetime, redelivered: bool) -> dict:
    """What ``_claimable`` compares with: now, when a claim is stale, the attempts allowed."""
    return {
        "now": now,
        "stale": now if redelivered else now - claim_timeout(),
        "max_attempts": current_app.config["INTAKE_SEND_MAX_ATTEMPTS"],
    }


def _claimable(now, stale, max_attempts):
    """A row a worker may take: due and not yet taken, or taken by a worker that has not
    finished by ``stale`` and with attempts left (values, or bound parameters)."""
    return or_(
        and_(Send.status == "scheduled", Send.due_at <= now),
        and_(Send.status == "sending", Send.claimed_at <= stale, Send.attempts < max_attempts),
    )


def claim_send(*, send_id: int, now: datetime, redelivered: bool = False) -> bool:
    """Take the row for this worker; False when it is not due, done, used up or someone
    else's."""
    result = db.session.execute(
        update(Send)
        .where(Send.id == send_id, _claimable(**_claim_values(now, redelivered)))
        .values(status="sending", claimed_at=now, attempts=Send.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def claims_and_reads_at_once() -> bool:
    """Whether ``claim_and_load`` may be used: PostgreSQL (a data-modifying WITH)."""
    return db.engine.dialect.name == "postgresql"


@cache
def _consent_purposes() -> dict[str, str]:
    """``cadence:channel`` → the consent purpose its messages need (cadences.yaml; an admin's
    override changes timing and switches, never the consent)."""
    return {
        f"{name}:{channel}": purpose
        for name, cadence in load_cadences().items()
        for channel in ("email", "text")
        if (purpose := consent_for(cadence, channel))
    }


def claim_and_load(*, send_id: int, now: datetime, redelivered: bool = False):
    """Claim the row and read what the send-time checks need, in one statement: the claimed
    row, its lead, inquiry and cadence override, and the lead's latest record for the consent
    the row's cadence needs; a patient email also gives its lead a reply token if it has none
    yet. None when the row cannot be claimed (as ``claim_send``).
    ``deliver_send`` commits the claim before anything is sent. PostgreSQL only
    (``claims_and_reads_at_once``)."""
    parameters = {
        "send_id": send_id,
        "reply_token": replies.new_token(),
        **_claim_values(now, redelivered),
    }
    loaded = db.session.execute(_claim_and_load_statement(), parameters).first()
    if loaded is not None and loaded.made_reply_token is not None:
        set_committed_value(loaded.Lead, "reply_token", loaded.made_reply_token)
    return loaded


def commit_claim(commit: Callable[[], None]) -> None:
    """Commit the claim, the rows read with it kept as read: the checks that follow need them
    and a commit would otherwise expire them, to be read again one by one."""
    session = db.session()
    expires, session.expire_on_commit = session.expire_on_commit, False
    try:
        commit()
    finally:
        session.expire_on_commit = expires


@cache
def _claim_and_load_statement():
    """Built once a process (bound parameters): building it costs more than running it."""
    now, stale = (
        bindparam("now", type_=Send.due_at.type),
        bindparam("stale", type_=Send.due_at.type),
    )
    claimed = (
        update(Send)
        .where(Send.id == bindparam("send_id"), _claimable(now, stale, bindparam("max_attempts")))
        .values(status="sending", claimed_at=now, attempts=Send.attempts + 1)
        .returning(*Send.__table__.c)
        .cte("claimed")
    )
    # A patient email's lead without a reply token gets it here (returned beside the lead as
    # read before), not in a statement of its own later (``replies.reply_address``), unless
    # another transaction holds the lead: never waited for (it may be waiting for this row:
    # staff closing a lead cancel its rows), the token is then made later.
    patient_email = and_(
        claimed.c.channel == "email",
        or_(claimed.c.cadence.in_(PATIENT_EMAIL_CADENCES), claimed.c.template == CONVERSATION),
    )
    free = aliased(Lead, name="free_lead")
    tokenless = (
        db.select(free.id)
        .where(free.id == claimed.c.lead_id, free.reply_token.is_(None), patient_email)
        .with_for_update(of=free, skip_locked=True)
        .scalar_subquery()
    )
    token_made = (
        update(Lead)
        .where(Lead.id == tokenless)
        .values(reply_token=bindparam("reply_token"), updated_at=now)
        .returning(Lead.reply_token)
        .cte("token_made")
    )
    sent = aliased(Send, claimed, name="sends")
    purpose = case(_consent_purposes(), value=claimed.c.cadence + ":" + claimed.c.channel)
    granted = (
        db.select(Consent.granted)
        .where(Consent.lead_id == claimed.c.lead_id, Consent.purpose == purpose)
        .order_by(Consent.recorded_at.desc(), Consent.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return (
        db.select(
            sent,
            Lead,
            Inquiry,
            CadenceSetting,
            purpose.label("purpose"),
            granted.label("granted"),
            exists().where(Suppression.email == Lead.email).label("email_suppressed"),
            exists().where(Suppression.email == Lead.caregiver_email).label("caregiver_suppressed"),
            db.select(token_made.c.reply_token).scalar_subquery().label("made_reply_token"),
        )
        .outerjoin(Lead, Lead.id == sent.lead_id)
        .outerjoin(Inquiry, Inquiry.id == sent.inquiry_id)
        .outerjoin(CadenceSetting, CadenceSetting.name == sent.cadence)
    )
