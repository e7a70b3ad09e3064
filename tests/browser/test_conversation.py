"""The conversation in Chromium (issue 13): a coordinator writes to the patient from the lead
page, a templated email and a text, each previewed and then sent; the ledger delivers them (the
email to the local capture, the text through the provider's own library to a loopback server
standing in for Twilio); the patient's text reply comes in by the signed webhook and shows in
the thread as new, and the nurture emails on the timeline show as cancelled. axe on every new
state of the lead page; the send form with the keyboard alone.

Not here: QUALITY.md holds staff pages to A1 (axe) but not to A3 (320 px), so the lead page is
not measured at 320 px."""

from __future__ import annotations

import re
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import pyotp
import pytest
from playwright.sync_api import Page, expect
from twilio.request_validator import RequestValidator

from intake.accounts.signin import open_totp_secret
from intake.extensions import db
from intake.jobs import relay_outbox
from intake.messaging.delivery import claim_send, finish_send
from intake.messaging.followups import patient_daytime
from intake.models import CapturedEmail, Lead, OutboxEvent, Send, StaffUser, Team
from tests.browser.conftest import DESKTOP, Keyboard
from tests.conftest import complete_inquiry
from tests.factories import PASSWORD
from tests.messaging.test_texts import TOKEN, provider, sms_url

pytestmark = pytest.mark.browser

HOOK = "/hooks/texts/twilio"
PATIENT_PHONE = "+12025550143"  # the inquiry's (202) 555-0143
PREVIEW = "Preview: what the patient will receive"
REPLY = "Tuesday at ten works for me."


@pytest.fixture
def text_provider():
    """A loopback HTTP server answering as Twilio does: (host, the requests it received)."""
    with provider() as found:
        yield found


@pytest.fixture
def app(app_factory, text_provider):
    """Texts go through the provider library to the loopback server, and its webhook is on."""
    return app_factory(SMS_URL=sms_url(text_provider[0]))


@pytest.fixture
def coordinator_and_lead(app, make_staff):
    """A coordinator of Team A, and Ada Byron's completed inquiry (consents to email, texts
    and follow-up emails) owned by them, her nurture emails planned by the relay the workers
    run, at the time the inquiry's event was written."""
    coordinator = make_staff(
        "coordinator", team="Team A", email="coord@clinic.example", name="Alan Turing"
    )
    complete_inquiry(app.test_client(), consent={"consent_text": "y"})
    with app.app_context():
        relay_outbox(now=db.session.scalar(db.select(db.func.max(OutboxEvent.created_at))))
        lead = db.session.scalar(db.select(Lead))
        lead.owner_id = coordinator
        lead.team_id = db.session.scalar(db.select(Team.id).where(Team.name == "Team A"))
        db.session.commit()
        nurture = db.session.scalars(db.select(Send).where(Send.cadence == "nurture")).all()
        assert nurture and all(send.status == "scheduled" for send in nurture)
        return lead.id, open_totp_secret(db.session.get(StaffUser, coordinator))


def sign_in(page: Page, live_server: str, secret: str) -> None:
    page.goto(f"{live_server}/staff/login")
    page.get_by_label("Email address").fill("coord@clinic.example")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert "/staff/login" not in page.url


def deliver_staff_messages(app) -> dict[str, str]:
    """As the delivery task does for each staff-written row (claim and commit, then finish),
    at its own due time, or a text's at the patient's next daytime; outcome by channel."""
    outcomes = {}
    with app.app_context():
        rows = db.session.scalars(db.select(Send).where(Send.cadence == "conversation")).all()
        for send in rows:
            at = send.due_at
            if send.channel == "text":
                at = patient_daytime(at, db.session.get(Lead, send.lead_id).time_zone)
            assert claim_send(send_id=send.id, now=at)
            db.session.commit()
            outcomes[send.channel] = finish_send(send_id=send.id, now=at, commit=db.session.commit)
            db.session.commit()
    return outcomes


def text_back(live_server: str, body: str) -> None:
    """The patient's text, posted by the provider to the webhook over HTTP, signed with the
    account's token over the public address (the live server is INTAKE_BASE_URL)."""
    form = {"MessageSid": "SM" + "7" * 32, "AccountSid": "AC0123", "From": PATIENT_PHONE,
            "To": "+15550100", "Body": body, "NumMedia": "0"}  # fmt: skip
    signature = RequestValidator(TOKEN).compute_signature(live_server + HOOK, form)
    request = Request(
        live_server + HOOK,
        data=urlencode(form).encode(),
        headers={"X-Twilio-Signature": signature},
        method="POST",
    )
    with urlopen(request, timeout=10) as answer:  # noqa: S310 (a loopback http URL)
        assert answer.status == 200


def settled(page: Page) -> None:
    """The page loaded and holding the focus: a key pressed before the new page has it can
    land on the document itself (Chromium headless, now and then), not on the next field."""
    page.wait_for_load_state()
    page.wait_for_function("document.hasFocus()")


def start_at_the_form(keys: Keyboard) -> None:
    """From the top of the page with keys only: the skip link, then past "Back to the leads"
    to the form, the first thing on the lead page one can change."""
    settled(keys.page)
    keys.press("Tab")
    expect(keys.page.locator(":focus")).to_have_text("Skip to main content")
    keys.keys.press("Enter")
    expect(keys.page.locator("main")).to_be_focused()
    keys.press("Tab")
    expect(keys.page.locator(":focus")).to_have_text("Back to the leads")


def write_form(page: Page):
    return page.locator("section#write")


def thread(page: Page):
    return page.locator("#conversation")


def test_a_coordinator_sends_an_email_and_a_text_and_the_patients_reply_stops_the_nurture(
    app, live_server, desktop_page, audit, script_errors, coordinator_and_lead, text_provider
):
    lead_id, secret = coordinator_and_lead
    page = desktop_page
    assert page.viewport_size == DESKTOP["viewport"]
    sign_in(page, live_server, secret)
    page.goto(f"{live_server}/staff/leads/{lead_id}")
    form = write_form(page)
    expect(form.get_by_role("heading", name="Write to the patient")).to_be_visible()
    expect(thread(page)).to_contain_text("No messages yet.")
    audit.check(page, "lead page with the send form")

    # An email from the template "First reply": filled in, previewed, sent.
    form.get_by_role("radio", name="Email").check()
    form.get_by_label("Template").select_option(label="First reply")
    form.get_by_role("button", name="Use this template").click()
    subject = form.get_by_label("Subject (emails only)")
    expect(subject).to_have_value("Thank you for your inquiry")
    expect(form.get_by_label("Message", exact=True)).to_have_value(re.compile(r"^Hello Ada,"))
    expect(form.get_by_role("region", name=PREVIEW)).to_be_visible()  # the words, previewed
    # Without a subject an email cannot go: the error is by the field.
    subject.fill("")
    form.get_by_role("button", name="Preview again").click()
    expect(page.locator("#message-subject-error")).to_contain_text("Write a subject")
    expect(form.get_by_label("Subject (emails only)")).to_have_attribute("aria-invalid", "true")
    audit.check(page, "send form, an email without a subject (error shown)")
    expect(form.get_by_role("region", name=PREVIEW)).to_have_count(0)
    form.get_by_label("Subject (emails only)").fill("Thank you for your inquiry")
    form.get_by_role("button", name="Preview", exact=True).click()
    preview = form.get_by_role("region", name=PREVIEW)
    expect(preview).to_contain_text("Hello Ada,")
    expect(preview).to_contain_text("My name is Alan")
    expect(preview).to_contain_text("ada.byron@example.org", ignore_case=True)
    assert "{{" not in preview.inner_text()
    audit.check(page, "send form, an email previewed")
    form.get_by_role("button", name="Send to the patient").click()
    expect(page.get_by_role("status")).to_contain_text("Message queued")
    expect(thread(page).locator("li")).to_have_count(1)
    expect(thread(page)).to_contain_text("Queued")

    # A text from "Could not reach you", the same way.
    form.get_by_role("radio", name="Text message").check()
    form.get_by_label("Template").select_option(label="Could not reach you")
    form.get_by_role("button", name="Use this template").click()
    expect(form.get_by_label("Message", exact=True)).to_have_value(re.compile("Ada"))
    preview = form.get_by_role("region", name=PREVIEW)
    expect(preview).to_contain_text(PATIENT_PHONE)
    expect(preview).to_contain_text("Goes as 1 text message")
    texted = preview.locator("pre").inner_text()
    assert "Ada" in texted and "{{" not in texted
    audit.check(page, "send form, a text previewed")
    form.get_by_role("button", name="Send to the patient").click()
    expect(page.get_by_role("status")).to_contain_text("Message queued")

    # The ledger delivers both: the email to the capture, the text to the provider.
    assert deliver_staff_messages(app) == {"email": "sent", "text": "sent"}
    with app.app_context():
        [mail] = db.session.scalars(db.select(CapturedEmail).where(
            CapturedEmail.subject == "Thank you for your inquiry")).all()  # fmt: skip
        assert mail.recipient.lower() == "ada.byron@example.org"
        assert "Hello Ada," in mail.text_body and "{{" not in mail.text_body
    [request] = text_provider[1]
    assert "Body=" + urlencode({"": texted})[1:] in request["body"].decode()
    page.reload()
    items = thread(page).locator("li")
    expect(items).to_have_count(2)
    for item, channel in zip((items.nth(0), items.nth(1)), ("Email", "Text message"), strict=True):
        expect(item.get_by_role("heading")).to_have_text(
            re.compile(f"^To the patient by {channel}", re.IGNORECASE)
        )
        expect(item.locator(".badge")).to_have_text("Sent")
    expect(items.nth(0)).to_contain_text("from Alan Turing")

    # The patient texts back; the reply is in the thread, new, and the nurture stops.
    text_back(live_server, REPLY)
    page.reload()
    expect(items).to_have_count(3)
    reply = items.nth(2)
    expect(reply.get_by_role("heading")).to_contain_text("From the patient by text")
    expect(reply).to_contain_text(REPLY)
    expect(reply.locator(".badge-new")).to_have_text("New")
    expect(items.nth(1).locator(".badge")).to_have_text("Replied")
    expect(thread(page)).to_contain_text("1 new reply.")
    timeline = page.locator("section", has=page.get_by_role("heading", name="Timeline"))
    expect(timeline).to_contain_text("Cancelled: Nurture email")
    expect(timeline).to_contain_text("because the lead was contacted")
    audit.check(page, "the thread with a new reply")
    with app.app_context():
        assert db.session.get(Lead, lead_id).status == "contacted"
        statuses = db.session.scalars(db.select(Send.status).where(Send.cadence == "nurture"))
        assert set(statuses) == {"cancelled"}

    thread(page).get_by_role("button", name="Mark as read").click()
    expect(reply).to_contain_text(REPLY)
    expect(thread(page).locator(".badge-new")).to_have_count(0)
    expect(thread(page)).not_to_contain_text("new reply")
    assert script_errors == []
    audit.assert_clean()


def test_the_send_form_works_with_the_keyboard_alone_and_enter_in_the_subject_previews(
    app, live_server, desktop_page, audit, script_errors, coordinator_and_lead
):
    lead_id, secret = coordinator_and_lead
    page = desktop_page
    sign_in(page, live_server, secret)
    page.goto(f"{live_server}/staff/leads/{lead_id}")
    keys = Keyboard(page)
    start_at_the_form(keys)

    # The next Tab: the group's chosen radio (Email, the default), not the hidden default
    # button that comes before it in the form.
    keys.tab_to("message-channel-0", most=1)
    expect(page.locator("#message-channel-0")).to_be_checked()
    keys.press("ArrowDown")  # to Text message and back: the arrows choose
    expect(page.locator("#message-channel-1")).to_be_checked()
    keys.press("ArrowUp")
    expect(page.locator("#message-channel-0")).to_be_checked()
    keys.tab_to("message-template", most=1)
    keys.keys.type("First")  # a closed list chooses by the first letters typed
    expect(page.locator("#message-template")).to_have_value("first_reply")
    keys.send("Use this template")

    subject = page.locator("#message-subject")
    expect(subject).to_have_value("Thank you for your inquiry")
    settled(page)
    # The page comes back at the form (its #write): Tab reaches the subject, then the message.
    keys.tab_to("message-subject", most=4)  # the channel, the template, its button, the subject
    keys.keys.press("End")
    keys.keys.type(", Ada")
    keys.keys.press("Enter")  # the hidden default button previews; it never refills
    preview = page.get_by_role("region", name=PREVIEW)
    expect(preview).to_contain_text("Thank you for your inquiry, Ada")
    expect(subject).to_have_value("Thank you for your inquiry, Ada")
    # The hidden default button is out of sight, out of the tab order and of the a11y tree.
    default = page.locator('section#write button[value="preview"].visually-hidden')
    expect(default).to_have_attribute("tabindex", "-1")
    expect(default).to_have_attribute("aria-hidden", "true")
    settled(page)

    keys.tab_to("message-subject", most=4)
    keys.tab_to("message-body", most=1)
    keys.send("Send to the patient")
    expect(page.get_by_role("status")).to_contain_text("Message queued")
    with app.app_context():
        [send] = db.session.scalars(db.select(Send).where(Send.cadence == "conversation")).all()
        assert send.channel == "email"
    expect(thread(page)).to_contain_text("Thank you for your inquiry, Ada")

    # And from scratch: after the body, Tab reaches Preview.
    page.goto(f"{live_server}/staff/leads/{lead_id}")
    start_at_the_form(keys)
    keys.tab_to("message-channel-0", most=1)
    keys.tab_to("message-template", most=1)
    keys.press("Tab")
    expect(page.locator(":focus")).to_have_text("Use this template")
    keys.tab_to("message-subject", most=1)
    keys.tab_to("message-body", most=1)
    keys.send("Preview")
    expect(write_form(page).locator(".error-message")).to_be_visible()  # nothing written yet
    audit.check(page, "send form, nothing written (error shown)")
    assert script_errors == []
    audit.assert_clean()
