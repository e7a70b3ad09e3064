"""The audit log viewer: filters, newest-first pages, a safe CSV export and the chain check,
each of them audited in turn."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from sqlalchemy import select, text

from intake.audit.service import record_audit
from intake.extensions import db
from intake.models import AuditEvent
from intake.models.types import utcnow
from tests.factories import audit_count, last_audit
from tests.staff.conftest import csrf_token, page


def write(app, action, *, lead_ids=(), actor_id=None, outcome="ok", at=None, target=None):
    with app.app_context():
        record_audit(
            action=action,
            now=at or utcnow(),
            actor_id=actor_id,
            actor_role="coordinator",
            lead_ids=lead_ids,
            outcome=outcome,
            target=target,
            ip="10.0.0.1",
        )
        db.session.commit()


def seqs(html) -> list[int]:
    return [int(th.get_text()) for th in html.select("table.audit-table tbody th")]


def actions(html) -> list[str]:
    """Each row's action code (the cell shows its label; the code is what the filter takes)."""
    rows = html.select("table.audit-table tbody tr")
    return [row.find_all("td")[2]["data-action"] for row in rows]


def test_viewing_the_log_is_itself_audited(app, staff_client):
    client = staff_client("admin")
    before = audit_count(app)
    response = client.get("/staff/admin/audit")
    assert response.status_code == 200
    assert audit_count(app) == before + 1
    assert last_audit(app).action == "audit.viewed"


def test_filters_find_rows_by_actor_action_lead_outcome_and_date(app, staff_client, make_staff):
    client = staff_client("admin")
    someone = make_staff("coordinator")
    now = datetime(2026, 1, 12, 15, 0, tzinfo=UTC)
    write(app, "lead.viewed", lead_ids=[7, 12], actor_id=someone, at=now)
    write(app, "lead.viewed", lead_ids=[8], at=now)
    write(app, "lead.status_changed", lead_ids=[12], actor_id=someone, at=now)
    # 03:00 UTC on 2 January is still the evening of 1 January at the clinic (New York)
    write(app, "access.denied", outcome="denied", at=datetime(2026, 1, 2, 3, 0, tzinfo=UTC))

    def shown(**args) -> list[str]:
        return actions(page(client.get("/staff/admin/audit", query_string=args)))

    assert shown(actor=someone) == ["lead.status_changed", "lead.viewed"]
    assert shown(action="lead.") == ["lead.status_changed", "lead.viewed", "lead.viewed"]
    assert shown(action="lead._") == []  # the filter is literal text, not a pattern
    assert shown(lead=12) == ["lead.status_changed", "lead.viewed"]
    assert shown(outcome="denied") == ["access.denied"]
    on = {"action": "access.denied"}  # audit rows the test itself causes are at today's date
    assert shown(**on, date_from="2026-01-01", date_to="2026-01-01") == ["access.denied"]
    assert shown(**on, date_from="2026-01-02", date_to="2026-01-02") == []  # not the UTC date
    assert shown(action="lead.", date_from="2026-01-12", date_to="2026-01-12") == [
        "lead.status_changed",
        "lead.viewed",
        "lead.viewed",
    ]
    assert last_audit(app).lead_ids == [] and last_audit(app).detail["since"]
    shown(lead=12)
    assert (last_audit(app).lead_ids, last_audit(app).detail["lead_id"]) == ([12], 12)


def test_bad_filters_are_shown_beside_their_field_without_an_error_page(app, staff_client):
    client = staff_client("admin")
    response = client.get(
        "/staff/admin/audit", query_string={"lead": "abc", "date_from": "2026-13-40"}
    )
    assert response.status_code == 200
    html = page(response)
    assert html.find("input", {"name": "lead"})["aria-invalid"] == "true"
    assert html.find(id="date_from-error") is not None


def test_pages_run_newest_first_with_a_keyset_cursor(app, staff_client):
    client = staff_client("admin")
    for number in range(60):
        write(app, "lead.viewed", lead_ids=[number + 1])
    first = page(client.get("/staff/admin/audit", query_string={"action": "lead.viewed"}))
    assert seqs(first) == list(range(60, 10, -1))
    older = first.find("a", rel="next")["href"]
    assert "before=11" in older and "action=lead.viewed" in older
    second = page(client.get(older))
    assert seqs(second) == list(range(10, 0, -1))
    assert second.find("a", rel="next") is None


def test_the_csv_export_streams_every_match_defuses_formulas_and_is_audited(app, staff_client):
    client = staff_client("admin")
    write(app, "lead.viewed", lead_ids=[3], target='=HYPERLINK("http://evil")')
    write(app, "lead.viewed", lead_ids=[4], target="+1-2")
    write(app, "other.thing")
    before = audit_count(app)
    response = client.get("/staff/admin/audit/export.csv", query_string={"action": "lead.viewed"})
    assert response.is_streamed and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:3] == ["seq", "at", "actor_id"]
    targets = [row[8] for row in rows[1:]]
    assert targets == ["'+1-2", '\'=HYPERLINK("http://evil")']
    assert audit_count(app) == before + 1
    row = last_audit(app)
    assert (row.action, row.detail) == ("audit.exported", {"action": "lead.viewed"})


def test_verifying_an_intact_chain_says_so(app, staff_client):
    client = staff_client("admin")
    write(app, "lead.viewed", lead_ids=[1])
    token = csrf_token(client)
    before = audit_count(app)
    response = client.post("/staff/admin/audit/verify", data={"csrf_token": token})
    assert response.status_code == 302
    assert audit_count(app) == before + 1
    row = last_audit(app)
    assert (row.action, row.outcome, row.detail["first_broken_seq"]) == (
        "audit.verified",
        "ok",
        None,
    )
    assert "The audit chain is intact" in page(client.get(response.headers["Location"])).get_text()


def test_verifying_a_tampered_chain_names_the_first_broken_row(app, staff_client):
    client = staff_client("admin")
    for number in range(4):
        write(app, "lead.viewed", lead_ids=[number + 1])
    with app.app_context():
        tampered = db.session.scalar(
            select(AuditEvent.seq).where(AuditEvent.action == "lead.viewed").offset(2).limit(1)
        )
        db.session.execute(
            text("UPDATE audit_events SET detail = '{\"a\": 1}' WHERE seq = :seq"),
            {"seq": tampered},
        )
        db.session.commit()
    response = client.post("/staff/admin/audit/verify", data={"csrf_token": csrf_token(client)})
    row = last_audit(app)
    assert (row.action, row.outcome, row.detail["first_broken_seq"]) == (
        "audit.verified",
        "failed",
        tampered,
    )
    message = page(client.get(response.headers["Location"])).find(class_="flash-error").get_text()
    assert f"row {tampered}" in message
