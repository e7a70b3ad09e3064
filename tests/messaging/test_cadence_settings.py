"""Cadence settings an admin changes: what is planned next follows them, and a cadence switched
off stops the emails already queued, at send time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from intake.extensions import db
from intake.messaging.cadence_settings import (
    CadenceSettingError,
    effective_cadences,
    reset_cadence_setting,
    save_cadence_setting,
)
from intake.messaging.delivery import claim_send, finish_send
from intake.messaging.followups import plan_followups, stop_reason
from intake.models import Send, StaffUser
from tests.factories import NOW, make_inquiry, make_lead


@pytest.fixture
def admin(app):
    with app.app_context():
        user = StaffUser(
            email="admin@clinic.example", name="Admin", role="admin", password_hash="-"
        )
        db.session.add(user)
        db.session.commit()
        yield user


def save(admin, name: str = "nurture", *, enabled=True, steps="1d, 3d", quiet_hours=True):
    return save_cadence_setting(
        name=name, enabled=enabled, steps_text=steps, quiet_hours=quiet_hours, actor=admin, now=NOW
    )


def nurture_rows() -> list[Send]:
    return db.session.scalars(db.select(Send).where(Send.cadence == "nurture")).all()


def plan(lead, inquiry) -> int:
    return plan_followups(
        topic="inquiry.completed", lead_id=lead.id, inquiry_id=inquiry.id, now=NOW
    )


def test_without_changes_the_cadences_are_the_files(app):
    with app.app_context():
        nurture = effective_cadences()["nurture"]
        assert nurture.enabled and nurture.step_texts == ("1d", "3d", "7d", "14d")


def test_fewer_and_different_delays_are_what_gets_planned_next(app, admin):
    save(admin, steps="2d, 5d", quiet_hours=False)
    lead = make_lead()
    plan(lead, make_inquiry(lead, status="complete"))
    rows = sorted(nurture_rows(), key=lambda row: row.step)
    assert [row.step for row in rows] == [1, 2]
    assert [row.due_at - NOW for row in rows] == [timedelta(days=2), timedelta(days=5)]


def test_a_cadence_switched_off_plans_nothing_and_its_queued_emails_stop_when_due(app, admin):
    lead = make_lead()
    inquiry = make_inquiry(lead, status="complete")
    plan(lead, inquiry)
    queued = nurture_rows()
    assert queued
    save(admin, enabled=False, steps="1d, 3d, 7d, 14d")
    db.session.commit()

    assert all(stop_reason(row) == "cadence_off" for row in queued)
    due = NOW + timedelta(days=1, hours=1)
    assert claim_send(send_id=queued[0].id, now=due)
    db.session.commit()  # the worker's task claims and commits, then sends
    finish_send(send_id=queued[0].id, now=due, commit=db.session.commit)
    db.session.commit()
    stopped = db.session.get(Send, queued[0].id)
    assert (stopped.status, stopped.finished_reason, stopped.sent_at) == (
        "cancelled",
        "cadence_off",
        None,
    )
    other = make_lead(email="someone.else@example.org", phone="+12025550199")
    assert plan(other, make_inquiry(other, status="complete")) == 1  # the confirmation only


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ("", "at least one delay"),
        ("1d, 2d, 3d, 4d, 5d", "at most 4 delays"),
        ("1 day", "like 30m, 24h or 3d"),
        ("3d, 1d", "increasing order"),
        ("1d, 1d", "increasing order"),
    ],
)
def test_delays_that_cannot_work_are_refused_in_plain_words(app, admin, steps, message):
    with pytest.raises(CadenceSettingError, match=message):
        save(admin, steps=steps)


def test_an_unknown_cadence_is_refused_and_a_reset_returns_to_the_file(app, admin):
    with pytest.raises(CadenceSettingError, match="no cadence called"):
        save(admin, name="staff_digest")
    save(admin, steps="1d")
    assert effective_cadences()["nurture"].step_texts == ("1d",)
    assert reset_cadence_setting(name="nurture") is True
    assert effective_cadences()["nurture"].step_texts == ("1d", "3d", "7d", "14d")
    assert reset_cadence_setting(name="nurture") is False
