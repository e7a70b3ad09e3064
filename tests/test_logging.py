"""Logs carry ids, never answers, contact details or link tokens."""

from __future__ import annotations

import logging
from datetime import timedelta

from intake.consults.links import booking_token
from intake.log import MaskTokens
from tests.conftest import CONTACT, complete_inquiry, page, send_step
from tests.conversations import conftest as conversation_fixtures
from tests.conversations.conftest import email, patient, sweep
from tests.factories import NOW

# The reply mailbox's fixtures: a real Dovecot, and the app reading it.
dovecot = conversation_fixtures.dovecot
mailbox_app = conversation_fixtures.mailbox_app


def test_a_whole_inquiry_logs_ids_but_no_patient_data(app, caplog):
    caplog.set_level(logging.DEBUG)
    client = app.test_client()
    complete_inquiry(client, about_ms={"dmt_name": "Secretumab-CANARY"})
    send_step(client, "/inquiry", {**CONTACT, "email": "bad-CANARY-email"})  # an error page too

    records = [r for r in caplog.records if r.name == "intake.log"]
    assert any(getattr(r, "lead_id", None) for r in records)
    logged = caplog.text + " ".join(str(vars(r)) for r in caplog.records)
    for secret in ("Ada", "Byron", "ada.byron", "5550143", "Secretumab", "CANARY", "Ocrevus"):
        assert secret not in logged


def test_resume_tokens_are_masked_in_logged_urls(app):
    client = app.test_client()
    send_step(client, "/inquiry", CONTACT)
    saved = send_step(client, "/inquiry/about_ms", {}, action="save_later")
    link = page(saved).select_one(".resume-link a")["href"]
    token = link.rsplit("/", 1)[-1]

    record = logging.LogRecord(
        "gunicorn.access", logging.INFO, __file__, 1, '"GET %s HTTP/1.1" 302', (link,), None
    )
    MaskTokens().filter(record)
    assert token not in record.getMessage()
    assert "/inquiry/resume/<token>" in record.getMessage()


def test_consult_booking_tokens_are_masked_in_logged_urls_and_the_action_stays(app):
    """The booking link's token (in any language's address, and before /cancel) is masked;
    the staff's own consult routes, which hold no token, are left as they are."""
    with app.app_context():
        token = booking_token(lead_id=7, consult_type_id=3, expires_at=NOW + timedelta(days=1))
    lines = [
        f"/consult/{token}",
        f"/es/consult/{token}?lang=es&done=moved",
        f"/consult/{token}/cancel",
        "/staff/leads/7/consult",
    ]
    record = logging.LogRecord(
        "werkzeug", logging.INFO, __file__, 1, "%s %s %s %s", tuple(lines), None
    )
    MaskTokens().filter(record)
    assert token not in record.getMessage()
    assert record.args == (
        "/consult/<token>",
        "/es/consult/<token>?lang=es&done=moved",
        "/consult/<token>/cancel",
        "/staff/leads/7/consult",
    )


def test_the_reply_mailbox_sweep_logs_no_email_even_at_debug(mailbox_app, dovecot, caplog):
    """IMAPClient logs every line the server sends at DEBUG (a patient's whole email): its
    loggers are held at INFO, whatever LOG_LEVEL says."""
    caplog.set_level(logging.DEBUG)
    ada = patient(mailbox_app)
    dovecot.append(email(to=ada.reply_to, body="Secretumab-CANARY after 5", subject="Re: CANARY",
                         message_id="<log-1@example.org>"))  # fmt: skip
    assert sweep(mailbox_app)["reply"] == 1
    logged = caplog.text + " ".join(str(vars(r)) for r in caplog.records)
    assert "CANARY" not in logged and "ada.byron" not in logged
