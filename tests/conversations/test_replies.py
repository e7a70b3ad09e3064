"""The reply address: every patient email says where a reply goes (replies+<token>@...), the
token names the lead and nothing else, and staff emails carry no reply address at all."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import message_from_bytes, policy

from intake.conversations.replies import lead_for_token, reply_address, token_in, tokens_in
from intake.extensions import db
from intake.messaging.mail import deliver, render_message
from intake.models import Lead
from tests.factories import make_lead, make_send, make_staff
from tests.messaging.conftest import Recorder, smtp_server

NOW = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)
STAFF_TEMPLATES = ("staff_new_lead", "sla_reminder", "sla_escalation", "admin_alert")


def test_a_patient_email_says_reply_to_the_leads_own_reply_address(ctx):
    lead = make_lead()
    first = render_message(send=make_send("confirmation", lead=lead), now=NOW)
    second = render_message(send=make_send("nurture", step=1, lead=lead), now=NOW)

    token = db.session.get(Lead, lead.id).reply_token
    assert re.fullmatch(r"[a-z0-9]{20}", token)
    assert first.headers["Reply-To"] == f"replies+{token}@intake.local"
    assert second.headers["Reply-To"] == first.headers["Reply-To"]  # made once, then kept


def test_each_lead_has_its_own_token_and_it_says_nothing_about_them(ctx):
    ada, grace = make_lead(), make_lead(first_name="Grace", email="grace@example.org")
    addresses = {reply_address(ada), reply_address(grace)}

    assert len(addresses) == 2
    for address in addresses:  # nothing but the random token between "replies+" and "@"
        assert re.fullmatch(r"replies\+[a-z0-9]{20}@intake\.local", address)


def test_staff_emails_carry_no_reply_address(ctx):
    lead, staff = make_lead(), make_staff()
    lead.owner_id = staff.id
    messages = [
        render_message(send=make_send(template, lead=lead, staff=staff), now=NOW)
        for template in STAFF_TEMPLATES
    ]
    messages.append(render_message(send=make_send("staff_digest", staff=staff), now=NOW))

    for message in messages:
        assert "Reply-To" not in message.headers
    assert db.session.get(Lead, lead.id).reply_token is None


def test_the_reply_address_crosses_the_wire_to_a_real_smtp_server(app_factory):
    app, recorder = app_factory(), Recorder()
    with app.app_context(), smtp_server(recorder) as server:
        app.config["SMTP_URL"] = f"smtp://intake:s3cret@127.0.0.1:{server.port}"
        message = render_message(send=make_send("confirmation", lead=make_lead()), now=NOW)
        deliver(message)

    [envelope] = recorder.envelopes
    received = message_from_bytes(envelope.content, policy=policy.default)
    assert received["Reply-To"] == message.headers["Reply-To"]
    assert received["From"] == "The clinic <no-reply@intake.local>"


def test_the_clinic_can_name_its_reply_mailbox(app_factory):
    app = app_factory(INTAKE_REPLY_ADDRESS="Clínica Sol <Respuestas@Clinic.Example>")
    with app.app_context():
        lead = make_lead()
        address = reply_address(lead)
        assert address == f"Respuestas+{lead.reply_token}@Clinic.Example"
        assert token_in(f"respuestas+{lead.reply_token}@clinic.example") == lead.reply_token
        assert token_in(f"replies+{lead.reply_token}@clinic.example") is None
        assert token_in(f"respuestas+{lead.reply_token}@elsewhere.example") is None


def test_without_a_reply_address_the_mail_from_domain_is_used(app_factory):
    app = app_factory(INTAKE_MAIL_FROM="Clinic <hello@mail.clinic.example>")
    with app.app_context():
        lead = make_lead()
        assert reply_address(lead) == f"replies+{lead.reply_token}@mail.clinic.example"


def test_only_an_exact_token_names_a_lead(ctx):
    lead = make_lead()
    token = reply_address(lead).split("+")[1].split("@")[0]

    assert lead_for_token(token) is lead
    for other in (token.upper(), token[:-1], token + "a", f" {token}", "", "a" * 20, None):
        assert lead_for_token(other) is None
    lead.erased_at = NOW
    assert lead_for_token(token) is None


def test_tokens_are_found_among_recipients_in_any_header_form(ctx):
    lead = make_lead()
    address = reply_address(lead)
    values = [f'"Clinic replies" <{address}>, other@example.org', "someone@example.org"]

    assert tokens_in(values) == [lead.reply_token]
    assert tokens_in(["replies@intake.local", "replies+@intake.local"]) == [""]
