"""Email rendering, delivery to a real SMTP server, local capture, unsubscribe tokens."""

from __future__ import annotations

import hashlib
import re
import socket
import time
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup

from intake.extensions import db
from intake.messaging.mail import (
    Message,
    PermanentMailError,
    TransientMailError,
    deliver,
    message_id_for,
    render_message,
)
from intake.messaging.unsubscribe import is_suppressed, read_unsubscribe_token, suppress_address
from intake.models import CapturedEmail, Inquiry, Lead, Suppression
from tests.conftest import ABOUT_MS, CONTACT, HEALTH, complete_inquiry, make_app, send_step
from tests.factories import make_inquiry, make_lead, make_send, make_staff
from tests.live import free_port
from tests.messaging.conftest import Answer, HangUp, Recorder, smtp_server

NOW = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)  # 09:00 in New York
BASE = "http://127.0.0.1:5000"
PATIENT_TEMPLATES = [("confirmation", 0), *[("nurture", step) for step in (1, 2, 3, 4)]]
STAFF_TEMPLATES = (
    "staff_new_lead", "sla_reminder", "sla_escalation", "admin_alert", "task_reminder",
    "task_escalation",
)  # fmt: skip

# Canary answers: none of these, nor the MS type or the eligibility outcome, may reach an email.
CANARY_ABOUT_MS = {
    "ms_type": "SPMS", "mobility": "walker", "dmt_name": "Zentravimab-CANARY",
    "symptoms": ["fatigue", "vision", "other"], "symptoms_other": "Canarytingle in the left foot",
    "prior_stem_cell": "yes", "prior_stem_cell_when": "Canaryville clinic",
}  # fmt: skip
CANARY_HEALTH = {"blood_thinners": "yes"}  # needs_review, with a reason naming the condition
FORBIDDEN = (
    "canary", "zentravimab", "spms", "secondary progressive", "rrms", "ppms", "relapsing",
    "walker", "tiredness", "eyesight", "blood thinner", "bleeding", "needs_review",
    "no_exclusion_found", "not_eligible", "eligib", "look at your answers", "multiple sclerosis",
    "1980-04-02",
)  # fmt: skip
FORBIDDEN_NUMBERS = ("4.5", "2015")  # EDSS and year of diagnosis, as whole tokens


CASEY = dict(name="Casey", email="casey@clinic.example", created_at=NOW)


def everything(message: Message) -> str:
    headers = "\n".join(f"{name}: {value}" for name, value in message.headers.items())
    return "\n".join((message.subject, headers, message.text, message.html))


def assert_no_health_data(message: Message) -> None:
    seen = everything(message).lower()
    for word in FORBIDDEN:
        assert word not in seen, word
    for number in FORBIDDEN_NUMBERS:
        assert not re.search(rf"(?<![\w.-]){re.escape(number)}(?![\w.-])", seen), number


@pytest.fixture
def canary_leads(app):
    """A submitted inquiry and a draft, both with canary health answers, via the real forms."""
    complete_inquiry(app.test_client(), about_ms=CANARY_ABOUT_MS, health=CANARY_HEALTH)
    draft = app.test_client()
    other = {**CONTACT, "email": "grace@example.org", "phone": "(202) 555-0178"}
    for url, answers in (
        ("/inquiry", other),
        ("/inquiry/about_ms", {**ABOUT_MS, **CANARY_ABOUT_MS}),
        ("/inquiry/health", {**HEALTH, **CANARY_HEALTH}),
    ):
        assert send_step(draft, url, answers).status_code == 302
    with app.app_context():
        leads = db.session.scalars(db.select(Lead).order_by(Lead.id)).all()
        assert [lead.eligibility_outcome for lead in leads] == ["needs_review", None]
        return [(lead.id, lead.inquiries[-1].id) for lead in leads]


def test_each_template_renders_plain_text_and_simple_html(ctx):
    lead, staff = make_lead(consents=()), make_staff(**CASEY)
    sends = [make_send(t, step=s, lead=lead) for t, s in PATIENT_TEMPLATES]
    sends.append(
        make_send(
            "resume_reminder",
            lead=lead,
            inquiry=make_inquiry(lead, unique_key=True, questionnaire_version="2026.11.1"),
        )
    )
    sends += [make_send(t, lead=lead, staff=staff) for t in STAFF_TEMPLATES]
    sends.append(make_send("staff_digest", staff=staff))

    for send in sends:
        message = render_message(send=send, now=NOW)
        assert message.subject and message.text.strip() and "\n\n\n" not in message.text
        soup = BeautifulSoup(message.html, "html.parser")
        assert soup.html["lang"] == "en" and soup.title.string == message.subject
        assert not soup.find_all(["img", "script", "link", "style", "iframe", "form", "base"])
        assert not soup.find_all(style=True) and not soup.find_all(src=True)
        assert all(a["href"].startswith(BASE + "/") for a in soup.find_all("a"))
    nurture = [render_message(send=s, now=NOW) for s in sends if s.template == "nurture"]
    assert len({m.subject for m in nurture}) == len({m.text for m in nurture}) == 4
    assert all("not medical advice" in m.text for m in nurture)


def test_patient_emails_carry_no_health_answers_outcome_or_ms_type(app, canary_leads):
    (lead_id, _inquiry_id), (_draft_lead_id, draft_id) = canary_leads
    with app.app_context():
        lead, draft = db.session.get(Lead, lead_id), db.session.get(Inquiry, draft_id)
        sends = [make_send(t, step=s, lead=lead) for t, s in PATIENT_TEMPLATES]
        sends.append(make_send("resume_reminder", lead=draft.lead, inquiry=draft))
        messages = [render_message(send=send, now=NOW) for send in sends]

    for message in messages:
        assert_no_health_data(message)
    assert {m.recipient for m in messages} == {"ada.byron@example.org", "grace@example.org"}
    assert all("Hello Ada," in m.text for m in messages)
    assert f"{BASE}/inquiry/resume/" in messages[-1].text


def test_staff_emails_carry_a_link_and_nothing_about_the_patient(app, canary_leads):
    (lead_id, _inquiry_id), _draft = canary_leads
    with app.app_context():
        lead, staff = db.session.get(Lead, lead_id), make_staff(**CASEY)
        lead.owner_id, lead.sla_due_at = staff.id, NOW + timedelta(hours=1)
        sends = [make_send(template, lead=lead, staff=staff) for template in STAFF_TEMPLATES]
        messages = [render_message(send=send, now=NOW) for send in sends]
        digest = render_message(send=make_send("staff_digest", staff=staff), now=NOW)

    for message in messages:
        assert message.recipient == "casey@clinic.example"
        assert f"{BASE}/staff/leads/{lead_id}" in message.text
        assert f'href="{BASE}/staff/leads/{lead_id}"' in message.html
    assert f'href="{BASE}/staff/"' in digest.html
    for message in [*messages, digest]:
        seen = everything(message)
        assert not re.search(r"\bAda\b|Byron|ada\.byron|example\.org|5550143|555-0143", seen)
        assert "List-Unsubscribe" not in message.headers
        assert_no_health_data(message)


def test_the_digest_counts_open_leads_and_first_contacts_due_today(ctx):
    staff, other = make_staff(**CASEY), make_staff(**{**CASEY, "email": "other@clinic.example"})
    make_lead(consents=(), owner_id=staff.id, sla_due_at=NOW + timedelta(hours=2))
    make_lead(consents=(), owner_id=staff.id, sla_due_at=NOW - timedelta(hours=1))
    make_lead(consents=(), owner_id=staff.id, sla_due_at=NOW + timedelta(days=1))
    make_lead(
        consents=(), owner_id=staff.id, sla_due_at=NOW, first_contacted_at=NOW, status="contacted"
    )
    make_lead(consents=(), owner_id=staff.id, sla_due_at=NOW, status="not_interested")
    make_lead(consents=(), owner_id=other.id, sla_due_at=NOW)

    message = render_message(send=make_send("staff_digest", staff=staff), now=NOW)

    assert all(n in message.text for n in ("Open leads: 4", "due today: 2", "overdue: 1"))


def test_the_message_id_is_stable_for_a_ledger_row_and_differs_between_rows(ctx):
    lead = make_lead(consents=())
    first, second = make_send("nurture", step=1, lead=lead), make_send("nurture", step=2, lead=lead)

    once, again = render_message(send=first, now=NOW), render_message(send=first, now=NOW)
    other = render_message(send=second, now=NOW)

    assert once.message_id == again.message_id == message_id_for(first)
    assert re.fullmatch(r"<[0-9a-f]{32}@intake\.local>", once.message_id)
    assert other.message_id != once.message_id
    key_hash = hashlib.sha256(first.key.encode()).hexdigest()
    assert once.headers["X-Intake-Idempotency-Key"] == key_hash
    assert first.key not in everything(once)


def test_patient_emails_offer_one_click_unsubscribe_in_headers_and_footer(ctx):
    lead = make_lead(consents=())
    message = render_message(send=make_send("confirmation", lead=lead), now=NOW)

    link = re.fullmatch(r"<(.+)>", message.headers["List-Unsubscribe"]).group(1)
    assert link.startswith(f"{BASE}/unsubscribe/")
    address = urlsplit(link)  # the page opens in the lead's language
    assert read_unsubscribe_token(address.path.rsplit("/", 1)[-1]) == lead.id
    assert address.query == "lang=en"
    assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link in message.text and f'href="{link}"' in message.html


def test_no_address_or_draft_means_no_message_and_a_caregiver_is_written_to_instead(ctx):
    by_phone, sent = (
        make_lead(consents=(), email=None),
        make_inquiry(
            unique_key=True, questionnaire_version="2026.11.1", lead=make_lead(consents=())
        ),
    )
    sent.status = "complete"  # nothing left to resume
    caregiver = make_lead(consents=(),
        email=None, filled_by="someone_else", caregiver_first_name="Mary",
        caregiver_email="mary@example.net",
    )  # fmt: skip
    inactive = make_staff(**CASEY, active=False)

    assert render_message(send=make_send("confirmation", lead=by_phone), now=NOW) is None
    assert render_message(send=make_send("staff_digest", staff=inactive), now=NOW) is None
    reminder = make_send("resume_reminder", lead=sent.lead, inquiry=sent)
    assert render_message(send=reminder, now=NOW) is None
    message = render_message(send=make_send("confirmation", lead=caregiver), now=NOW)
    assert message.recipient == "mary@example.net" and "Hello Mary," in message.text


def sample_message() -> Message:
    return Message(
        recipient="ada.byron@example.org", subject="We have received your inquiry",
        text="Hello Ada,\n", html="<p>Hello Ada,</p>", headers={"Auto-Submitted": "auto-generated"},
        message_id="<0123456789abcdef@intake.local>",
    )  # fmt: skip


def deliver_with(smtp_url: str, message: Message | None = None, **settings) -> None:
    app = make_app("sqlite://", SMTP_URL=smtp_url, **settings)
    with app.app_context():
        deliver(message or sample_message())


def test_a_rendered_email_arrives_at_a_real_smtp_server_with_login(app_factory):
    app = app_factory()
    recorder = Recorder()
    with app.app_context(), smtp_server(recorder) as server:
        app.config["SMTP_URL"] = f"smtp://intake:s3cret@127.0.0.1:{server.port}?starttls=false"
        message = render_message(
            send=make_send("confirmation", lead=make_lead(consents=())), now=NOW
        )
        deliver(message)
        assert db.session.scalar(db.select(db.func.count(CapturedEmail.id))) == 0

    [envelope] = recorder.envelopes
    assert recorder.authenticated == [True]
    assert (envelope.mail_from, envelope.rcpt_tos) == ("no-reply@intake.local", [message.recipient])
    received = message_from_bytes(envelope.content, policy=policy.default)
    assert (received["Message-ID"], received["Subject"]) == (message.message_id, message.subject)
    assert received["List-Unsubscribe"].strip() == message.headers["List-Unsubscribe"]  # folded
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert received["Date"] and received["From"] == "The clinic <no-reply@intake.local>"
    plain, html = (received.get_body((kind,)).get_content() for kind in ("plain", "html"))
    assert plain.replace("\r\n", "\n") == message.text
    assert html.replace("\r\n", "\n").strip() == message.html.strip()


@pytest.mark.parametrize(
    ("handler", "error", "code"),
    [
        (Answer(rcpt="451 4.3.0 Try again later"), TransientMailError, 451),
        (Answer(rcpt="550 5.1.1 No such user"), PermanentMailError, 550),
        (Answer(data="421 4.4.2 Closing"), TransientMailError, 421),
        (Answer(data="554 5.7.1 Rejected"), PermanentMailError, 554),
        (HangUp(), TransientMailError, None),
    ],
    ids=["451-rcpt", "550-rcpt", "421-data", "554-data", "hang-up"],
)
def test_smtp_failures_are_classified_transient_or_permanent(handler, error, code):
    with smtp_server(handler) as server, pytest.raises(error) as raised:
        deliver_with(f"smtp://127.0.0.1:{server.port}")

    assert raised.value.code == code
    assert "@" not in str(raised.value) and "ada" not in str(raised.value).lower()
    assert getattr(raised.value, "bounced", False) is (code == 550)
    assert raised.value.__suppress_context__  # the server's words (and address) stay out


def test_a_refused_connection_and_a_silent_server_are_transient_a_bad_login_permanent():
    with pytest.raises(TransientMailError, match="ConnectionRefusedError"):
        deliver_with(f"smtp://127.0.0.1:{free_port()}")
    with socket.socket() as silent:  # listens, never greets
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"smtp://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(TransientMailError, match="TimeoutError|SMTPServerDisconnected"):
            deliver_with(url, INTAKE_SMTP_TIMEOUT=0.3)  # smtplib reports a read timeout as a
        assert time.monotonic() - started < 5  # disconnect; either way, the timeout was kept
    with smtp_server(Recorder()) as server, pytest.raises(PermanentMailError) as raised:
        deliver_with(f"smtp://intake:wrong@127.0.0.1:{server.port}")
    assert (raised.value.code, raised.value.bounced) == (535, False)  # our setup, not a bounce


def test_without_smtp_url_the_email_is_captured_once_however_often_delivered(app_factory):
    app = app_factory(SMTP_URL=None)
    with app.app_context():
        message = render_message(
            send=make_send("confirmation", lead=make_lead(consents=())), now=NOW
        )
        deliver(message)
        deliver(message)
        db.session.commit()
    with app.app_context():
        deliver(message)
        db.session.commit()
        [captured] = db.session.scalars(db.select(CapturedEmail)).all()

    assert (captured.message_id, captured.recipient) == (message.message_id, message.recipient)
    assert (captured.subject, captured.text_body) == (message.subject, message.text)
    assert captured.html_body == message.html
    assert captured.headers["List-Unsubscribe"] == message.headers["List-Unsubscribe"]


def test_an_address_is_suppressed_once_whatever_its_case(ctx):
    suppress_address(email="Ada.Byron@Example.org", reason="bounce", now=NOW)
    suppress_address(email="ada.byron@example.org", reason="complaint", now=NOW)

    assert db.session.scalar(db.select(db.func.count(Suppression.id))) == 1
    assert is_suppressed("ADA.BYRON@example.org") and not is_suppressed("grace@example.org")


def test_a_staff_email_writes_its_time_as_staff_pages_do_in_the_readers_zone(app):
    with app.app_context():
        staff = make_staff(**CASEY, time_zone="Europe/Paris")
        lead = make_lead(consents=(), owner_id=staff.id, sla_due_at=NOW + timedelta(hours=1))
        message = render_message(send=make_send("sla_reminder", lead=lead, staff=staff), now=NOW)

    # NOW + 1 h is 15:00 UTC on Tuesday 3 March 2026: 16:00 in Paris.
    assert "due by Tue 3 Mar 2026, 16:00 CET (your time)" in message.text
