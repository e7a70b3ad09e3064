"""CSV export of the queue: the same filters and scope, streamed, audited before it starts,
contact and pipeline columns only, and safe to open in a spreadsheet."""

from __future__ import annotations

import codecs
import csv
import io

from bs4 import BeautifulSoup
from sqlalchemy import insert, select

from intake.extensions import db
from intake.models import AuditEvent, Lead, Team
from tests.factories import LEAD, audit_count, saved_lead
from tests.staff.conftest import QueryCounter

COLUMNS = [
    "id", "created", "status", "owner", "team", "source", "campaign", "country", "region",
    "ms_type", "outcome", "incomplete", "sla_due", "first_contacted", "first_name", "last_name",
    "email", "phone", "language",
]  # fmt: skip


def text_of_csv(response) -> str:
    """The export as a spreadsheet reads it: UTF-8 after its byte order mark."""
    return response.get_data().decode("utf-8-sig")


def rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text_of_csv(response))))


def test_the_export_streams_the_filtered_leads_with_contact_and_pipeline_columns(
    app, make_staff, staff_client
):
    owner = make_staff("coordinator", name="Cora Ordinator", team="East")
    with app.app_context():
        east = db.session.scalar(select(Team.id).where(Team.name == "East"))
    wanted = saved_lead(app, status="contacted", owner_id=owner, team_id=east, source="doctor",
        utm_campaign="spring", region="Virginia", ms_type="RRMS",
        eligibility_outcome="needs_review",
    )  # fmt: skip
    saved_lead(app, status="new")

    response = staff_client("admin").get("/staff/export.csv?view=all&status=contacted")

    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="leads-')
    assert response.headers["Cache-Control"] == "no-store"
    text = text_of_csv(response)
    assert text.splitlines()[0].split(",") == COLUMNS
    [row] = rows(response)
    assert row["id"] == str(wanted) and row["owner"] == "Cora Ordinator" and row["team"] == "East"
    assert (row["status"], row["source"], row["campaign"]) == ("contacted", "doctor", "spring")
    assert (row["country"], row["region"], row["ms_type"]) == ("US", "Virginia", "RRMS")
    assert (row["outcome"], row["incomplete"]) == ("needs_review", "no")
    assert (row["first_name"], row["last_name"]) == ("Ada", "Byron")
    assert row["email"] == "ada.byron@example.org"
    assert row["language"] == "en"
    assert row["created"].startswith("2026-03-03T14:00:00")


def test_names_keep_their_accents_in_utf8_that_excel_reads_and_the_language_is_its_iso_code(
    app, staff_client
):
    saved_lead(app, first_name="José", last_name="Muñoz Peña", language="es")

    response = staff_client("admin").get("/staff/export.csv")

    assert response.mimetype == "text/csv" and response.mimetype_params == {"charset": "utf-8"}
    assert response.get_data().startswith(codecs.BOM_UTF8 + b"id,created,")  # for Excel
    assert "José,Muñoz Peña".encode() in response.get_data()
    [row] = rows(response)
    assert (row["first_name"], row["last_name"], row["language"]) == ("José", "Muñoz Peña", "es")


def test_the_export_reads_rows_in_batches_rather_than_all_at_once(app, staff_client, monkeypatch):
    with app.app_context():
        db.session.execute(insert(Lead), [dict(LEAD) for _ in range(7)])
        db.session.commit()
    import intake.leads.export as export

    batches = []
    real = export.csv_chunks

    def counting(statement, *, batch=export.BATCH):
        for chunk in real(statement, batch=3):
            batches.append(chunk)
            yield chunk

    monkeypatch.setattr("intake.staff.leads.queue_views.csv_chunks", counting)

    response = staff_client("admin").get("/staff/export.csv")

    assert len(rows(response)) == 7
    assert len(batches) == 1 + 3  # the header, then batches of 3, 3 and 1


def test_cells_a_spreadsheet_would_run_as_formulas_are_neutralised(app, staff_client):
    saved_lead(app, first_name="=HYPERLINK(\"http://evil\")", last_name="@SUM(A1)", region="-2+3",
         utm_campaign="\tcmd", source="+x")  # fmt: skip

    [row] = rows(staff_client("admin").get("/staff/export.csv"))

    assert row["first_name"] == '\'=HYPERLINK("http://evil")'
    assert row["last_name"] == "'@SUM(A1)"
    assert row["region"] == "'-2+3"
    assert row["campaign"] == "'\tcmd"
    assert row["source"] == "'+x"


def test_cells_that_start_a_formula_after_spaces_or_in_full_width_forms_are_neutralised(
    app, staff_client
):
    """Rows that never passed the forms (older data, imports) are guarded at the export too."""
    saved_lead(app, first_name="＝HYPERLINK(\"http://evil\")", last_name="  =1+1",
         region="\u3000＠SUM(A1)", utm_campaign="\u200b\t=cmd", source=" －2")  # fmt: skip

    [row] = rows(staff_client("admin").get("/staff/export.csv"))

    assert row["first_name"] == '\'＝HYPERLINK("http://evil")'
    assert row["last_name"] == "'  =1+1"
    assert row["region"] == "'\u3000＠SUM(A1)"
    assert row["campaign"] == "'\u200b\t=cmd"
    assert row["source"] == "' －2"


def test_the_audit_export_guards_a_staff_name_in_full_width_form(
    app, make_staff, sign_in, staff_client
):
    named = make_staff("coordinator", name="＝cmd|' /C calc'!A0")
    sign_in(app.test_client(), named).get("/staff/")  # an audited page: a row with that name

    response = staff_client("admin").get("/staff/admin/audit/export.csv")
    cells = [cell for row in csv.reader(io.StringIO(response.get_data(as_text=True)))
             for cell in row]  # fmt: skip

    assert any("cmd|" in cell for cell in cells)
    assert not [cell for cell in cells if "cmd|" in cell and not cell.startswith("'")]


def test_a_coordinator_exports_only_leads_in_their_scope(app, make_staff, sign_in):
    me = make_staff("coordinator", team="East")
    make_staff("coordinator", team="West")
    with app.app_context():
        west = db.session.scalar(select(Team.id).where(Team.name == "West"))
    foreign = saved_lead(app, team_id=west)
    mine = saved_lead(app, owner_id=me)
    client = sign_in(app.test_client(), me)

    for view in ("all", "mine", "team", "unassigned", "review"):
        ids = {int(row["id"]) for row in rows(client.get(f"/staff/export.csv?view={view}"))}
        assert foreign not in ids
    assert {int(r["id"]) for r in rows(client.get("/staff/export.csv?view=all"))} == {mine}


def test_the_export_follows_the_search_without_the_term_in_its_url(app, staff_client):
    wanted = saved_lead(app, first_name="Grace", last_name="Hopper")
    saved_lead(app)
    client = staff_client("admin")
    soup = BeautifulSoup(client.get("/staff/").get_data(as_text=True), "html.parser")
    token = soup.select_one('input[name="csrf_token"]')["value"]
    location = client.post("/staff/search", data={"term": "hopper", "csrf_token": token}).location

    queue = BeautifulSoup(client.get(location).get_data(as_text=True), "html.parser")
    link = queue.find("a", string="Export these leads as CSV")["href"]

    assert "hopper" not in link.lower() and "search=" in link
    assert [int(row["id"]) for row in rows(client.get(link))] == [wanted]


def test_a_clinician_may_not_export_and_sees_no_export_link(app, staff_client):
    saved_lead(app, eligibility_outcome="needs_review")
    client = staff_client("clinician")

    assert client.get("/staff/export.csv").status_code == 403
    assert "Export these leads" not in client.get("/staff/").get_data(as_text=True)


def test_the_export_is_audited_once_before_streaming_with_view_and_filters(
    app, make_staff, sign_in
):
    me = make_staff("coordinator")
    saved_lead(app, owner_id=me)
    client = sign_in(app.test_client(), me)
    before = audit_count(app)

    response = client.get("/staff/export.csv?view=mine&status=new&ms_type=RRMS", buffered=False)

    assert audit_count(app) == before + 1  # written and committed before a row is read
    response.get_data()
    response.close()
    assert audit_count(app) == before + 1
    with app.app_context():
        row = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert (row.action, row.actor_id, row.outcome) == ("leads.exported", me, "ok")
        assert row.detail["view"] == "mine"
        assert row.detail["filters"] == {"status": ["new"], "ms_type": "RRMS"}


def test_an_export_of_a_search_that_is_gone_goes_back_to_the_queue_instead(app, staff_client):
    saved_lead(app)
    before = audit_count(app, action="leads.exported")

    response = staff_client("admin").get("/staff/export.csv?view=all&search=forgotten")

    assert response.status_code == 302
    assert "search=" not in response.location
    assert audit_count(app, action="leads.exported") == before


def test_an_export_costs_five_sql_statements_the_rows_read_by_one_streaming_select(
    app, make_staff, sign_in
):
    me = make_staff("coordinator", team="East")
    with app.app_context():
        db.session.execute(insert(Lead), [dict(LEAD, owner_id=me) for _ in range(12)])
        db.session.commit()
    client = sign_in(app.test_client(), me)
    client.get("/staff/")  # the session was just opened; a later touch is at most once a minute

    with QueryCounter(app) as counter:
        exported = rows(client.get("/staff/export.csv?view=mine&status=new&sort=newest"))

    assert len(exported) == 12
    assert counter.count == 5, "\n\n".join(counter.statements)
