"""The confirmation by text for a patient who prefers texts and agreed to them: planned on the
text channel instead of email, written in the patient's language, checked again at send time;
the cadences whose consent names emails stay emails."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from intake.extensions import db
from intake.messaging.followups import plan_followups
from intake.models import CapturedEmail, CapturedText, Send
from tests.factories import NOW, make_inquiry, make_lead, record_consent
from tests.messaging.test_delivery import deliver_row, row

TEXTS = ("contact_text", "follow_up_emails")


def planned(lead) -> dict[str, str]:
    """Plan what a completed inquiry starts; each cadence and its channel."""
    inquiry = make_inquiry(lead, status="complete")
    plan_followups(topic="inquiry.completed", lead_id=lead.id, inquiry_id=inquiry.id, now=NOW)
    db.session.commit()
    rows = db.session.execute(select(Send.cadence, Send.channel).where(Send.lead_id == lead.id))
    return dict(rows.all())


def confirmation(lead) -> int:
    return db.session.scalar(
        select(Send.id).where(Send.lead_id == lead.id, Send.cadence == "confirmation")
    )


def test_a_patient_who_prefers_texts_gets_the_confirmation_by_text_and_nurture_by_email(ctx):
    lead = make_lead(consents=TEXTS, preferred_contact_method="text")

    assert planned(lead) == {"confirmation": "text", "nurture": "email"}
    assert deliver_row(confirmation(lead)) == "sent"

    (text,) = db.session.scalars(select(CapturedText)).all()
    assert text.recipient == "+12025550143"
    assert text.body.startswith("Hello Ada, this is the clinic. We have your inquiry")
    assert "Reply STOP" in text.body
    assert db.session.scalars(select(CapturedEmail)).all() == []


def test_the_text_is_in_the_patients_language(ctx):
    lead = make_lead(consents=TEXTS, preferred_contact_method="text", language="es")
    planned(lead)

    assert deliver_row(confirmation(lead)) == "sent"

    (text,) = db.session.scalars(select(CapturedText)).all()
    assert text.body.startswith("Hola, Ada. Le escribe la clínica. Tenemos su consulta")


@pytest.mark.parametrize(
    ("consents", "fields", "expected"),
    [
        (("contact_email",), {"preferred_contact_method": "text"}, {"confirmation": "email"}),
        (("contact_email",), {"preferred_contact_method": "email"}, {"confirmation": "email"}),
        (("contact_text",), {"preferred_contact_method": "email"}, {}),
        (("contact_text", "contact_email"), {"preferred_contact_method": "text", "phone": None},
         {"confirmation": "email"}),
    ],
)  # fmt: skip
def test_without_a_preference_for_texts_a_consent_to_them_and_a_number_it_stays_email(
    ctx, consents, fields, expected
):
    assert planned(make_lead(consents=consents, **fields)) == expected


def test_a_stop_that_arrives_before_the_text_goes_cancels_it(ctx):
    lead = make_lead(consents=TEXTS, preferred_contact_method="text")
    planned(lead)
    record_consent(lead, "contact_text", granted=False, at=NOW + timedelta(seconds=1))
    db.session.commit()

    assert deliver_row(confirmation(lead), NOW + timedelta(seconds=2)) == "cancelled"
    assert row(confirmation(lead)).finished_reason == "no_consent"
    assert db.session.scalars(select(CapturedText)).all() == []
