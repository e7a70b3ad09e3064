"""Delivering ledger rows: claimed once, checked again at send time, sent, deferred, retried,
given up, or cancelled — against a real SMTP server where the outcome depends on it."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from intake.extensions import db
from intake.messaging.delivery import claim_send, deliver_send, finish_send
from intake.messaging.mail import PermanentMailError, deliver, message_id_for, render_message
from intake.messaging.sends import (
    discard_dead,
    due_send_ids,
    retry_dead,
    schedule_send,
    send_key,
)
from intake.messaging.unsubscribe import is_suppressed, suppress_address, unsubscribe_lead
from intake.models import CapturedEmail, Inquiry, Lead, Send, Suppression
from tests.factories import ADDRESS, NOW, make_inquiry, make_lead, record_consent
from tests.messaging.conftest import Answer, Recorder, smtp_server

SECOND = timedelta(seconds=1)


def queue(
    cadence: str, *, lead: Lead, inquiry: Inquiry | None = None, step: int = 1, due_at=NOW
) -> int:
    """Schedule a message of this cadence for the lead and commit it; its ledger id."""
    key = send_key(lead.id, cadence, inquiry and inquiry.id, step)
    schedule_send(
        key=key, cadence=cadence, template=cadence, step=step, due_at=due_at, now=NOW,
        lead_id=lead.id, inquiry_id=inquiry and inquiry.id,
    )  # fmt: skip
    db.session.commit()
    return db.session.scalar(db.select(Send.id).where(Send.key == key))


def row(send_id: int) -> Send:
    return db.session.get(Send, send_id, populate_existing=True)


def claim(send_id: int, at: datetime = NOW, *, redelivered: bool = False) -> bool:
    """As the worker does: claim, and commit the claim before anything else happens."""
    claimed = claim_send(send_id=send_id, now=at, redelivered=redelivered)
    db.session.commit()
    return claimed


def deliver_row(send_id: int, at: datetime = NOW) -> str:
    """As the delivery task does: claim and commit, then finish and commit."""
    assert claim(send_id, at)
    outcome = finish_send(send_id=send_id, now=at, commit=db.session.commit)
    db.session.commit()
    return outcome


def captured() -> list[CapturedEmail]:
    return db.session.scalars(db.select(CapturedEmail)).all()


def make_dead(send_id: int) -> None:
    db.session.execute(
        db.update(Send).where(Send.id == send_id).values(
            status="dead", finished_reason="gave_up", attempts=6, enqueued_at=NOW,
            last_error="SMTPRecipientsRefused 451",
        )
    )  # fmt: skip
    db.session.commit()


# Claiming


def test_a_due_row_is_claimed_once_and_a_second_claim_fails(ctx):
    send_id = queue("confirmation", lead=make_lead(), step=0)

    assert claim(send_id)
    assert not claim(send_id)
    assert not claim(send_id, NOW + 2 * SECOND)
    claimed = row(send_id)
    assert (claimed.status, claimed.claimed_at, claimed.attempts) == ("sending", NOW, 1)


def test_a_row_that_is_not_yet_due_cannot_be_claimed(ctx):
    send_id = queue("nurture", lead=make_lead(), due_at=NOW + timedelta(hours=1))

    assert not claim(send_id, NOW)
    assert not claim(send_id, NOW + timedelta(minutes=59, seconds=59))
    assert row(send_id).status == "scheduled"
    assert claim(send_id, NOW + timedelta(hours=1))


def test_a_stale_sending_row_is_claimable_again_and_at_once_when_the_task_is_redelivered(ctx):
    timeout = timedelta(seconds=ctx.config["INTAKE_SEND_CLAIM_TIMEOUT"])
    lead = make_lead()
    stale, redelivered = queue("nurture", lead=lead, step=1), queue("nurture", lead=lead, step=2)
    assert claim(stale) and claim(redelivered)

    assert not claim(stale, NOW + timeout - SECOND)
    assert claim(stale, NOW + timeout)
    assert claim(redelivered, NOW + SECOND, redelivered=True)
    assert (row(stale).attempts, row(stale).claimed_at) == (2, NOW + timeout)
    assert (row(redelivered).attempts, row(redelivered).claimed_at) == (2, NOW + SECOND)
    assert not claim(redelivered, NOW + 2 * SECOND)  # redelivery, not any later claim


def test_a_row_whose_worker_keeps_dying_is_given_up_after_the_maximum_attempts(ctx):
    timeout = timedelta(seconds=ctx.config["INTAKE_SEND_CLAIM_TIMEOUT"])
    most = ctx.config["INTAKE_SEND_MAX_ATTEMPTS"]
    send_id = queue("confirmation", lead=make_lead(), step=0)
    at = NOW
    for _ in range(most):
        assert claim(send_id, at)  # ...and the worker is killed before it finishes
        at += timeout

    assert not claim(send_id, at)
    assert not due_send_ids(now=at)


def test_a_delivery_claims_at_one_reading_of_the_clock_and_records_at_the_next(ctx):
    send_id = queue("confirmation", lead=make_lead(), step=0)
    readings = iter([NOW, NOW + SECOND])

    outcome = deliver_send(send_id=send_id, clock=lambda: next(readings), commit=db.session.commit)

    assert outcome == "sent"
    sent = row(send_id)
    assert (sent.status, sent.attempts) == ("sent", 1)
    assert (sent.claimed_at, sent.sent_at) == (NOW, NOW + SECOND)
    later = deliver_send(send_id=send_id, clock=lambda: NOW + 2 * SECOND, commit=db.session.commit)
    assert later == "skipped"
    assert (row(send_id).status, row(send_id).attempts) == ("sent", 1)


# Sweeping


def test_the_sweep_hands_due_rows_over_once_until_the_reenqueue_delay_has_passed(ctx):
    again = timedelta(seconds=ctx.config["INTAKE_SEND_REENQUEUE_AFTER"])
    lead = make_lead()
    first, second = queue("nurture", lead=lead, step=1), queue("nurture", lead=lead, step=2)
    later = queue("nurture", lead=lead, step=3, due_at=NOW + timedelta(days=1))

    assert sorted(due_send_ids(now=NOW)) == [first, second]
    db.session.commit()
    assert {row(i).enqueued_at for i in (first, second)} == {NOW}
    assert row(later).enqueued_at is None
    assert due_send_ids(now=NOW + SECOND) == []
    assert due_send_ids(now=NOW + again - SECOND) == []
    assert sorted(due_send_ids(now=NOW + again + SECOND)) == [first, second]


def test_the_sweep_picks_up_a_sending_row_whose_worker_vanished(app_factory):
    app = app_factory(INTAKE_SEND_REENQUEUE_AFTER=60)  # shorter than the claim timeout
    timeout = timedelta(seconds=app.config["INTAKE_SEND_CLAIM_TIMEOUT"])
    with app.app_context():
        send_id = queue("confirmation", lead=make_lead(), step=0)
        assert due_send_ids(now=NOW) == [send_id]
        assert claim(send_id, NOW + SECOND)

        assert due_send_ids(now=NOW + timeout) == []  # the claim is not stale yet
        assert due_send_ids(now=NOW + timeout + 2 * SECOND) == [send_id]
        db.session.commit()
        assert claim(send_id, NOW + timeout + 3 * SECOND)


# Finishing


def test_a_row_is_sent_with_its_message_id_and_the_mail_captured_once(app_factory):
    app = app_factory(SMTP_URL=None)
    with app.app_context():
        send_id = queue("confirmation", lead=make_lead(), step=0)

        assert deliver_row(send_id) == "sent"
        assert finish_send(send_id=send_id, now=NOW + SECOND, commit=db.session.commit) == "skipped"
        assert not claim(send_id, NOW + timedelta(hours=1))
        sent = row(send_id)
        assert (sent.status, sent.sent_at, sent.finished_reason) == ("sent", NOW, None)
        assert sent.message_id == message_id_for(sent)
        [mail] = captured()
        assert (mail.message_id, mail.recipient) == (sent.message_id, ADDRESS)


@pytest.mark.parametrize(
    ("cadence", "lead_changes", "reason"),
    [
        ("confirmation", {"status": "do_not_contact"}, "do_not_contact"),
        ("nurture", {"status": "do_not_contact"}, "do_not_contact"),
        ("confirmation", {"status": "not_interested"}, "closed"),
        ("nurture", {"status": "unreachable"}, "closed"),
        ("resume_reminder", {"status": "not_eligible"}, "closed"),
        ("nurture", {"status": "attempting_contact"}, "contacted"),
        ("nurture", {"first_contacted_at": NOW - timedelta(minutes=5)}, "contacted"),
    ],
    ids=[
        "do-not-contact-confirmation", "do-not-contact-nurture", "closed-confirmation",
        "closed-nurture", "closed-resume-reminder", "contacted-by-status", "contacted-at",
    ],
)  # fmt: skip
def test_a_row_is_cancelled_when_the_lead_has_moved_on_since_it_was_planned(
    ctx, cadence, lead_changes, reason
):
    lead = make_lead()
    send_id = queue(cadence, lead=lead, inquiry=make_inquiry(lead))
    assert claim(send_id)
    for name, value in lead_changes.items():
        setattr(db.session.get(Lead, lead.id), name, value)
    db.session.commit()

    assert finish_send(send_id=send_id, now=NOW, commit=db.session.commit) == "cancelled"
    assert (row(send_id).status, row(send_id).finished_reason) == ("cancelled", reason)
    assert captured() == []


def test_a_confirmation_still_goes_to_a_lead_already_contacted(ctx):
    lead = make_lead(status="contacted", first_contacted_at=NOW - timedelta(minutes=5))

    assert deliver_row(queue("confirmation", lead=lead, step=0)) == "sent"


@pytest.mark.parametrize(
    ("cadence", "purpose"),
    [
        ("confirmation", "contact_email"),
        ("nurture", "follow_up_emails"),
        ("resume_reminder", "resume_reminders"),
    ],
)
def test_a_row_is_cancelled_when_its_consent_was_withdrawn_after_it_was_claimed(
    ctx, cadence, purpose
):
    lead = make_lead()
    send_id = queue(cadence, lead=lead, inquiry=make_inquiry(lead))
    assert claim(send_id)
    record_consent(lead, purpose, granted=False, at=NOW - SECOND)
    db.session.commit()

    assert finish_send(send_id=send_id, now=NOW, commit=db.session.commit) == "cancelled"
    assert (row(send_id).status, row(send_id).finished_reason) == ("cancelled", "no_consent")


def test_an_unsubscribe_while_a_row_is_being_sent_stops_it(ctx):
    lead = make_lead()
    sending, waiting = queue("nurture", lead=lead, step=1), queue("nurture", lead=lead, step=2)
    assert claim(sending)
    unsubscribe_lead(lead_id=lead.id, now=NOW, source="unsubscribe_link")
    db.session.commit()

    assert finish_send(send_id=sending, now=NOW, commit=db.session.commit) == "cancelled"
    db.session.commit()
    assert row(sending).finished_reason == "no_consent"
    assert (row(waiting).status, row(waiting).finished_reason) == ("cancelled", "unsubscribed")
    assert captured() == []


def test_a_resume_reminder_is_cancelled_once_the_inquiry_has_been_completed(ctx):
    lead = make_lead()
    inquiry = make_inquiry(lead)
    send_id = queue("resume_reminder", lead=lead, inquiry=inquiry)
    assert claim(send_id)
    db.session.get(Inquiry, inquiry.id).status = "complete"
    db.session.commit()

    assert finish_send(send_id=send_id, now=NOW, commit=db.session.commit) == "cancelled"
    assert row(send_id).finished_reason == "inquiry_completed"


def test_a_row_due_in_the_patients_quiet_hours_waits_for_their_next_morning(ctx):
    lead = make_lead(time_zone="Asia/Tokyo")  # NOW is 23:00 in Tokyo
    nurture = queue("nurture", lead=lead)
    confirmation = queue("confirmation", lead=lead, step=0)

    assert deliver_row(nurture) == "deferred"
    deferred = row(nurture)
    tokyo_morning = datetime(2026, 3, 4, 8, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert (deferred.status, deferred.due_at, deferred.enqueued_at) == (
        "scheduled", tokyo_morning, None,
    )  # fmt: skip
    assert deliver_row(confirmation) == "sent"  # no quiet hours: the patient just pressed Send
    assert not claim(nurture, tokyo_morning - SECOND)
    assert due_send_ids(now=tokyo_morning) == [nurture]
    assert deliver_row(nurture, tokyo_morning) == "sent"


def test_a_deferral_for_quiet_hours_uses_up_no_delivery_attempt(ctx):
    send_id = queue("nurture", lead=make_lead(time_zone="Asia/Tokyo"))

    assert deliver_row(send_id) == "deferred"
    assert row(send_id).attempts == 0


def test_a_row_with_nobody_to_write_to_is_cancelled(ctx):
    send_id = queue("confirmation", lead=make_lead(email=None), step=0)

    assert deliver_row(send_id) == "cancelled"
    assert (row(send_id).status, row(send_id).finished_reason) == ("cancelled", "no_recipient")


def test_a_row_for_a_suppressed_address_is_cancelled_without_contacting_the_server(ctx):
    recorder = Recorder()
    send_id = queue("confirmation", lead=make_lead(), step=0)
    suppress_address(email="Ada.Byron@Example.org", reason="complaint", now=NOW)
    with smtp_server(recorder) as server:
        ctx.config["SMTP_URL"] = f"smtp://127.0.0.1:{server.port}"
        outcome = deliver_row(send_id)

    assert outcome == "cancelled"
    assert (row(send_id).status, row(send_id).finished_reason) == ("cancelled", "suppressed")
    assert recorder.envelopes == []


# SMTP failures


def test_a_temporary_refusal_is_retried_with_backoff_and_given_up_after_the_maximum(
    app_factory,
):
    app = app_factory(INTAKE_SEND_MAX_ATTEMPTS=3)
    with app.app_context(), smtp_server(Answer(rcpt="451 4.3.0 Try again later")) as server:
        app.config["SMTP_URL"] = f"smtp://127.0.0.1:{server.port}"
        send_id = queue("confirmation", lead=make_lead(), step=0)

        assert deliver_row(send_id, NOW) == "retrying"
        first = row(send_id)
        assert (first.status, first.attempts, first.enqueued_at) == ("scheduled", 1, None)
        assert first.last_error == "SMTPRecipientsRefused 451"
        second_try = NOW + timedelta(minutes=2)
        assert first.due_at == second_try
        assert not claim(send_id, second_try - SECOND)
        assert deliver_row(send_id, second_try) == "retrying"
        third_try = second_try + timedelta(minutes=4)
        assert (row(send_id).due_at, row(send_id).attempts) == (third_try, 2)
        assert deliver_row(send_id, third_try) == "dead"

        dead = row(send_id)
        assert (dead.status, dead.finished_reason, dead.attempts) == ("dead", "gave_up", 3)
        assert "@" not in dead.last_error and "ada" not in dead.last_error.lower()
        assert due_send_ids(now=NOW + timedelta(days=1)) == []
        assert not is_suppressed(ADDRESS)


def test_a_recipient_refused_for_good_makes_the_row_dead_and_suppresses_the_address(ctx):
    lead = make_lead()
    first, second = queue("nurture", lead=lead, step=1), queue("nurture", lead=lead, step=2)
    with smtp_server(Answer(rcpt="550 5.1.1 No such user")) as server:
        ctx.config["SMTP_URL"] = f"smtp://127.0.0.1:{server.port}"
        assert deliver_row(first) == "dead"
        assert deliver_row(second) == "cancelled"  # the address is not tried again

    dead = row(first)
    assert (dead.status, dead.finished_reason) == ("dead", "permanent_failure")
    assert dead.last_error == "SMTPRecipientsRefused 550"
    assert row(second).finished_reason == "suppressed"
    [suppression] = db.session.scalars(db.select(Suppression)).all()
    assert (suppression.email, suppression.reason) == (ADDRESS, "bounce")


class RefuseSender:
    """Refuses our sender address, as a server that does not trust our domain would."""

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        return "554 5.7.1 Sender address rejected"


@pytest.mark.parametrize(
    ("handler", "credentials", "code"),
    [(Recorder(), "intake:wrong@", 535), (RefuseSender(), "", 554)],
    ids=["bad-login", "sender-refused"],
)
def test_a_permanent_failure_of_our_own_setup_makes_the_row_dead_without_suppression(
    ctx, handler, credentials, code
):
    send_id = queue("confirmation", lead=make_lead(), step=0)
    with smtp_server(handler) as server:
        ctx.config["SMTP_URL"] = f"smtp://{credentials}127.0.0.1:{server.port}"
        with pytest.raises(PermanentMailError) as raised:
            deliver(render_message(send=row(send_id), now=NOW))
        outcome = deliver_row(send_id)

    assert (raised.value.code, raised.value.bounced) == (code, False)
    assert outcome == "dead"
    assert (row(send_id).status, row(send_id).finished_reason) == ("dead", "permanent_failure")
    assert not is_suppressed(ADDRESS)


# Staff actions on dead rows


@pytest.mark.parametrize("status", ["scheduled", "sending", "sent", "cancelled"])
def test_retrying_or_discarding_leaves_a_row_that_is_not_dead_alone(ctx, status):
    send_id = queue("nurture", lead=make_lead())
    db.session.execute(db.update(Send).where(Send.id == send_id).values(status=status))
    db.session.commit()
    later = NOW + timedelta(hours=2)

    assert not retry_dead(send_id=send_id, now=later)
    assert not discard_dead(send_id=send_id, now=later)
    db.session.commit()
    assert (row(send_id).status, row(send_id).due_at) == (status, NOW)


def test_retrying_a_dead_row_schedules_it_afresh_and_only_once(ctx):
    send_id = queue("nurture", lead=make_lead())
    make_dead(send_id)
    later = NOW + timedelta(hours=2)

    assert retry_dead(send_id=send_id, now=later)
    assert not retry_dead(send_id=send_id, now=later)
    db.session.commit()
    retried = row(send_id)
    assert (retried.status, retried.due_at, retried.attempts) == ("scheduled", later, 0)
    assert (retried.enqueued_at, retried.finished_reason) == (None, None)
    assert due_send_ids(now=later) == [send_id]


def test_discarding_a_dead_row_cancels_it_for_good(ctx):
    send_id = queue("nurture", lead=make_lead())
    make_dead(send_id)
    later = NOW + timedelta(hours=2)

    assert discard_dead(send_id=send_id, now=later)
    assert not discard_dead(send_id=send_id, now=later)
    db.session.commit()
    assert (row(send_id).status, row(send_id).finished_reason) == ("cancelled", "discarded")
    assert not retry_dead(send_id=send_id, now=later)
    assert due_send_ids(now=later + timedelta(days=1)) == []
    assert not claim(send_id, later + timedelta(days=1))
