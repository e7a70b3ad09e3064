"""The outbox relay: each event claimed once, its cadences planned once, its lead routed; the
plan respects consent and the patient's quiet hours."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from intake.extensions import db
from intake.jobs import RouteLead, outbox_backlog, record_event, relay_outbox
from intake.messaging.cadences import load_cadences
from intake.messaging.followups import plan_followups
from intake.models import Lead, OutboxEvent, Send
from tests.conftest import CONTACT, STEPS, complete_inquiry, send_step
from tests.factories import NOW, make_inquiry, make_lead

MINUTE = timedelta(minutes=1)
DAYTIME = (time(8), time(20))


def the_lead_and_inquiries() -> tuple[int, list[int]]:
    lead = db.session.scalars(db.select(Lead)).one()
    return lead.id, [inquiry.id for inquiry in lead.inquiries]


def ledger() -> list[Send]:
    return db.session.scalars(db.select(Send).order_by(Send.cadence, Send.step, Send.id)).all()


def plan(*, cadence: str | None = None, status: str | None = None) -> list[tuple]:
    """(cadence, step, status, due_at) of each ledger row, optionally filtered."""
    return [
        (row.cadence, row.step, row.status, row.due_at)
        for row in ledger()
        if cadence in (None, row.cadence) and status in (None, row.status)
    ]


def relay(at: datetime) -> list:
    tasks = relay_outbox(now=at)
    db.session.commit()
    return tasks


def route(lead_id: int, trigger: str) -> RouteLead:
    return RouteLead(lead_id=lead_id, trigger=trigger)


def test_relaying_claims_each_event_once_plans_its_cadences_and_routes_the_lead(app):
    client = app.test_client()
    send_step(client, "/inquiry", {**CONTACT, "consent_resume": "y"})  # New York, by phone
    with app.app_context():
        lead_id, [inquiry_id] = the_lead_and_inquiries()

        assert relay(NOW) == [route(lead_id, "inquiry.started")]
        assert relay(NOW + MINUTE) == []
        [started] = db.session.scalars(db.select(OutboxEvent)).all()
        assert (started.published_at, started.attempts) == (NOW, 1)
        assert plan() == [
            ("resume_reminder", 1, "scheduled", NOW + timedelta(hours=1)),
            ("resume_reminder", 2, "scheduled", NOW + timedelta(hours=24)),
            ("resume_reminder", 3, "scheduled", NOW + timedelta(hours=72)),
        ]
        assert {row.inquiry_id for row in ledger()} == {inquiry_id}

    for url, answers in STEPS[1:]:
        assert send_step(client, url, answers).status_code in (302, 303)
    with app.app_context():
        done = NOW + 10 * MINUTE
        assert relay(done) == [route(lead_id, "inquiry.completed")]
        assert relay(done + MINUTE) == []
        assert [row.finished_reason for row in ledger() if row.cadence == "resume_reminder"] == [
            "inquiry_completed"
        ] * 3
        assert plan(status="scheduled") == [
            ("confirmation", 1, "scheduled", done),
            ("nurture", 1, "scheduled", done + timedelta(days=1)),
            ("nurture", 2, "scheduled", done + timedelta(days=3)),
            ("nurture", 3, "scheduled", done + timedelta(days=7)),
            ("nurture", 4, "scheduled", done + timedelta(days=14)),
        ]
        published = db.session.scalars(db.select(OutboxEvent.published_at)).all()
        assert sorted(published) == [NOW, done]


@pytest.mark.parametrize(
    ("contact", "consent", "planned"),
    [
        ({"consent_resume": "y"}, {}, {"confirmation": 1, "nurture": 4, "resume_reminder": 3}),
        ({}, {}, {"confirmation": 1, "nurture": 4}),
        ({}, {"consent_follow_up": ""}, {"confirmation": 1}),
        ({}, {"consent_email": "", "consent_follow_up": ""}, {}),
    ],
    ids=["every-consent", "no-reminders", "confirmation-only", "no-email-consent"],
)
def test_only_the_cadences_the_patient_consented_to_are_planned(app, contact, consent, planned):
    complete_inquiry(app.test_client(), inquiry=contact, consent=consent)
    with app.app_context():
        lead_id, _ = the_lead_and_inquiries()
        tasks = relay(NOW)

        assert tasks == [route(lead_id, "inquiry.started"), route(lead_id, "inquiry.completed")]
        counts: dict[str, int] = {}
        for row in ledger():
            counts[row.cadence] = counts.get(row.cadence, 0) + 1
        assert counts == planned
        reminders = {row.status for row in ledger() if row.cadence == "resume_reminder"}
        assert reminders <= {"cancelled"}  # the inquiry was completed in the same relay run


def test_planning_an_event_again_adds_no_ledger_rows(app):
    complete_inquiry(app.test_client(), inquiry={"consent_resume": "y"})
    with app.app_context():
        lead_id, [inquiry_id] = the_lead_and_inquiries()
        relay(NOW)
        before = [(row.key, row.status, row.due_at) for row in ledger()]
        for topic in ("inquiry.started", "inquiry.completed"):  # an event recorded twice
            record_event(topic=topic, now=NOW, lead_id=lead_id, inquiry_id=inquiry_id)
        db.session.commit()

        assert len(relay(NOW + timedelta(hours=1))) == 2
        plan_followups(topic="inquiry.completed", lead_id=lead_id, inquiry_id=inquiry_id, now=NOW)
        db.session.commit()
        assert [(row.key, row.status, row.due_at) for row in ledger()] == before
        assert len({row.key for row in ledger()}) == len(before) == 8


def test_a_second_inquiry_gets_its_own_confirmation_but_no_second_nurture_series(app):
    complete_inquiry(app.test_client())
    with app.app_context():
        relay(NOW)
    complete_inquiry(app.test_client())  # the same person again: the same lead
    with app.app_context():
        lead_id, inquiry_ids = the_lead_and_inquiries()
        relay(NOW + timedelta(hours=2))

        assert len(inquiry_ids) == 2
        confirmations = [row.inquiry_id for row in ledger() if row.cadence == "confirmation"]
        assert confirmations == inquiry_ids
        nurture = [row for row in ledger() if row.cadence == "nurture"]
        assert [row.step for row in nurture] == [1, 2, 3, 4]
        assert {row.inquiry_id for row in nurture} == {inquiry_ids[0]}


def test_planning_reports_how_many_messages_it_added(ctx):
    lead = make_lead()
    inquiry = make_inquiry(lead, status="complete")
    ids = {"lead_id": lead.id, "inquiry_id": inquiry.id}

    assert plan_followups(topic="inquiry.completed", now=NOW, **ids) == 5
    assert plan_followups(topic="inquiry.completed", now=NOW, **ids) == 0


def test_the_backlog_counts_waiting_events_and_the_age_of_the_oldest(ctx):
    assert outbox_backlog(now=NOW) == {"pending": 0, "oldest_age_seconds": 0.0}
    lead = make_lead(consents=())
    inquiry = make_inquiry(lead)
    for age in (90, 30):
        record_event(
            topic="inquiry.started", now=NOW - timedelta(seconds=age), lead_id=lead.id,
            inquiry_id=inquiry.id,
        )  # fmt: skip
    db.session.commit()

    assert outbox_backlog(now=NOW) == {"pending": 2, "oldest_age_seconds": 90.0}
    assert outbox_backlog(now=NOW + timedelta(seconds=0.4)) == {
        "pending": 2, "oldest_age_seconds": 90.4,
    }  # fmt: skip
    assert len(relay(NOW)) == 2
    assert outbox_backlog(now=NOW) == {"pending": 0, "oldest_age_seconds": 0.0}
    assert ledger() == []  # no consent, nothing planned; the lead is still routed


def local(zone: str, *wall_clock: int) -> datetime:
    return datetime(*wall_clock, tzinfo=ZoneInfo(zone))


def plan_everything(zone: str, at: datetime) -> None:
    """A lead in ``zone`` with every email consent starts and completes an inquiry at ``at``."""
    lead = make_lead(time_zone=zone)
    inquiry = make_inquiry(lead)
    for topic in ("inquiry.started", "inquiry.completed"):
        record_event(topic=topic, now=at, lead_id=lead.id, inquiry_id=inquiry.id)
        db.session.commit()
        relay(at)


# NOW is 23:00 in Tokyo (no daylight saving) and 06:00 in Los Angeles, which moves its clocks
# on 8 March 2026: 08:00 there is 16:00 UTC before and 15:00 UTC after.
@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("Asia/Tokyo", {
            ("resume_reminder", 1): (2026, 3, 4, 8), ("resume_reminder", 2): (2026, 3, 5, 8),
            ("resume_reminder", 3): (2026, 3, 7, 8), ("nurture", 1): (2026, 3, 5, 8),
            ("nurture", 2): (2026, 3, 7, 8), ("nurture", 3): (2026, 3, 11, 8),
            ("nurture", 4): (2026, 3, 18, 8),
        }),
        ("America/Los_Angeles", {
            ("resume_reminder", 1): (2026, 3, 3, 8), ("resume_reminder", 2): (2026, 3, 4, 8),
            ("resume_reminder", 3): (2026, 3, 6, 8), ("nurture", 1): (2026, 3, 4, 8),
            ("nurture", 2): (2026, 3, 6, 8), ("nurture", 3): (2026, 3, 10, 8),
            ("nurture", 4): (2026, 3, 17, 8),
        }),
    ],
)  # fmt: skip
def test_steps_falling_in_the_patients_night_are_planned_for_their_next_morning(
    ctx, zone, expected
):
    plan_everything(zone, NOW)

    due = {(row.cadence, row.step): row.due_at for row in ledger()}
    assert due.pop(("confirmation", 1)) == NOW  # no quiet hours: the patient just pressed Send
    assert due == {step: local(zone, *wall_clock) for step, wall_clock in expected.items()}


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/Los_Angeles", "Asia/Kolkata"])
@pytest.mark.parametrize("hour", [0, 5, 11, 14, 19, 22])
def test_every_planned_patient_step_falls_in_the_patients_daytime(ctx, zone, hour):
    at = NOW.replace(hour=hour, minute=45)
    plan_everything(zone, at)
    cadences = load_cadences()

    for row in ledger():
        cadence = cadences[row.cadence]
        earliest = at + cadence.steps[row.step - 1]
        if not cadence.quiet_hours:
            assert row.due_at == earliest
            continue
        local_time = row.due_at.astimezone(ZoneInfo(zone)).time()
        assert DAYTIME[0] <= local_time < DAYTIME[1], (row.cadence, row.step, local_time)
        assert earliest <= row.due_at < earliest + timedelta(hours=12)
