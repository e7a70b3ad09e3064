"""Logs carry ids, never answers, contact details or link tokens."""

from __future__ import annotations

import logging

from intake.log import MaskTokens
from tests.conftest import CONTACT, complete_inquiry, page, send_step


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
