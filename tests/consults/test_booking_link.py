"""The ``{{ booking_link }}`` placeholder: the patient's link to choose a consult time, for the
first kind of consult offered; the same all day, so a message previewed is the message sent;
and a plain refusal when no kind of consult is offered."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from intake.consults.links import read_booking_token
from intake.conversations.placeholders import SAFE_FIELDS
from intake.conversations.templates import values_for
from intake.extensions import db
from intake.models import Lead, Send
from intake.staff.leads import lead_views, message_views
from tests.conftest import page
from tests.consults.factories import make_consult_type
from tests.factories import EMAIL_PURPOSES, NOW, make_lead, saved_lead
from tests.staff.leads.test_messages import post_message


def _token(link: str) -> str:
    return urlsplit(link).path.rsplit("/", 1)[-1]


def test_the_link_names_the_lead_and_the_first_consult_offered_and_lasts_the_day(app, make_staff):
    host = make_staff("clinician")
    with app.app_context():
        make_consult_type(hosts=[host], name="Retired", active=False)
        first = make_consult_type(hosts=[host], name="Video consult")
        make_consult_type(hosts=[host], name="Phone call")
        lead = make_lead(language="es")

        link = values_for(lead=lead, staff=None, language="es", now=NOW)["booking_link"]
        later = values_for(lead=lead, staff=None, language="es", now=NOW + timedelta(hours=9))
        tomorrow = values_for(lead=lead, staff=None, language="es", now=NOW + timedelta(days=1))

        assert "booking_link" in SAFE_FIELDS
        assert link.startswith("http") and parse_qs(urlsplit(link).query) == {"lang": ["es"]}
        named = read_booking_token(_token(link), now=NOW)
        assert (named.lead_id, named.consult_type_id) == (lead.id, first.id)
        days = app.config["INTAKE_CONSULT_LINK_DAYS"]
        assert NOW + timedelta(days=days) < named.expires_at <= NOW + timedelta(days=days + 1)
        assert later["booking_link"] == link  # the same all day: preview == send
        assert tomorrow["booking_link"] != link
        assert lead.first_name not in link and lead.email not in link


@pytest.fixture
def clock(monkeypatch):
    class Clock:
        now = NOW

    for module in (lead_views, message_views):
        monkeypatch.setattr(module, "utcnow", lambda: Clock.now)
    return Clock


def test_the_invitation_offers_the_link_and_what_was_previewed_is_sent(
    app, clock, make_staff, staff_client
):
    with app.app_context():
        make_consult_type(hosts=[make_staff("clinician")])
        db.session.commit()
    lead_id = saved_lead(app, consents=EMAIL_PURPOSES)
    client = staff_client("coordinator")

    filled = post_message(client, lead_id, "template", channel="email",
                          template="consult_invitation", subject="", body="")  # fmt: skip
    soup = page(filled)
    subject, body = soup.select_one("#message-subject")["value"], soup.select_one("#message-body")
    body = body.get_text().strip()
    link = next(word for word in body.split() if "/consult/" in word)
    with app.app_context():
        assert read_booking_token(_token(link), now=NOW).lead_id == lead_id
    clock.now = NOW + timedelta(hours=5)  # sent later the same day
    sent = post_message(client, lead_id, "send", previous=filled, channel="email",
                        subject=subject, body=body)  # fmt: skip

    assert sent.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Send.id).where(Send.lead_id == lead_id)) is not None


@pytest.mark.parametrize("channel", ["email", "text"])
def test_without_a_consult_offered_the_invitation_says_why_it_cannot_be_filled(
    app, clock, staff_client, channel
):
    lead_id = saved_lead(app, consents=(*EMAIL_PURPOSES, "contact_text"))
    client = staff_client("coordinator")

    response = post_message(client, lead_id, "template", channel=channel,
                            template="consult_invitation", subject="", body="")  # fmt: skip

    assert response.status_code == 422
    error = page(response).find(id="message-template-error").get_text(" ", strip=True)
    assert "{{ booking_link }} cannot be filled in: no kind of consult is offered yet" in error
    with app.app_context():
        assert db.session.get(Lead, lead_id).status == "new"
