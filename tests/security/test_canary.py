"""S-canary: a patient's whole journey with canary data, then a search for it everywhere it
must not be: logs (this process at DEBUG, the live server's access log, the worker and beat
logs), every command sent to Redis and every key left there (Celery messages and their task
arguments included), email subjects, emails to staff (the owner's notices of the patient's
replies among them), audit rows, health answers and the patient's own replies in the emails and
texts sent to the patient (the resume link asked for with "Save and finish later" among them),
error pages, and a database dump (for the sealed answers, notes and conversation).

The conversation (canary_conversation.py): staff write by email and text from the lead page; the
patient answers by email with a file attached (read from the reply mailbox by the worker) and by
text (the signed webhook). The staff's words reach the patient by design, so they are looked
for everywhere but there. Locally kept mail and texts (``captured_emails``, ``captured_texts``)
are the patient's own inbox and phone standing in for SMTP and the provider, plain by design
and erased with the lead: here both are configured, so both tables must stay empty and the
dump must hold no staff or patient words at all.

The consult (canary_consult.py): staff book one; the patient moves it and then cancels it from
the link in the confirmation; the host is told of both changes; the host's calendar feed and the
staff calendar pages are loaded. The calendar invitations and the feed must hold nothing of the
patient, and no log may hold the booking link's token or the feed's secret.

Real parts: a live server (werkzeug, in a thread), a Celery worker and beat with Redis, an SMTP
sink, an IMAP server (Dovecot), a loopback server taking the text provider library's requests,
the test database (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import json
import logging
from datetime import date
from pathlib import Path

import pytest
import redis

from intake.extensions import db
from intake.models import AuditEvent, CapturedEmail, CapturedText
from intake.models.types import utcnow
from tests.browser import conftest as browser_fixtures
from tests.conftest import CONSENT, HEALTH, complete_inquiry, page, send_step
from tests.conversations import conftest as conversation_fixtures
from tests.live import LiveClient, wait_until
from tests.security import canary_consult, canary_conversation
from tests.security.canary import (
    ABOUT_MS,
    ATTACHMENT_DATA,
    CONTACT,
    DATE_OF_BIRTH,
    NOTE,
    PATIENT_WORDS,
    PLAIN,
    SEALED,
    STAFF_SUBJECT,
    STAFF_TEXT,
    STAFF_WORDS,
    LogCapture,
    RedisMonitor,
    database_bytes,
    daytime_zone,
    hits,
    redis_snapshot,
)
from tests.workers import conftest as worker_fixtures
from tests.workers.conftest import (
    add_coordinator,
    first_nurture_step_due_now,
    publish,
    sends,
    the_lead,
)

pytestmark = pytest.mark.timeout(300)

# Fixtures used by name: the browser tests' live server.
live_server = browser_fixtures.live_server
# ... and the worker tests' Celery processes, SMTP sink and shared settings.
sink_class = worker_fixtures.sink_class
smtp_sink = worker_fixtures.smtp_sink
start_worker = worker_fixtures.start_worker
worker_app = worker_fixtures.worker_app
worker_settings = worker_fixtures.worker_settings
# ... and the conversation's reply mailbox and text provider.
dovecot = conversation_fixtures.dovecot
text_provider = canary_conversation.text_provider
STAFF_ADDRESS = "coordinator@clinic.example"
PATIENT_ADDRESSES = {CONTACT["email"], CONTACT["caregiver_email"]}


@pytest.fixture
def app(worker_app, worker_settings, dovecot, text_provider):
    """The live server, the staff fixtures and the workers all share the workers' settings."""
    canary_conversation.conversation_settings(
        worker_app, worker_settings, dovecot, text_provider[0]
    )
    return worker_app


def journey(app, base_url: str, admin) -> dict[str, bytes]:
    """The patient's visit (with a mistake on the way), the staff's work on the lead, and the
    error pages met on the way; returns those error pages."""
    patient = LiveClient(base_url)
    mistaken = send_step(patient, "/inquiry", {**CONTACT, "email": "zqcanary7 at example"})
    assert mistaken.status_code == 422
    assert "Zqcanary7first" in mistaken.get_data(as_text=True)  # their own answers, kept
    send_step(patient, "/inquiry", CONTACT)  # save and finish later: the link is emailed
    saved = send_step(patient, "/inquiry/about_ms", ABOUT_MS, action="save_later")
    assert "We are emailing you a link" in saved.get_data(as_text=True)
    wait_until(lambda: [row.status for row in sends(app, "resume_link")] == ["sent"])
    complete_inquiry(
        patient,
        inquiry=CONTACT,
        about_ms=ABOUT_MS,
        health={**HEALTH, "date_of_birth": date.fromisoformat(DATE_OF_BIRTH)},
        consent={**CONSENT, "consent_email": "y", "consent_follow_up": "y", "consent_text": "y"},
    )
    lead = the_lead(app)
    shown = admin.get(f"/staff/leads/{lead.id}")
    assert "Zqcanary7dmt" in shown.get_data(as_text=True)  # the admin reads the answers
    token = page(admin.get("/staff/")).find("input", {"name": "csrf_token"})["value"]
    found = admin.post("/staff/search", data={"csrf_token": token, "term": "Zqcanary7first"})
    assert "Zqcanary7last" in admin.get(found.headers["Location"]).get_data(as_text=True)
    token = page(shown).find("input", {"name": "csrf_token"})["value"]
    noted = admin.post(
        f"/staff/leads/{lead.id}/notes", data={"csrf_token": token, "note-text": NOTE}
    )
    assert noted.status_code == 303
    return {
        "staff 404": admin.get(f"/staff/leads/{lead.id + 1000}").get_data(),
        "public 404": patient.get("/inquiry/no-such-step").get_data(),
    }


def possible_duplicate_merged_and_undone(base_url: str, admin, lead) -> int:
    """Someone else starts an inquiry with the patient's phone: staff compare the two leads,
    merge them and undo the merge, on pages that show patient data."""
    twin = {**CONTACT, "first_name": "Zqcanary7twin", "email": "zqcanary7twin@example.org"}
    assert send_step(LiveClient(base_url), "/inquiry", twin).status_code == 302
    listed = page(admin.get("/staff/duplicates"))
    assert "Zqcanary7twin" in listed.get_text()
    pair_url = listed.find("a", href=lambda h: h and h.startswith("/staff/duplicates/"))["href"]
    compared = admin.get(pair_url)
    assert "Zqcanary7last" in compared.get_data(as_text=True)
    token = page(compared).find("input", {"name": "merge-csrf_token"})["value"]
    merged = admin.post(
        f"{pair_url}/merge", data={"merge-csrf_token": token, "merge-keep": str(lead.id)}
    )
    assert merged.status_code == 303
    shown = page(admin.get(f"/staff/leads/{lead.id}"))
    undo = shown.find("form", action=lambda a: a and a.endswith("/undo"))
    token = undo.find("input", {"name": "undo-csrf_token"})["value"]
    undone = admin.post(undo["action"], data={"undo-csrf_token": token, "undo-confirm": "y"})
    assert undone.status_code == 303
    return int(pair_url.rsplit("/", 1)[-1])


def attachment_downloaded(admin, lead_id: int) -> bytes:
    """The patient's file, from the link on the lead page (staff read it; nothing else may)."""
    shown = page(admin.get(f"/staff/leads/{lead_id}"))
    link = shown.find("a", href=lambda h: h and "/attachments/" in h)
    downloaded = admin.get(link["href"])
    assert downloaded.status_code == 200 and downloaded.get_data() == ATTACHMENT_DATA
    assert "zqcanary7scan.pdf" in downloaded.headers["Content-Disposition"]
    return admin.get(f"/staff/leads/{lead_id}/attachments/999999").get_data()


def audit_rows(app) -> list[str]:
    """Every audit row's action, target and detail, as JSON."""
    with app.app_context():
        rows = db.session.execute(db.select(AuditEvent.action, AuditEvent.target,
                                            AuditEvent.detail)).all()  # fmt: skip
        return [json.dumps(list(row), default=str) for row in rows]


def captured_rows(app) -> int:
    with app.app_context():
        return sum(
            db.session.scalar(db.select(db.func.count()).select_from(model))
            for model in (CapturedEmail, CapturedText)
        )


def test_canary_patient_data_is_found_nowhere_it_must_not_be(
    app, database_url, redis_url, smtp_sink, start_worker, live_server, make_staff, sign_in,
    worker_settings, dovecot, text_provider, capsys,
):  # fmt: skip
    sink, _ = smtp_sink
    texts = text_provider[1]
    add_coordinator(app, STAFF_ADDRESS)
    admin_id = make_staff("admin")
    admin = sign_in(app.test_client(), admin_id)
    with LogCapture() as logs, RedisMonitor(redis_url) as monitor:
        start_worker(beat=True, loglevel="DEBUG")
        error_pages = journey(app, live_server, admin)
        sink.wait_for(lambda m: m["Subject"] == "Your link to finish your inquiry")
        sink.wait_for(lambda m: m["Subject"] == "We have received your inquiry")
        sink.wait_for(lambda m: m["To"] == STAFF_ADDRESS)
        step_id = first_nurture_step_due_now(app, the_lead(app), zone=daytime_zone(utcnow()))
        publish(app, "email.deliver", send_ids=[step_id])
        wait_until(lambda: len([m for m in sink.messages if m["To"] == CONTACT["email"]]) >= 3)
        lead = the_lead(app)
        pair_id = possible_duplicate_merged_and_undone(live_server, admin, lead)
        error_pages["pair 404"] = admin.get(f"/staff/duplicates/{pair_id + 1000}").get_data()
        canary_conversation.conversation(
            app, live_server, admin, lead.id, sink, dovecot, texts, STAFF_ADDRESS
        )
        error_pages["attachment 404"] = attachment_downloaded(admin, lead.id)
        consulted = canary_consult.consult(
            app, live_server, admin, admin_id, lead.id, sink, STAFF_ADDRESS
        )
        error_pages.update(consulted.error_pages)
        left_in_redis = redis_snapshot(redis_url)
    instance = Path(worker_settings["INTAKE_INSTANCE_PATH"])
    worker_logs = b"".join(path.read_bytes() for path in instance.glob("*.log"))
    access = [line for line in logs.lines if '"name": "werkzeug"' in line]
    staff_mail = [m for m in sink.messages if m["To"] not in PATIENT_ADDRESSES]
    patient_mail = [m for m in sink.messages if m["To"] in PATIENT_ADDRESSES]
    # The subject staff wrote is the patient's email's subject, as written; nothing else may be.
    subjects = [str(m["Subject"]).replace(STAFF_SUBJECT, "") for m in sink.messages]
    patient_texts = canary_conversation.text_bodies(texts)
    audit = audit_rows(app)
    dump = database_bytes(database_url)
    counts = {
        "app_logs": hits("\n".join(logs.lines)),
        "access_log": hits("\n".join(access)),
        "worker_logs": hits(worker_logs),
        "redis_commands": hits("\n".join(monitor.commands)),
        "redis_keys": hits(left_in_redis),
        "subjects": hits("\n".join(subjects)),
        "staff_mail": hits(b"".join(m.as_bytes() for m in staff_mail)),
        "patient_mail_sealed": hits(
            b"".join(m.as_bytes() for m in patient_mail), SEALED + PATIENT_WORDS
        ),
        "patient_texts_sealed": hits("\n".join(patient_texts), SEALED + PATIENT_WORDS),
        "error_pages": hits(b"".join(error_pages.values())),
        "audit_rows": hits("\n".join(audit)),
        "consult_invitations": hits(b"".join(consulted.invitations)),
        "calendar_feed": hits(consulted.feed),
        "link_secrets_in_logs": hits(
            "\n".join(logs.lines).encode() + worker_logs, consulted.secrets
        ),
        "captured_rows": captured_rows(app),
        "dump_sealed": hits(dump, SEALED + STAFF_WORDS + PATIENT_WORDS),
    }
    # Each place was really searched: it holds what it should, and plain columns are in the dump.
    seen = {
        "log_lines": len(logs.lines),
        "access_lines": len(access),
        "worker_log_bytes": len(worker_logs),
        "redis_commands": len(monitor.commands),
        "task_messages": sum(
            "email.deliver" in c or "routing.route_lead" in c for c in monitor.commands
        ),  # fmt: skip
        "emails": len(sink.messages),
        "staff_emails": len(staff_mail),
        "reply_notices": sum(
            canary_conversation.REPLY_NOTICE in str(m["Subject"]) for m in staff_mail
        ),  # fmt: skip
        "message_audit_rows": sum('"lead.message_sent"' in row for row in audit),
        "reply_sweeps": sum("periodic.sweep_replies" in c for c in monitor.commands),
        "patient_texts": sum(STAFF_TEXT in body for body in patient_texts),
        "staff_words_to_patient": hits(b"".join(m.as_bytes() for m in patient_mail), STAFF_WORDS),
        "dump_plain": hits(dump, PLAIN),
        "consult_invitations": len(consulted.invitations),
        "consult_notices": sum(m["Subject"] == canary_consult.NOTICE for m in staff_mail),
        "feed_events": consulted.feed.count(b"BEGIN:VEVENT"),
        "calendar_pages": consulted.staff_pages,
        "masked_link_requests": sum(
            "/consult/<token>" in line or "/feed/<token>" in line for line in access
        ),
    }
    with capsys.disabled():
        backend = database_url.split(":", 1)[0]
        print(f"\nS-canary {backend} hits: {counts}\nS-canary {backend} searched: {seen}")
    assert all(count == 0 for count in counts.values()), counts
    assert seen["access_lines"] >= 5 and seen["task_messages"] >= 2, seen
    assert seen["staff_emails"] >= 1 and seen["dump_plain"] >= 2, seen
    assert seen["reply_notices"] == 2 and seen["reply_sweeps"] >= 1, seen
    assert seen["patient_texts"] == 1 and seen["staff_words_to_patient"] >= 2, seen
    assert seen["message_audit_rows"] == 2, seen
    assert seen["consult_invitations"] == 3 and seen["consult_notices"] == 2, seen
    assert seen["feed_events"] >= 1 and seen["calendar_pages"] == 2, seen
    assert seen["masked_link_requests"] >= 6, seen  # the link's and the feed's requests, masked
    assert b"text delivered" in worker_logs, "the worker sent no text"
    assert b"received" in worker_logs, "the worker logged nothing at INFO"


def test_the_scans_find_a_planted_canary(redis_url):
    """Each scan finds the canary when it is there: in a log record's extra fields, in a Redis
    value as Celery would write it (base64 JSON, seen both by MONITOR and in the snapshot), and
    URL-encoded. (The dump's scan is shown to work by the plain columns it must find.)"""
    with LogCapture() as logs:
        logging.getLogger("tests.canary").info("planted", extra={"value": CONTACT["first_name"]})
    assert hits("\n".join(logs.lines)) == 1
    client = redis.Redis.from_url(redis_url)
    body = base64.b64encode(json.dumps({"kwargs": {"email": CONTACT["email"]}}).encode())
    with RedisMonitor(redis_url) as monitor:
        client.set("canary-self-test", json.dumps({"body": body.decode()}))
    try:
        assert hits(redis_snapshot(redis_url)) == 1
        assert hits("\n".join(monitor.commands)) == 1
    finally:
        client.delete("canary-self-test")
    assert hits("/search?term=Zqcanary7first%20x") == 1
    assert hits("tel:+12025550199") == 1
