"""Dead letters (retry, discard) and the captured mail of the embedded mode."""

from __future__ import annotations

from intake.extensions import db
from intake.models import CapturedEmail, Send
from intake.models.types import utcnow
from tests.factories import ADDRESS, audit_count, last_audit, make_lead
from tests.staff.conftest import csrf_token, page

SANDBOX = (
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def make_dead_send(app, key="dead") -> tuple[int, int]:
    with app.app_context():
        lead = make_lead()
        send = Send(
            key=key,
            lead_id=lead.id,
            cadence="nurture",
            step=2,
            template="nurture",
            status="dead",
            due_at=utcnow(),
            attempts=6,
            last_error="SMTPServerDisconnected",
        )
        db.session.add(send)
        db.session.commit()
        return send.id, lead.id


def test_dead_letters_are_listed_with_their_lead_and_last_error(app, staff_client):
    client = staff_client("admin")
    send_id, lead_id = make_dead_send(app)
    before = audit_count(app)
    html = page(client.get("/staff/admin/mail/dead"))
    assert audit_count(app) == before + 1
    assert (last_audit(app).action, last_audit(app).lead_ids) == ("mail.dead_listed", [lead_id])
    row = html.find("th", string=f"#{send_id}").find_parent("tr")
    cells = [cell.get_text(" ", strip=True) for cell in row.find_all("td")]
    assert cells[:4] == ["Nurture email", "2", "6", "SMTPServerDisconnected"]
    assert row.find("a", string=f"Lead {lead_id}")["href"].endswith(f"/leads/{lead_id}")
    assert ADDRESS not in html.get_text()


def test_retrying_a_dead_letter_schedules_it_again_and_is_audited_once(app, staff_client):
    client = staff_client("admin")
    send_id, lead_id = make_dead_send(app)
    token = csrf_token(client)
    before = audit_count(app)
    response = client.post(f"/staff/admin/mail/dead/{send_id}/retry", data={"csrf_token": token})
    assert response.status_code == 302
    assert audit_count(app) == before + 1
    row = last_audit(app)
    assert (row.action, row.outcome, row.lead_ids, row.target) == (
        "mail.dead_retried",
        "ok",
        [lead_id],
        f"send:{send_id}",
    )
    with app.app_context():
        send = db.session.get(Send, send_id)
        assert (send.status, send.attempts) == ("scheduled", 0)


def test_discarding_a_dead_letter_cancels_it_for_good(app, staff_client):
    client = staff_client("admin")
    send_id, _ = make_dead_send(app)
    token = csrf_token(client)
    client.post(f"/staff/admin/mail/dead/{send_id}/discard", data={"csrf_token": token})
    with app.app_context():
        send = db.session.get(Send, send_id)
        assert (send.status, send.finished_reason) == ("cancelled", "discarded")
    before = audit_count(app)
    client.post(f"/staff/admin/mail/dead/{send_id}/retry", data={"csrf_token": token})
    assert audit_count(app) == before + 1
    assert (last_audit(app).action, last_audit(app).outcome) == ("mail.dead_retried", "failed")
    with app.app_context():
        assert db.session.get(Send, send_id).status == "cancelled"


def test_a_get_never_retries_a_dead_letter(app, staff_client):
    client = staff_client("admin")
    send_id, _ = make_dead_send(app)
    assert client.get(f"/staff/admin/mail/dead/{send_id}/retry").status_code == 405
    with app.app_context():
        assert db.session.get(Send, send_id).status == "dead"


def capture(app, count: int, recipient: str = ADDRESS) -> list[int]:
    with app.app_context():
        rows = [
            CapturedEmail(
                message_id=f"<{n}@test>",
                recipient=recipient,
                subject=f"Subject {n}",
                headers={"From": "clinic@example.org", "List-Unsubscribe": "<https://x/u>"},
                text_body=f"Hello <b>Ada</b> {n}",
                html_body=f"<p>Hello Ada {n}</p><script>alert(1)</script>",
            )
            for n in range(count)
        ]
        db.session.add_all(rows)
        db.session.commit()
        return [row.id for row in rows]


def test_captured_mail_is_listed_newest_first_a_page_at_a_time(app, staff_client):
    client = staff_client("admin")
    ids = capture(app, 55)
    before = audit_count(app)
    first = page(client.get("/staff/admin/mail/outbox"))
    assert audit_count(app) == before + 1 and last_audit(app).action == "mail.listed"
    subjects = [a.get_text() for a in first.select("tbody th a")]
    assert len(subjects) == 50 and subjects[0] == "Subject 54" and subjects[-1] == "Subject 5"
    older = first.find("a", rel="next")["href"]
    assert older.endswith(f"before={ids[5]}")
    second = page(client.get(older))
    assert [a.get_text() for a in second.select("tbody th a")] == [
        f"Subject {n}" for n in range(4, -1, -1)
    ]
    assert second.find("a", rel="next") is None


def test_reading_a_captured_message_is_audited_with_the_lead_it_went_to(app, staff_client):
    client = staff_client("admin")
    with app.app_context():
        lead_id = make_lead().id
        db.session.commit()
    (message_id,) = capture(app, 1)
    before = audit_count(app)
    response = client.get(f"/staff/admin/mail/outbox/{message_id}")
    assert audit_count(app) == before + 1
    row = last_audit(app)
    assert (row.action, row.lead_ids, row.detail) == ("mail.viewed", [lead_id], {"part": "text"})
    html = page(response)
    assert html.find("pre", class_="mail-text").get_text() == "Hello <b>Ada</b> 0"  # escaped, shown
    assert "List-Unsubscribe" in html.find("table").get_text()
    body = client.get(f"/staff/admin/mail/outbox/{message_id}/body.html")
    assert body.headers["Content-Security-Policy"] == SANDBOX
    assert audit_count(app) == before + 2
    assert client.get("/staff/admin/mail/outbox/999999").status_code == 404
