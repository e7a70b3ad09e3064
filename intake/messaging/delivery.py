"""Delivering ledger rows: claim once, check the stop conditions again, send, record.

A worker claims a row with a conditional update and commits before talking to SMTP, so no other
worker can claim it meanwhile. A row whose worker vanished mid-send (killed, say) is claimed
again once the claim is stale or the task is redelivered: that small window is the only place a
message could go twice, and every message carries a stable Message-ID so receivers can tell.

So a delivery (``deliver_send``, what the delivery task runs for each of its rows in turn,
``deliver_sends``) is two transactions: the claim, committed, then the rest, committed the moment
the server accepts the message. On PostgreSQL (``claim_and_load``, then ``finish_claimed``) the
claim is one statement that also reads the row, its lead, its inquiry, its cadence's settings,
the lead's latest record of the consent the row needs and whether the lead's addresses are
suppressed, and gives the lead its reply token on its first patient email; the rest is the
outcome's one UPDATE. Elsewhere (``claim_send``, then ``finish_send``) the claim is one UPDATE
and the rest reads the row, lead, inquiry and settings in one query, then the consent and the
suppression list (the reply token, where one is made, is an UPDATE of its own). Checks and
message read the lead and inquiry of that query.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import cache

from flask import current_app
from sqlalchemy import and_, bindparam, case, exists, or_, update
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value

from intake.consults import messages as consult_messages
from intake.conversations import outgoing, replies
from intake.extensions import db
from intake.messaging.cadence_settings import effective_cadence
from intake.messaging.cadence_texts import cadence_text, consent_for
from intake.messaging.cadences import load_cadences
from intake.messaging.followups import deferred_until, patient_daytime, stop_reason
from intake.messaging.mail import (
    PATIENT_EMAIL_CADENCES,
    PermanentMailError,
    TransientMailError,
    deliver,
    render_message,
)
from intake.messaging.sends import CONVERSATION, claim_timeout
from intake.messaging.texts import (
    PermanentTextError,
    TextMessage,
    TransientTextError,
    deliver_text,
    patient_number,
    text_message_id,
)
from intake.messaging.unsubscribe import is_suppressed, suppress_address
from intake.models import CadenceSetting, Consent, Inquiry, Lead, Send
from intake.models.sends import Suppression

logger = logging.getLogger(__name__)


def deliver_send(
    *,
    send_id: int,
    clock: Callable[[], datetime],
    commit: Callable[[], None],
    redelivered: bool = False,
) -> str:
    """Claim one ledger row and commit the claim, then check, send and record it and commit
    that; returns what happened ("skipped" when the row could not be claimed). ``clock`` is
    read for the claim and again after its commit, for the rest."""
    if claims_and_reads_at_once():  # one statement claims and reads
        loaded = claim_and_load(send_id=send_id, now=clock(), redelivered=redelivered)
        if loaded is None:
            db.session.rollback()
            return "skipped"
        _commit_claim(commit)
        outcome = finish_claimed(loaded, now=clock(), commit=commit)
    else:
        if not claim_send(send_id=send_id, now=clock(), redelivered=redelivered):
            db.session.rollback()
            return "skipped"
        commit()
        outcome = finish_send(send_id=send_id, now=clock(), commit=commit)
    commit()
    return outcome


def deliver_sends(
    send_ids: Sequence[int],
    *,
    clock: Callable[[], datetime],
    commit: Callable[[], None],
    redelivered: bool = False,
    time_left: Callable[[], bool],
) -> tuple[list[str], list[int]]:
    """``deliver_send`` for each of a task's rows in turn, each claimed, sent and committed on
    its own: a row that raises is rolled back, logged and left to the sweep (as a task of its
    own would be), and the next goes on. Once ``time_left`` says no, the rows not started are
    returned for another task: a slow mail server delays them, never past the task's time
    limit. What happened to each row taken ("failed" for one that raised), and the rows left."""
    outcomes: list[str] = []
    for index, send_id in enumerate(send_ids):
        if index and not time_left():
            return outcomes, list(send_ids[index:])
        try:
            outcome = deliver_send(
                send_id=send_id, clock=clock, commit=commit, redelivered=redelivered
            )
        except Exception:  # noqa: BLE001 (one row's failure must not hold back the others)
            db.session.rollback()
            logger.exception("ledger row %s failed; the sweep hands it over again", send_id)
            outcome = "failed"
        outcomes.append(outcome)
    return outcomes, []


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


def _commit_claim(commit: Callable[[], None]) -> None:
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


def _finish(send: Send, status: str, reason: str | None, now: datetime) -> str:
    send.status, send.finished_reason = status, reason
    if status == "sent":
        send.sent_at = now
    logger.info("send finished", extra={"send_id": send.id, "status": status, "reason": reason})
    return status


def _retry_later(send: Send, error: Exception, now: datetime) -> str:
    send.last_error = str(error)[:200]
    if send.attempts >= current_app.config["INTAKE_SEND_MAX_ATTEMPTS"]:
        return _finish(send, "dead", "gave_up", now)
    send.status = "scheduled"
    send.due_at = now + timedelta(minutes=2**send.attempts)
    send.enqueued_at = None
    return "retrying"


def finish_send(*, send_id: int, now: datetime, commit: Callable[[], None]) -> str:
    """Send a claimed row unless a stop condition now holds; returns what happened.

    ``commit`` is the caller's: it runs the moment the mail server (or the text provider)
    accepts the message, so the row says "sent" before anything else can go wrong (a worker
    killed during the goodbye would otherwise send it again)."""
    loaded = _load(send_id)  # holds the lead and inquiry: the checks find them in the session
    if loaded is None or loaded.Send.status != "sending":
        return "skipped"
    return finish_claimed(loaded, now=now, commit=commit)


def finish_claimed(loaded, *, now: datetime, commit: Callable[[], None]) -> str:
    """``finish_send`` for a row already read with its lead, inquiry and cadence override (as
    ``_load`` or ``claim_and_load`` read it; the latter's consent record is used too)."""
    purpose = loaded.purpose if "purpose" in loaded._fields else None
    consents = {purpose: bool(loaded.granted)} if purpose else {}
    suppressed = _suppressed_addresses(loaded)
    send = loaded[0]
    cadence = effective_cadence(send.cadence, loaded.CadenceSetting)
    cadences = {send.cadence: cadence} if cadence is not None else {}
    written = send.cadence == outgoing.CADENCE  # by staff, from the lead page
    reason = _stop(send, now, written, cadences, consents)
    if reason is not None:
        return _finish(send, "cancelled", reason, now)
    later = _later(send, now, written, cadences)
    if later is not None:  # not a try: the claim's attempt is given back
        send.status, send.due_at, send.enqueued_at = "scheduled", later, None
        send.attempts -= 1
        return "deferred"
    words = outgoing.sent_words(send) if written else None
    if send.channel == "text":
        words = words if written else cadence_text(send)
        return _finish_text(send, words, now, commit)
    message = render_message(send=send, now=now, words=words)
    if message is None:
        return _finish(send, "cancelled", "no_recipient", now)
    address = message.recipient.strip().lower()
    if suppressed[address] if address in suppressed else is_suppressed(address):
        return _finish(send, "cancelled", "suppressed", now)

    def record_sent() -> None:
        send.message_id = message.message_id
        _finish(send, "sent", None, now)
        commit()

    try:
        deliver(message, accepted=record_sent)
    except TransientMailError as error:
        return _retry_later(send, error, now)
    except PermanentMailError as error:
        send.last_error = str(error)[:200]
        if error.bounced:  # the server refused this address, not, say, our credentials
            suppress_address(email=message.recipient, reason="bounce", now=now)
        return _finish(send, "dead", "permanent_failure", now)
    return "sent"


def _suppressed_addresses(loaded) -> dict[str, bool]:
    """Whether the lead's own and caregiver's addresses (stored lower-case) are suppressed, as
    read with the claim; empty when the row was read without (``_load``)."""
    lead = loaded.Lead
    if lead is None or "email_suppressed" not in loaded._fields:
        return {}
    known = {lead.caregiver_email: loaded.caregiver_suppressed, lead.email: loaded.email_suppressed}
    return {address: bool(flag) for address, flag in known.items() if address}


def _load(send_id: int):
    """The row, its lead, its inquiry and its cadence's override (each None when absent)."""
    return db.session.execute(
        db.select(Send, Lead, Inquiry, CadenceSetting)
        .outerjoin(Lead, Lead.id == Send.lead_id)
        .outerjoin(Inquiry, Inquiry.id == Send.inquiry_id)
        .outerjoin(CadenceSetting, CadenceSetting.name == Send.cadence)
        .where(Send.id == send_id)
    ).first()


def _stop(send: Send, now: datetime, written: bool, cadences: dict, consents: dict) -> str | None:
    """Why the row must not go now, by who planned it; None when it may."""
    if written:
        return outgoing.send_time_stop(send)
    if send.cadence in consult_messages.CADENCES:
        return consult_messages.send_time_stop(send, now)
    return stop_reason(send, cadences, consents)


def _later(send: Send, now: datetime, written: bool, cadences: dict) -> datetime | None:
    """When a row that came due in the patient's quiet hours should go instead; None for now.
    A consult's own messages go at once (a reminder is bound to its time); an invitation to
    book again waits for the patient's daytime."""
    if written:
        return outgoing.quiet_until(send, now)
    if send.cadence == consult_messages.CONSULT_REBOOK:
        lead = db.session.get(Lead, send.lead_id)
        later = patient_daytime(now, lead.time_zone)
        return later if later > now else None
    if send.cadence in consult_messages.CADENCES:
        return None
    return deferred_until(send, now, cadences)


def _finish_text(
    send: Send, words: tuple[str | None, str] | None, now: datetime, commit: Callable[[], None]
) -> str:
    """Send a text message row through the provider (or the local capture)."""
    lead = db.session.get(Lead, send.lead_id) if send.lead_id else None
    number = patient_number(lead) if lead is not None else None
    if words is None or number is None:
        return _finish(send, "cancelled", "no_recipient", now)
    text = TextMessage(recipient=number, body=words[1], message_id=text_message_id(send.key))

    def record_sent() -> None:
        send.message_id = text.message_id
        _finish(send, "sent", None, now)
        commit()

    try:
        deliver_text(text, accepted=record_sent)
    except TransientTextError as error:
        return _retry_later(send, error, now)
    except PermanentTextError as error:
        send.last_error = str(error)[:200]
        return _finish(send, "dead", "permanent_failure", now)
    return "sent"
