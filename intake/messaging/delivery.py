"""Delivering ledger rows: claim once, check the stop conditions again, send, record.

A worker claims a row with a conditional update and commits before talking to SMTP, so no other
worker can claim it meanwhile. A row whose worker vanished mid-send (killed, say) is claimed
again once the claim is stale or the task is redelivered: that small window is the only place a
message could go twice, and every message carries a stable Message-ID so receivers can tell.

So a delivery (``deliver_send``, what the delivery task runs for each of its rows in turn,
``deliver_sends``) is two transactions: the claim, committed, then the rest, committed the moment
the server accepts the message. On PostgreSQL (``claims.claim_and_load``, then
``finish_claimed``) the claim is one statement that also reads the row, its lead, its inquiry,
its cadence's settings, the lead's latest record of the consent the row needs and whether the
lead's addresses are suppressed, and gives the lead its reply token on its first patient email;
the rest is the outcome's one UPDATE. Elsewhere (``claims.claim_send``, then ``finish_send``)
the claim is one UPDATE and the rest reads the row, lead, inquiry and settings in one query, then
the consent and the suppression list (the reply token, where one is made, is an UPDATE of its
own). Checks and message read the lead and inquiry of that query.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import cache

from flask import current_app
from sqlalchemy import bindparam, update
from sqlalchemy.orm.attributes import set_committed_value

from intake.consults import messages as consult_messages
from intake.conversations import outgoing
from intake.extensions import db
from intake.messaging.cadence_settings import effective_cadence
from intake.messaging.cadence_texts import cadence_text
from intake.messaging.claims import (
    claim_and_load,
    claim_send,
    claims_and_reads_at_once,
    commit_claim,
)
from intake.messaging.followups import deferred_until, patient_daytime, stop_reason
from intake.messaging.mail import PermanentMailError, TransientMailError, deliver, render_message
from intake.messaging.texts import (
    PermanentTextError,
    TextMessage,
    TransientTextError,
    deliver_text,
    patient_number,
    text_message_id,
)
from intake.messaging.unsubscribe import is_suppressed, suppress_address
from intake.models import CadenceSetting, Inquiry, Lead, Send

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
        commit_claim(commit)
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


def _finish(send: Send, status: str, reason: str | None) -> str:
    """A row that ends unsent (a sent one is ``_record_sent``'s)."""
    send.status, send.finished_reason = status, reason
    logger.info("send finished", extra={"send_id": send.id, "status": status, "reason": reason})
    return status


def _record_sent(send: Send, message_id: str, now: datetime, commit: Callable[[], None]) -> None:
    """The server (or text provider) accepted the message: the row says so, committed at once.
    One UPDATE built once a process, not the unit of work's flush (a seventh of a pool process's
    time in P6's profile); the row as held is kept in step with what it wrote."""
    db.session.execute(
        _sent_statement(), {"send_id": send.id, "accepted_at": now, "accepted_id": message_id}
    )
    written = {"status": "sent", "finished_reason": None, "sent_at": now, "message_id": message_id}
    for name, value in written.items():
        set_committed_value(send, name, value)
    logger.info("send finished", extra={"send_id": send.id, "status": "sent", "reason": None})
    commit()


@cache
def _sent_statement():
    sends = Send.__table__
    return (
        update(sends)
        .where(sends.c.id == bindparam("send_id"))
        .values(
            status="sent",
            finished_reason=None,
            sent_at=bindparam("accepted_at", type_=sends.c.sent_at.type),
            message_id=bindparam("accepted_id"),
        )
    )


def _note_error(send: Send, error: Exception) -> None:
    """Keep what the server or provider said, cut to what the column holds."""
    send.last_error = str(error)[: Send.__table__.c.last_error.type.length]


def _retry_later(send: Send, error: Exception, now: datetime) -> str:
    _note_error(send, error)
    if send.attempts >= current_app.config["INTAKE_SEND_MAX_ATTEMPTS"]:
        return _finish(send, "dead", "gave_up")
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
        return _finish(send, "cancelled", reason)
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
        return _finish(send, "cancelled", "no_recipient")
    address = message.recipient.strip().lower()
    if suppressed[address] if address in suppressed else is_suppressed(address):
        return _finish(send, "cancelled", "suppressed")

    try:
        deliver(message, accepted=lambda: _record_sent(send, message.message_id, now, commit))
    except TransientMailError as error:
        return _retry_later(send, error, now)
    except PermanentMailError as error:
        _note_error(send, error)
        if error.bounced:  # the server refused this address, not, say, our credentials
            suppress_address(email=message.recipient, reason="bounce", now=now)
        return _finish(send, "dead", "permanent_failure")
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
        return _finish(send, "cancelled", "no_recipient")
    text = TextMessage(recipient=number, body=words[1], message_id=text_message_id(send.key))

    try:
        deliver_text(text, accepted=lambda: _record_sent(send, text.message_id, now, commit))
    except TransientTextError as error:
        return _retry_later(send, error, now)
    except PermanentTextError as error:
        _note_error(send, error)
        return _finish(send, "dead", "permanent_failure")
    return "sent"
