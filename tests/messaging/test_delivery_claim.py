"""The delivery task's path on PostgreSQL: one statement claims the row and reads the row, its
lead, inquiry, cadence override, the consent it needs and whether the lead's addresses are
suppressed; the claim is committed before the server is contacted; the outcome is one UPDATE,
committed when the server took the message. Statements per message are asserted here."""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from sqlalchemy import event, text

from intake.extensions import db
from intake.messaging.claims import claim_and_load, claims_and_reads_at_once, commit_claim
from intake.messaging.delivery import (
    deliver_send,
    finish_claimed,
)
from intake.messaging.sends import schedule_send, send_key
from intake.messaging.unsubscribe import suppress_address
from intake.models import Lead, Send
from tests.factories import NOW, make_inquiry, make_lead, make_staff, record_consent
from tests.messaging.conftest import Recorder, smtp_server
from tests.messaging.test_delivery import SECOND, queue, row

# A message costs the claim (with every read the checks need, and the reply address token a
# lead's first patient email makes) and the outcome's UPDATE.
STATEMENTS_A_MESSAGE = 2
COMMITS_A_MESSAGE = 2  # the claim, before the server is contacted; then the outcome

# The one-statement claim is PostgreSQL's (a data-modifying WITH); SQLite's path is
# tests/messaging/test_delivery.py's.
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
def pg(ctx):
    assert claims_and_reads_at_once()
    return ctx


@contextmanager
def counting(app):
    statements, commits = [], []
    engine = db.engine

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()[:3]))

    def committed(conn):
        commits.append(len(statements))

    event.listen(engine, "before_cursor_execute", record)
    event.listen(engine, "commit", committed)
    try:
        yield statements, commits
    finally:
        event.remove(engine, "before_cursor_execute", record)
        event.remove(engine, "commit", committed)


def deliver_as_the_task_does(send_id: int, at=NOW) -> str:
    """What ``workers.tasks.deliver_email`` runs, in a fresh session, the clock stopped at
    ``at``."""
    db.session.remove()
    return deliver_send(send_id=send_id, clock=lambda: at, commit=db.session.commit)


def test_a_message_costs_two_statements_and_two_commits(pg):
    recorder = Recorder()
    lead = make_lead(reply_token="k" * 24)
    send_id = queue("confirmation", lead=lead, step=0)
    with smtp_server(recorder) as server:
        pg.config["SMTP_URL"] = f"smtp://127.0.0.1:{server.port}"
        with counting(pg) as (statements, commits):
            assert deliver_as_the_task_does(send_id) == "sent"

    assert len(statements) == STATEMENTS_A_MESSAGE, statements
    assert statements[0].startswith("WITH claimed AS")
    assert commits == [1, 2]  # the claim alone, then the outcome
    assert len(commits) == COMMITS_A_MESSAGE
    assert len(recorder.envelopes) == 1
    sent = row(send_id)
    assert (sent.status, sent.attempts, sent.message_id is not None) == ("sent", 1, True)


def test_the_first_email_to_a_lead_makes_its_reply_token_in_the_claim(pg):
    recorder = Recorder()
    lead = make_lead()
    lead_id = lead.id
    assert lead.reply_token is None
    send_id = queue("confirmation", lead=lead, step=0)
    with smtp_server(recorder) as server:
        pg.config["SMTP_URL"] = f"smtp://127.0.0.1:{server.port}"
        with counting(pg) as (statements, commits):
            assert deliver_as_the_task_does(send_id) == "sent"

    assert len(statements) == STATEMENTS_A_MESSAGE, statements
    assert len(commits) == COMMITS_A_MESSAGE
    token = db.session.get(Lead, lead_id).reply_token
    assert re.fullmatch(r"[a-z0-9]{20}", token)
    [envelope] = recorder.envelopes
    assert f"Reply-To: replies+{token}@intake.local" in envelope.content.decode()


def test_the_claim_never_waits_for_a_lead_another_transaction_holds(pg):
    """Staff closing a lead hold it while they cancel its rows: a claim that waited for the
    lead while holding one of those rows would deadlock with them. It skips the token; the
    message makes it once the lead is free, in a statement of its own."""
    recorder = Recorder()
    lead = make_lead()
    lead_id = lead.id
    send_id = queue("confirmation", lead=lead, step=0)
    db.session.remove()
    with db.engine.connect() as staff:
        staff.execute(text("SELECT id FROM leads WHERE id = :id FOR UPDATE"), {"id": lead_id})
        db.session.execute(text("SET LOCAL lock_timeout = '5s'"))  # a wait fails, not hangs
        loaded = claim_and_load(send_id=send_id, now=NOW)
        assert loaded is not None and loaded.made_reply_token is None
        commit_claim(db.session.commit)  # as deliver_send commits it
        staff.rollback()
    with smtp_server(recorder) as server:
        pg.config["SMTP_URL"] = f"smtp://127.0.0.1:{server.port}"
        with counting(pg) as (statements, _):
            assert finish_claimed(loaded, now=NOW, commit=db.session.commit) == "sent"
            db.session.commit()

    assert len(statements) == 2, statements  # the token's own UPDATE, then the outcome's
    token = db.session.get(Lead, lead_id).reply_token
    [envelope] = recorder.envelopes
    assert token and f"replies+{token}@" in envelope.content.decode()


def test_a_lead_keeps_its_reply_token_and_a_staff_email_makes_none(pg):
    kept = make_lead(reply_token="k" * 20)
    staff_only = make_lead(first_name="Grace", email="grace@example.org")
    staff = make_staff()
    staff_only.owner_id = staff.id
    db.session.commit()
    patient_row = queue("nurture", lead=kept, step=1)
    key = send_key(staff_only.id, "staff_new_lead", staff.id)
    schedule_send(
        key=key, cadence="staff_new_lead", template="staff_new_lead", due_at=NOW, now=NOW,
        lead_id=staff_only.id, staff_user_id=staff.id,
    )  # fmt: skip
    db.session.commit()
    staff_row = db.session.scalar(db.select(Send.id).where(Send.key == key))
    kept_id, staff_only_id = kept.id, staff_only.id
    with smtp_server(Recorder()) as server:
        pg.config["SMTP_URL"] = f"smtp://127.0.0.1:{server.port}"
        assert deliver_as_the_task_does(patient_row) != "skipped"  # claimed
        assert deliver_as_the_task_does(staff_row) == "sent"

    assert db.session.get(Lead, kept_id).reply_token == "k" * 20
    assert db.session.get(Lead, staff_only_id).reply_token is None


def test_the_claim_is_committed_before_the_server_is_contacted(pg):
    seen, engine = [], db.engine

    class Looking(Recorder):
        async def handle_DATA(self, server, session, envelope):
            with engine.connect() as other:  # another connection: only committed rows
                seen.append(
                    other.execute(
                        text("SELECT status, attempts FROM sends WHERE id = :id"), {"id": send_id}
                    ).one()
                )
            return await super().handle_DATA(server, session, envelope)

    send_id = queue("confirmation", lead=make_lead(), step=0)
    with smtp_server(Looking()) as server:
        pg.config["SMTP_URL"] = f"smtp://127.0.0.1:{server.port}"
        assert deliver_as_the_task_does(send_id) == "sent"

    assert [tuple(found) for found in seen] == [("sending", 1)]


def test_a_row_claimed_already_is_skipped_and_left_alone(pg):
    send_id = queue("confirmation", lead=make_lead(), step=0)
    assert deliver_as_the_task_does(send_id) == "sent"

    assert deliver_as_the_task_does(send_id, at=NOW + SECOND) == "skipped"
    assert (row(send_id).status, row(send_id).attempts) == ("sent", 1)


def test_a_row_not_yet_due_is_not_claimed(pg):
    send_id = queue("confirmation", lead=make_lead(), step=0, due_at=NOW + SECOND)

    assert deliver_as_the_task_does(send_id) == "skipped"
    assert (row(send_id).status, row(send_id).attempts) == ("scheduled", 0)


@pytest.mark.parametrize(
    ("cadence", "purpose"),
    [("confirmation", "contact_email"), ("nurture", "follow_up_emails")],
)
def test_the_consent_read_with_the_claim_is_the_latest_record(pg, cadence, purpose):
    lead = make_lead()
    record_consent(lead, purpose, granted=False, at=NOW - SECOND)
    db.session.commit()
    send_id = queue(cadence, lead=lead, inquiry=make_inquiry(lead), step=1)

    assert deliver_as_the_task_does(send_id) == "cancelled"
    assert (row(send_id).status, row(send_id).finished_reason) == ("cancelled", "no_consent")


def test_a_resume_link_needs_no_consent(pg):
    lead = make_lead(consents=())
    send_id = queue("resume_link", lead=lead, inquiry=make_inquiry(lead), step=1)

    assert deliver_as_the_task_does(send_id) == "sent"


@pytest.mark.parametrize("address", ["Ada.Byron@Example.org", "carer@example.org"])
def test_a_suppressed_address_read_with_the_claim_stops_the_row(pg, address):
    recorder = Recorder()
    lead = make_lead(caregiver_email="carer@example.org")
    if address.startswith("carer"):  # the caregiver's address is used when the lead has none
        lead.email, lead.filled_by = None, "someone_else"
        lead.caregiver_first_name = "Carol"
    suppress_address(email=address, reason="complaint", now=NOW)
    db.session.commit()
    send_id = queue("confirmation", lead=lead, step=0)
    with smtp_server(recorder) as server:
        pg.config["SMTP_URL"] = f"smtp://127.0.0.1:{server.port}"
        with counting(pg) as (statements, _commits):
            assert deliver_as_the_task_does(send_id) == "cancelled"

    assert (row(send_id).status, row(send_id).finished_reason) == ("cancelled", "suppressed")
    assert recorder.envelopes == []
    assert not [s for s in statements if "suppressions" in s]


@pytest.mark.parametrize("suppressed", [False, True])
def test_a_staff_email_reads_its_suppression_on_its_own(pg, suppressed):
    staff = make_staff(email="owner@example.org")
    lead = make_lead(owner_id=staff.id)
    if suppressed:
        suppress_address(email="Owner@Example.org", reason="bounce", now=NOW)
    schedule_send(
        key=send_key(lead.id, "staff_new_lead", 1), cadence="staff_new_lead",
        template="staff_new_lead", due_at=NOW, now=NOW, lead_id=lead.id, staff_user_id=staff.id,
    )  # fmt: skip
    db.session.commit()
    send_id = db.session.scalar(db.select(Send.id).where(Send.staff_user_id == staff.id))
    with counting(pg) as (statements, _commits):
        outcome = deliver_as_the_task_does(send_id)

    assert outcome == ("cancelled" if suppressed else "sent")
    assert [s for s in statements if "suppressions" in s]
