"""The import pages: upload (over the app's usual body limit, on this route only), the
mapping, the dry run's report and error CSV (row numbers and messages, never a value), the
import's progress and final report, resume and cancel; audited with ids and counts only."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from intake.extensions import db
from intake.models import AuditEvent, ImportJob, Lead
from intake.staff.admin import import_views
from tests.conftest import page, text_of
from tests.factories import make_lead
from tests.imports.conftest import NOW, csv_bytes
from tests.imports.conftest import check as run_check
from tests.imports.conftest import run_import as run_the_import
from tests.staff.conftest import QueryCounter, csrf_token

QUERIES_JOB_PAGE = 7
ROWS = [["Ada", "Byron", "ada@example.org", "+12025550143", "US"],
        ["Bad", "Row", "secret-not-an-email", "", "US"]]  # fmt: skip


@pytest.fixture(autouse=True)
def _clock(monkeypatch):
    monkeypatch.setattr(import_views, "utcnow", lambda: NOW)


def send_file(client, data: bytes, name: str = "leads.csv"):
    return client.post(
        "/staff/admin/imports",
        data={"csrf_token": csrf_token(client), "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def audits(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()
        db.session.expunge_all()
        return rows


def the_job(app) -> ImportJob:
    with app.app_context():
        job = db.session.scalars(select(ImportJob)).one()
        db.session.expunge(job)
        return job


def test_upload_map_check_and_import_through_the_pages(app, staff_client):
    client = staff_client("admin")
    response = send_file(client, csv_bytes(ROWS))
    assert response.status_code == 303
    job = the_job(app)
    assert response.headers["Location"].endswith(f"/staff/admin/imports/{job.id}")
    soup = page(client.get(f"/staff/admin/imports/{job.id}"))
    assert soup.find("select", {"name": "map_email"}).find("option", selected=True)["value"] == "2"
    assert [a.detail for a in audits(app, "import.uploaded")] == [{"rows": 2, "columns": 5}]

    form = {f"map_{n}": str(i) for n, i in job.mapping.items()}
    form.update(default_country="", csrf_token=csrf_token(client))
    response = client.post(f"/staff/admin/imports/{job.id}/mapping", data=form)
    assert response.status_code == 303 and the_job(app).status == "checking"
    running = page(client.get(f"/staff/admin/imports/{job.id}"))
    assert running.find("meta", {"http-equiv": "refresh"}) is None  # no timed reload (axe)
    assert running.find("script", src=lambda src: "import_progress.js" in (src or "")) is not None
    assert running.find("a", string="Check the progress now") is not None
    run_check(app, job.id, mapping=job.mapping)
    checked = client.get(f"/staff/admin/imports/{job.id}")
    soup = page(checked)
    assert soup.find("script", src=lambda src: "import_progress.js" in (src or "")) is None
    assert (soup.find(id="count-valid").text, soup.find(id="count-errors").text) == ("1", "1")
    assert 'Column "E-mail": not an email address.' in text_of(checked)
    assert "secret-not-an-email" not in checked.get_data(as_text=True)
    report = client.get(f"/staff/admin/imports/{job.id}/errors.csv")
    assert report.get_data(as_text=True).splitlines() == [
        "row,problem",
        '3,"Column ""E-mail"": not an email address."',
    ]

    response = client.post(f"/staff/admin/imports/{job.id}/start",
                           data={"csrf_token": csrf_token(client)})  # fmt: skip
    assert response.status_code == 303 and the_job(app).status == "importing"
    with app.app_context():
        job_row = db.session.get(ImportJob, job.id)
        job_row.status = "checked"  # run_the_import starts it itself
        db.session.commit()
    run_the_import(app, job.id)
    soup = page(client.get(f"/staff/admin/imports/{job.id}"))
    assert [soup.find(id=f"count-{k}").text for k in ("imported", "joined", "errors")] == [
        "1",
        "0",
        "1",
    ]
    for action in ("import.uploaded", "import.checked", "import.started", "import.viewed",
                   "import.errors_exported"):  # fmt: skip
        rows = audits(app, action)
        assert rows and all("ada@" not in str(row.detail) for row in rows), action


def test_a_file_over_the_app_s_usual_limit_is_taken_here_and_one_over_the_import_limit_is_not(
    app, staff_client
):
    client = staff_client("admin")
    big = csv_bytes([[f"P{n}", "Test", f"p{n}@example.org", "", "US"] for n in range(9000)])
    assert len(big) > app.config["MAX_CONTENT_LENGTH"]
    assert send_file(client, big).status_code == 303
    assert the_job(app).rows_total == 9000
    app.config["INTAKE_IMPORT_MAX_BYTES"] = 100_000
    response = send_file(client, big)
    assert response.status_code == 303 and response.headers["Location"].endswith("/imports")
    assert "That file is larger than 0 MB." in text_of(client.get("/staff/admin/imports"))
    assert [a.detail for a in audits(app, "import.uploaded") if a.outcome == "failed"] == [
        {"reason": "too_large"}
    ]


def test_an_unreadable_file_is_refused_with_the_reason(app, staff_client):
    client = staff_client("admin")
    send_file(client, b"First name,Email\r\n")
    assert "the file has a header but no rows" in text_of(client.get("/staff/admin/imports"))
    with app.app_context():
        assert db.session.scalar(select(ImportJob.id)) is None


def test_the_job_page_runs_a_fixed_number_of_queries(app, staff_client):
    client = staff_client("admin")
    send_file(client, csv_bytes(ROWS * 20))
    job = the_job(app)
    run_check(app, job.id)
    client.get(f"/staff/admin/imports/{job.id}")
    with QueryCounter(app) as queries:
        assert client.get(f"/staff/admin/imports/{job.id}").status_code == 200
    assert queries.count == QUERIES_JOB_PAGE


def test_resume_waits_for_the_lease_to_run_out_and_cancel_skips_what_is_left(
    app, staff_client, monkeypatch
):
    client = staff_client("admin")
    send_file(client, csv_bytes(ROWS))
    job = the_job(app)
    with app.app_context():
        row = db.session.get(ImportJob, job.id)
        row.status, row.lease_owner, row.lease_until = (
            "importing",
            "w1",
            NOW + timedelta(seconds=30),
        )
        db.session.commit()
    url = f"/staff/admin/imports/{job.id}"
    client.post(f"{url}/resume", data={"csrf_token": csrf_token(client)})
    assert the_job(app).lease_owner == "w1"
    monkeypatch.setattr(import_views, "utcnow", lambda: NOW + timedelta(minutes=5))
    client.post(f"{url}/resume", data={"csrf_token": csrf_token(client)})
    assert the_job(app).lease_owner is None
    assert [a.outcome for a in audits(app, "import.resumed")] == ["failed", "ok"]
    client.post(f"{url}/cancel", data={"csrf_token": csrf_token(client)})
    assert the_job(app).status == "cancelled"
    assert page(client.get(url)).find(id="count-skipped").text == "2"


@pytest.mark.parametrize(
    ("data", "shown", "reason"),
    [
        (csv_bytes([ROWS[1]], headers=ROWS[0]),
         "The first row must name the columns, like First name, Email, Phone.", "no_header"),
        (b"", "the file is empty", "unreadable"),
        (csv_bytes([]), "the file has a header but no rows", "unreadable"),
    ],
)  # fmt: skip
def test_a_file_with_no_header_or_no_rows_is_refused_in_plain_words(
    app, staff_client, data, shown, reason
):
    client = staff_client("admin")
    response = send_file(client, data)
    assert response.status_code == 303 and response.headers["Location"].endswith("/imports")
    listed = client.get("/staff/admin/imports")
    assert shown in text_of(listed)
    body = listed.get_data(as_text=True)
    assert "ada@example.org" not in body and "Byron" not in body and "2025550143" not in body
    assert [a.detail for a in audits(app, "import.uploaded")] == [{"reason": reason}]
    with app.app_context():
        assert db.session.scalar(select(ImportJob.id)) is None


def test_statuses_read_as_plain_words_on_the_list_and_the_job_page(app, staff_client):
    client = staff_client("admin")
    send_file(client, csv_bytes(ROWS))
    job = the_job(app)
    url = f"/staff/admin/imports/{job.id}"
    shown = {}
    for status in ("uploaded", "checking", "checked", "importing", "done", "failed", "cancelled"):
        with app.app_context():
            db.session.get(ImportJob, job.id).status = status
            db.session.commit()
        listed = page(client.get("/staff/admin/imports")).find("table").find("tbody")
        on_page = page(client.get(url)).find(id="import-status").text
        assert listed.find_all("td")[2].text == on_page, status
        shown[status] = on_page
    assert shown == {
        "uploaded": "Waiting for the columns to be chosen",
        "checking": "Dry run under way",
        "checked": "Dry run done: ready to import",
        "importing": "Import under way",
        "done": "Imported",
        "failed": "Stopped by an error",
        "cancelled": "Cancelled",
    }


def test_the_final_report_names_what_became_of_the_rows_in_words(app, staff_client):
    client = staff_client("admin")
    send_file(client, csv_bytes(ROWS))
    job = the_job(app)
    run_check(app, job.id)
    run_the_import(app, job.id)
    soup = page(client.get(f"/staff/admin/imports/{job.id}"))
    rows = {
        row.find("th").text: row.find("td").text
        for row in soup.find(id="report-title").find_parent("section").select("tbody tr")
    }
    assert rows == {"Made a new lead": "1", "Joined an existing lead": "0",
                    "Has errors: not imported": "1"}  # fmt: skip


def test_a_detail_a_joined_row_adds_shows_on_the_lead_page_as_from_a_lead_import(app, staff_client):
    with app.app_context():
        lead = make_lead(last_inquiry_at=NOW - timedelta(days=1), consents=())
        db.session.commit()
        lead_id = lead.id
    client = staff_client("admin")
    send_file(client, csv_bytes([["Ada", "Byron", "ada.new@example.org", "+12025550143", "US"],
                                 ["Alan", "Turing", "alan@example.org", "", "GB"]]))  # fmt: skip
    job = the_job(app)
    run_check(app, job.id)
    done = run_the_import(app, job.id)
    assert (done.rows_joined, done.rows_imported) == (1, 1)
    with app.app_context():
        alan = db.session.scalar(select(Lead.id).where(Lead.first_name == "Alan"))
    facts = page(client.get(f"/staff/leads/{alan}"))
    source = facts.find("dt", string="Source").find_next_sibling("dd").get_text(strip=True)
    assert source == "A lead import"
    section = page(client.get(f"/staff/leads/{lead_id}")).find(
        "section", attrs={"aria-labelledby": "contact-heading"}
    )
    rows = [
        [cell.get_text(" ", strip=True) for cell in row.find_all(["th", "td"])][:3]
        for row in section.select("table tbody tr")
    ]
    assert ["Email", "ada.new@example.org", "a lead import"] in rows
    assert not any(row[2] == "import" for row in rows)
