"""The text provider's inbound webhook: signed by the provider's own validator over the public
address, recorded once on the right lead, keywords turned into consent changes (S-inbound)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from twilio.request_validator import RequestValidator

from intake.conversations.inbound import open_text
from intake.conversations.texts import KEYWORD_TEXT_VERSION, help_reply, keyword_kind
from intake.extensions import db
from intake.hooks import texts as hook
from intake.models import Consent, ConversationMessage, Lead, Send
from tests.factories import NOW, make_lead, make_send

TOKEN = "twilio-auth-token"
BASE = "https://intake.clinic.example"
HOOK = "/hooks/texts/twilio"
NUMBER = "+12025550143"  # the factories' lead's phone


@pytest.fixture
def app(app_factory, monkeypatch):
    monkeypatch.setattr(hook, "utcnow", lambda: NOW)
    return app_factory(
        SMS_URL=f"twilio://AC0123:{TOKEN}@api.twilio.com?from=%2B15550100",
        INTAKE_BASE_URL=BASE,
        INTAKE_CLINIC_NAME="Clínica Sol",
        WTF_CSRF_ENABLED=True,  # as in production: the route must not need a token
    )


def text(body: str, *, sid: str = "SM0001", sender: str = NUMBER) -> dict:
    """The form Twilio posts for an incoming text (the fields that matter, and a few others)."""
    return {"MessageSid": sid, "SmsSid": sid, "AccountSid": "AC0123", "From": sender,
            "To": "+15550100", "Body": body, "NumMedia": "0"}  # fmt: skip


def signed(form: dict, url: str = BASE + HOOK, token: str = TOKEN) -> dict:
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(url, form)}


def post(app, form: dict, headers: dict | None = None):
    headers = signed(form) if headers is None else headers
    return app.test_client().post(HOOK, data=form, headers=headers)


def lead_with_sends(app, **fields) -> tuple[int, int, int, int]:
    """A lead who consented to texts, with a nurture email and a staff text still queued, and
    a sent text before them: (lead, nurture email, queued text, sent text) ids."""
    with app.app_context():
        lead = make_lead(consents=("contact_email", "follow_up_emails", "contact_text"), **fields)
        nurture = make_send("nurture", step=1, lead=lead, at=NOW + timedelta(days=1))
        queued = make_send("conversation", step=2, lead=lead, at=NOW + timedelta(hours=1))
        queued.channel = "text"
        earlier = make_send("conversation", step=1, lead=lead, at=NOW - timedelta(hours=2))
        earlier.channel, earlier.status = "text", "sent"
        out = ConversationMessage(lead_id=lead.id, at=NOW - timedelta(hours=2), direction="out",
                                  channel="text", kind="message", send_id=earlier.id)  # fmt: skip
        db.session.add(out)
        db.session.commit()
        return lead.id, nurture.id, queued.id, out.id


def thread(app, lead_id: int) -> list[ConversationMessage]:
    with app.app_context():
        rows = db.session.scalars(
            db.select(ConversationMessage)
            .where(ConversationMessage.lead_id == lead_id, ConversationMessage.direction == "in")
            .order_by(ConversationMessage.id)
        ).all()
        db.session.expunge_all()
        return rows


def text_consents(app, lead_id: int) -> list[tuple[bool, str]]:
    with app.app_context():
        rows = db.session.scalars(
            db.select(Consent)
            .where(Consent.lead_id == lead_id, Consent.purpose == "contact_text")
            .order_by(Consent.recorded_at, Consent.id)
        )
        return [(row.granted, row.source, row.text_version, len(row.text_hash)) for row in rows]


def statuses(app, *send_ids: int) -> list[tuple[str, str | None]]:
    with app.app_context():
        return [
            (send.status, send.finished_reason)
            for send in (db.session.get(Send, send_id) for send_id in send_ids)
        ]


def twiml_messages(response) -> list[str]:
    import xml.etree.ElementTree as ET  # noqa: N817 (the stdlib's own short name)

    root = ET.fromstring(response.get_data())  # noqa: S314 (our own response)
    assert root.tag == "Response"
    return [element.text for element in root.iter("Message")]


def test_a_signed_reply_is_recorded_sealed_on_the_lead_and_stops_the_nurture_emails(app):
    lead_id, nurture, queued, out = lead_with_sends(app)
    response = post(app, text("Yes, call me after 5 please"))
    assert response.status_code == 200 and response.mimetype == "text/xml"
    assert twiml_messages(response) == []
    [reply] = thread(app, lead_id)
    assert (reply.kind, reply.channel, reply.external_id) == ("reply", "text", "SM0001")
    assert reply.in_reply_to_id == out and reply.at == NOW
    assert "call me" not in reply.body_sealed
    with app.app_context():
        assert open_text(db.session.get(ConversationMessage, reply.id), "body") == (
            "Yes, call me after 5 please"
        )
        assert db.session.get(Lead, lead_id).status == "contacted"
    assert statuses(app, nurture, queued) == [("cancelled", "contacted"), ("scheduled", None)]


def test_stop_withdraws_text_consent_and_cancels_the_queued_texts_only(app):
    lead_id, nurture, queued, _out = lead_with_sends(app, status="contacted")
    response = post(app, text("  Stop "))
    assert response.status_code == 200 and twiml_messages(response) == []
    assert [m.kind for m in thread(app, lead_id)] == ["stop"]
    assert text_consents(app, lead_id)[-1] == (False, "text_keyword", KEYWORD_TEXT_VERSION, 64)
    assert statuses(app, queued, nurture) == [("cancelled", "text_stop"), ("scheduled", None)]


def test_start_after_stop_grants_text_consent_again_and_a_second_stop_adds_no_record(app):
    lead_id, *_ = lead_with_sends(app, status="contacted")
    for sid, body in (("SM1", "STOP"), ("SM2", "parar"), ("SM3", "start")):
        assert post(app, text(body, sid=sid)).status_code == 200
    assert [m.kind for m in thread(app, lead_id)] == ["stop", "stop", "start"]
    assert [granted for granted, *_ in text_consents(app, lead_id)] == [True, False, True]


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", ("Reply STOP", "inquiry")), ("es", ("Responda STOP", "solicitud"))],
)
def test_help_is_answered_with_the_clinics_name_and_how_to_stop_in_the_leads_language(
    app, language, words
):
    lead_id, *_ = lead_with_sends(app, language=language, status="contacted")
    response = post(app, text("help" if language == "en" else "Ayuda"))
    [answer] = twiml_messages(response)
    assert answer.startswith("Clínica Sol: ") and all(word in answer for word in words)
    assert [m.kind for m in thread(app, lead_id)] == ["help"]
    assert text_consents(app, lead_id) == [(True, "inquiry_form", "test", 64)]


def test_a_retried_webhook_records_nothing_twice(app):
    lead_id, *_ = lead_with_sends(app, status="contacted")
    for _ in range(3):
        assert post(app, text("STOP", sid="SMretried")).status_code == 200
    assert len(thread(app, lead_id)) == 1
    assert len(text_consents(app, lead_id)) == 2  # the form's grant, one withdrawal


def _nothing_recorded(app, lead_id):
    assert thread(app, lead_id) == []
    assert [granted for granted, *_ in text_consents(app, lead_id)] == [True]


@pytest.mark.parametrize(
    "headers",
    [
        {},  # unsigned
        {"X-Twilio-Signature": ""},
        {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},
        signed(text("STOP"), token="another-accounts-token"),
        signed(text("STOP"), url="http://localhost" + HOOK),  # the Host the app sees
        signed(text("STOP"), url="https://elsewhere.example" + HOOK),
        signed(text("START")),  # signed for another body
    ],
)
def test_unsigned_or_wrongly_signed_texts_are_refused_and_record_nothing(app, headers):
    lead_id, _nurture, queued, _out = lead_with_sends(app, status="contacted")
    response = post(app, text("STOP"), headers=headers)
    assert response.status_code == 403
    _nothing_recorded(app, lead_id)
    assert statuses(app, queued) == [("scheduled", None)]


def test_a_signature_covers_the_query_string_of_the_configured_address(app):
    lead_id, *_ = lead_with_sends(app, status="contacted")
    form = text("Hello")
    client = app.test_client()
    wrong = client.post(HOOK + "?x=1", data=form, headers=signed(form))
    assert wrong.status_code == 403
    right = client.post(HOOK + "?x=1", data=form, headers=signed(form, url=f"{BASE}{HOOK}?x=1"))
    assert right.status_code == 200 and len(thread(app, lead_id)) == 1


def test_a_text_from_an_unknown_or_unreadable_number_records_nothing(app):
    lead_id, *_ = lead_with_sends(app, status="contacted")
    for sid, sender in (("SM1", "+12025550199"), ("SM2", "not a number"), ("SM3", "12345")):
        response = post(app, text("STOP", sid=sid, sender=sender))
        assert response.status_code == 200 and twiml_messages(response) == []
    _nothing_recorded(app, lead_id)


def test_the_help_answer_names_the_built_in_clinic_with_a_capital(app_factory):
    app = app_factory()
    with app.app_context():
        assert help_reply("es").startswith("La clínica: ")
        assert help_reply("en").startswith("The clinic: ")


def test_without_sms_url_the_webhook_is_not_there(app_factory):
    app = app_factory(SMS_URL=None)
    assert post(app, text("STOP")).status_code == 404


def test_a_shared_number_goes_to_the_lead_last_texted_else_the_latest_inquiry(app):
    with app.app_context():
        texted = make_lead(first_name="Texted", last_inquiry_at=NOW - timedelta(days=9))
        newest = make_lead(first_name="Newest", last_inquiry_at=NOW - timedelta(days=1))
        older = make_lead(first_name="Older", last_inquiry_at=NOW - timedelta(days=5))
        merged = make_lead(status="merged", merged_into_id=older.id, last_inquiry_at=NOW)
        erased = make_lead(erased_at=NOW, last_inquiry_at=NOW)
        carer = make_lead(
            phone="+12025550100", filled_by="someone_else", caregiver_phone=NUMBER,
            last_inquiry_at=NOW - timedelta(days=3),
        )  # fmt: skip
        ids = {lead.first_name: lead.id for lead in (texted, newest, older, carer)}
        gone = (merged.id, erased.id)
        db.session.commit()
    assert post(app, text("Hello", sid="SM1")).status_code == 200
    assert len(thread(app, ids["Newest"])) == 1  # newest inquiry; merged and erased skipped
    with app.app_context():
        earlier = NOW - timedelta(days=2)
        db.session.add(ConversationMessage(lead_id=ids["Texted"], at=earlier, direction="out",
                                           channel="text", kind="message"))  # fmt: skip
        db.session.commit()
    assert post(app, text("Hello again", sid="SM2")).status_code == 200
    assert len(thread(app, ids["Texted"])) == 1
    assert all(thread(app, lead_id) == [] for lead_id in gone)


def test_a_caregivers_number_finds_the_lead_they_wrote_for(app):
    with app.app_context():
        lead = make_lead(phone=None, filled_by="someone_else", caregiver_phone="+12025550177")
        db.session.commit()
        lead_id = lead.id
    assert post(app, text("ok", sender="+1 (202) 555-0177")).status_code == 200
    assert [m.kind for m in thread(app, lead_id)] == ["reply"]


@pytest.mark.parametrize(
    ("body", "kind"),
    [("STOP", "stop"), (" stopall\n", "stop"), ("Unsubscribe", "stop"), ("cancel", "stop"),
     ("END", "stop"), ("quit", "stop"), ("Parar", "stop"), ("ALTO", "stop"), ("baja", "stop"),
     ("START", "start"), ("yes", "start"), ("Unstop", "start"), ("alta", "start"),
     ("HELP", "help"), ("info", "help"), ("AYUDA", "help"),
     ("stop please", "reply"), ("Please STOP texting", "reply"), ("", "reply"), ("ok", "reply")],
)  # fmt: skip
def test_a_keyword_is_the_whole_message_in_any_case(body, kind):
    assert keyword_kind(body) == kind
