"""The lead import's pages are valid HTML (the Nu checker, as test_html_validity.py runs it):
the upload form and list, the mapping form, the dry run's progress and report, and the final
report."""

from __future__ import annotations

import io

from sqlalchemy import select

from intake.extensions import db
from intake.models import ImportJob
from tests.browser.test_html_validity import check, html
from tests.imports.conftest import check as dry_run
from tests.imports.conftest import csv_bytes, run_import
from tests.staff.conftest import csrf_token

ROWS = [["Ada", "Byron", "ada@example.org", "+12025550143", "US"],
        ["Bad", "Row", "not-an-email", "", "US"]]  # fmt: skip


def test_the_import_pages_are_valid_html(app, staff_client, tmp_path):
    client = staff_client("admin")
    pages = {"imports, empty": html(client.get("/staff/admin/imports"))}
    client.post(
        "/staff/admin/imports",
        data={"csrf_token": csrf_token(client), "file": (io.BytesIO(csv_bytes(ROWS)), "a.csv")},
        content_type="multipart/form-data",
    )
    with app.app_context():
        job_id = db.session.scalar(select(ImportJob.id))
        url = f"/staff/admin/imports/{job_id}"
    pages["imports, one"] = html(client.get("/staff/admin/imports"))
    pages["mapping"] = html(client.get(url))
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        job.status = "checking"
        db.session.commit()
    pages["dry run under way"] = html(client.get(url))
    dry_run(app, job_id)
    pages["dry run report"] = html(client.get(url))
    run_import(app, job_id)
    pages["final report"] = html(client.get(url))
    (tmp_path / "pages").mkdir()
    found = check(pages, tmp_path / "pages")
    failures = {name: errors for name, errors in found.items() if errors}
    assert not failures, "\n".join(f"{name}: {errors}" for name, errors in failures.items())
