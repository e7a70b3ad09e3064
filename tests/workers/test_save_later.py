"""Save and finish later with real parts: the patient presses the button, and the link they
asked for arrives at once through the send ledger, a real worker and an SMTP server, with no
health information in it; the emailed link opens the draft and greets them back."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ABOUT_MS, CONTACT, page, send_step
from tests.live import wait_until
from tests.workers.conftest import PATIENT, sends

pytestmark = pytest.mark.timeout(180)


def test_the_resume_link_is_emailed_at_once_and_opens_the_draft(
    worker_app, smtp_sink, start_worker
):
    sink, _ = smtp_sink
    start_worker()  # no beat: only the web process's nudge can get the email out quickly
    client = worker_app.test_client()
    send_step(client, "/inquiry", CONTACT)
    saved = send_step(
        client, "/inquiry/about_ms", {**ABOUT_MS, "dmt_name": "Canarimab"}, action="save_later"
    )
    assert "We are emailing you a link" in page(saved).get_text()

    [mail] = sink.wait_for(lambda m: m["Subject"] == "Your link to finish your inquiry")
    assert mail["To"] == PATIENT
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert text.startswith("Hello Ada,")
    for health in ("Canarimab", "Ocrevus", "RRMS", "relapsing", "cane", "4.5"):
        assert health not in text and health not in html and health not in mail["Subject"]
    # The worker records "sent" just after the SMTP server's reply, so the row may lag the mail.
    wait_until(lambda: [row.status for row in sends(worker_app, "resume_link")] == ["sent"])

    link = re.search(r"https://intake\.test(/inquiry/resume/\S+)", text).group(1)
    elsewhere = worker_app.test_client()  # another device: no cookie of the first
    opened = elsewhere.get(link)
    assert opened.status_code == 302 and opened.location.endswith("/inquiry/health")
    greeting = page(elsewhere.get("/inquiry/health")).select_one(".welcome").get_text(" ")
    assert "Welcome back, Ada." in greeting
    assert "You had finished step 2 of 4: About your MS." in " ".join(greeting.split())
