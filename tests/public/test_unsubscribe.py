"""One-click unsubscribe: asking changes nothing; the page's button and RFC 8058 POST both act."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

import pytest

from intake.accounts.staff import create_staff_user
from intake.extensions import db
from intake.inquiries.consents import has_consent
from intake.messaging.sends import schedule_send
from intake.messaging.unsubscribe import (
    UNSUBSCRIBE_PURPOSES,
    UNSUBSCRIBE_TEXT_VERSION,
    unsubscribe_token,
)
from intake.models import Consent, Lead, Send
from intake.models.types import utcnow
from tests.conftest import complete_inquiry, page

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


@pytest.fixture
def subscribed(app):
    """A lead who consented to every email, with patient and staff emails queued; its token."""
    complete_inquiry(app.test_client(), inquiry={"consent_resume": "y"})
    now = utcnow()
    with app.app_context():
        lead = db.session.scalar(db.select(Lead))
        staff, _password = create_staff_user(
            email="casey@clinic.example", name="Casey", role="coordinator", now=now
        )
        db.session.flush()
        queued = [("nurture", 1, None), ("nurture", 2, None), ("staff_new_lead", 0, staff.id)]
        for cadence, step, staff_id in [("confirmation", 0, None), *queued]:
            schedule_send(
                key=f"{lead.id}:{cadence}:{step}",
                cadence=cadence,
                template=cadence,
                step=step,
                due_at=now + timedelta(days=step),
                now=now,
                lead_id=lead.id,
                staff_user_id=staff_id,
            )
        db.session.execute(
            db.update(Send).where(Send.cadence == "confirmation").values(status="sent")
        )
        db.session.commit()
        assert all(has_consent(lead_id=lead.id, purpose=p) for p in UNSUBSCRIBE_PURPOSES)
        return lead.id, unsubscribe_token(lead.id)


def statuses(app) -> dict[str, str]:
    with app.app_context():
        return {s.key.split(":", 1)[1]: s.status for s in db.session.scalars(db.select(Send))}


def withdrawals(app) -> list[Consent]:
    with app.app_context():
        return db.session.scalars(
            db.select(Consent).where(Consent.granted.is_(False), Consent.inquiry_id.is_(None))
        ).all()


def assert_unsubscribed(app, lead_id: int, sentence: str, source: str) -> None:
    recorded = withdrawals(app)
    assert sorted(c.purpose for c in recorded) == sorted(UNSUBSCRIBE_PURPOSES)
    digest = hashlib.sha256(sentence.encode()).hexdigest()
    for consent in recorded:
        assert (consent.lead_id, consent.source) == (lead_id, source)
        assert (consent.text_version, consent.text_hash) == (UNSUBSCRIBE_TEXT_VERSION, digest)
        assert abs(utcnow() - consent.recorded_at) < timedelta(minutes=1)
    assert statuses(app) == {
        "confirmation:0": "sent",
        "nurture:1": "cancelled",
        "nurture:2": "cancelled",
        "staff_new_lead:0": "scheduled",
    }
    with app.app_context():
        assert not any(has_consent(lead_id=lead_id, purpose=p) for p in UNSUBSCRIBE_PURPOSES)


def shown_sentence(response) -> str:
    return page(response).select_one("main .lead").get_text(strip=True)


def test_opening_the_link_asks_with_a_button_and_changes_nothing(app, client, subscribed):
    lead_id, token = subscribed

    response = client.get(f"/unsubscribe/{token}")

    assert response.status_code == 200
    form = page(response).select_one("main form")
    assert (form["method"], form["action"]) == ("post", f"/unsubscribe/{token}")
    assert form.find("button", type="submit").get_text(strip=True) == "Stop emails"
    assert withdrawals(app) == []
    assert set(statuses(app).values()) == {"sent", "scheduled"}
    with app.app_context():
        assert has_consent(lead_id=lead_id, purpose="contact_email")


def test_the_pages_button_unsubscribes_and_confirms(app, client, subscribed):
    lead_id, token = subscribed
    asked = client.get(f"/unsubscribe/{token}")

    response = client.post(page(asked).select_one("main form")["action"])

    assert response.status_code == 200
    assert "You will not get more emails" in page(response).get_text()
    assert_unsubscribed(app, lead_id, shown_sentence(asked), source="unsubscribe_page")


def test_a_mail_clients_one_click_post_unsubscribes_without_cookies_or_token(app, subscribed):
    lead_id, token = subscribed
    mail_client = app.test_client()  # a fresh client: no cookies, no CSRF token

    response = mail_client.post(f"/unsubscribe/{token}", data=ONE_CLICK)

    assert response.status_code == 200
    sentence = shown_sentence(app.test_client().get(f"/unsubscribe/{token}"))
    assert_unsubscribed(app, lead_id, sentence, source="one_click")


def test_unsubscribing_again_records_nothing_more(app, client, subscribed):
    _lead_id, token = subscribed
    client.post(f"/unsubscribe/{token}", data=ONE_CLICK)
    first = [(c.id, c.recorded_at) for c in withdrawals(app)]

    again = client.post(f"/unsubscribe/{token}", data=ONE_CLICK)

    assert again.status_code == 200
    assert [(c.id, c.recorded_at) for c in withdrawals(app)] == first


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_bad_token_gets_the_friendly_not_found_page(app, client, subscribed, method):
    _lead_id, token = subscribed
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")

    for bad in (tampered, "not-a-token", "x" * 300):
        response = getattr(client, method)(f"/unsubscribe/{bad}", data=ONE_CLICK)
        assert response.status_code == 404
        assert "Page not found" in page(response).get_text()
    assert withdrawals(app) == []


def test_the_link_token_stays_out_of_the_logs(app, client, subscribed, caplog):
    lead_id, token = subscribed
    caplog.set_level(logging.INFO)

    client.post(f"/unsubscribe/{token}", data=ONE_CLICK)

    [record] = [r for r in caplog.records if r.name == "intake.log"]
    assert record.lead_id == lead_id
    assert token not in caplog.text + " ".join(str(vars(r)) for r in caplog.records)


def test_a_genuine_link_for_a_lead_no_longer_here_confirms_and_records_nothing(app, client):
    with app.app_context():
        token = unsubscribe_token(424242)  # e.g. erased after a retention purge

    assert client.get(f"/unsubscribe/{token}").status_code == 200
    assert client.post(f"/unsubscribe/{token}", data=ONE_CLICK).status_code == 200
    assert withdrawals(app) == []
