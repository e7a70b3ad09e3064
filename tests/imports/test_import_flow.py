"""The dry run and the import, on both backends: the form's duplicate rules (a row joins a lead
only with the same name and the same email or phone; another person's email or phone under a
different name makes a lead of its own, marked as a possible duplicate: QUALITY.md S-identity),
duplicates within the file, exact accounting, nothing sent, and a crash mid-batch resumed
without a duplicate lead."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from intake.extensions import db
from intake.imports import importing, service
from intake.models import (
    Consent,
    DuplicatePair,
    ImportJob,
    Lead,
    LeadEvent,
    OutboxEvent,
    RoutingDecision,
    Send,
)
from tests.factories import make_lead
from tests.imports.conftest import NOW, check, csv_bytes, lead_count, rows_of, run_import, upload

ADA = ["Ada", "Byron", "ada.byron@example.org", "+12025550143", "US"]


@pytest.fixture
def ada(app):
    """An existing lead, Ada Byron, whose last inquiry was yesterday."""
    with app.app_context():
        lead = make_lead(last_inquiry_at=NOW - timedelta(days=1), consents=())
        db.session.commit()
        return lead.id


FILE = [
    ["ADA", "byron", "", "(202) 555-0143", "US"],  # 2: same name and phone: joins Ada
    ["Grace", "Hopper", "ada.byron@example.org", "", "US"],  # 3: Ada's email, another name
    ["Alan", "Turing", "alan@example.org", "", "GB"],  # 4: new
    ["Alan", "Turing", "ALAN@example.org", "", "GB"],  # 5: joins row 4 (same person twice)
    ["Alonzo", "Church", "alan@example.org", "", "US"],  # 6: row 4's email, another name
    ["Bad", "Row", "not-an-email", "", "US"],  # 7: error
]


def test_the_dry_run_says_what_each_row_would_do_and_creates_nothing(app, ada):
    job_id = upload(app, csv_bytes(FILE))
    job = check(app, job_id)
    assert (job.status, job.rows_total, job.rows_valid, job.rows_error) == ("checked", 6, 5, 1)
    assert (job.rows_would_join, job.rows_possible_duplicate) == (2, 2)
    plans = {n: (row.status, row.plan) for n, row in rows_of(app, job_id).items()}
    assert plans == {
        2: ("pending", "join"), 3: ("pending", "possible_duplicate"), 4: ("pending", "new"),
        5: ("pending", "join"), 6: ("pending", "possible_duplicate"), 7: ("error", None),
    }  # fmt: skip
    assert lead_count(app) == 1


def test_the_import_joins_by_the_form_rules_and_never_merges_another_person(app, ada):
    job_id = upload(app, csv_bytes(FILE))
    check(app, job_id)
    job = run_import(app, job_id)
    assert (job.status, job.rows_imported, job.rows_joined, job.rows_error) == ("done", 3, 2, 1)
    assert job.rows_imported + job.rows_joined + job.rows_error == job.rows_total
    rows = rows_of(app, job_id)
    assert rows[2].lead_id == ada and rows[2].status == "joined"
    assert rows[3].status == "imported" and rows[3].lead_id != ada
    assert rows[5].lead_id == rows[4].lead_id and rows[5].status == "joined"
    assert rows[6].status == "imported" and rows[6].lead_id != rows[4].lead_id
    assert rows[7].errors == ['Column "E-mail": not an email address.']
    assert all(row.cells_sealed is None for row in rows.values())  # forgotten once done
    with app.app_context():
        pairs = {
            (p.lead_id, p.other_id, p.reason) for p in db.session.scalars(select(DuplicatePair))
        }
        assert pairs == {
            (ada, rows[3].lead_id, "same email, different name"),
            (rows[4].lead_id, rows[6].lead_id, "same email, different name"),
        }
        ada_lead = db.session.get(Lead, ada)
        assert (ada_lead.first_name, ada_lead.email) == ("Ada", "ada.byron@example.org")
        grace = db.session.get(Lead, rows[3].lead_id)
        assert (grace.source, grace.status, grace.owner_id, grace.team_id) == (
            "import",
            "new",
            None,
            None,
        )
        assert grace.sla_due_at is None
        # Nothing is sent or planned for imported people, and no consent is invented.
        assert db.session.scalar(select(func.count()).select_from(Send)) == 0
        assert db.session.scalar(select(func.count()).select_from(OutboxEvent)) == 0
        assert db.session.scalar(select(func.count()).select_from(Consent)) == 0
        # Left unassigned on purpose: the unrouted-leads sweep sees a routing decision.
        assert db.session.scalar(
            select(func.count()).select_from(RoutingDecision).where(
                RoutingDecision.reason == importing.UNASSIGNED)
        ) == 3  # fmt: skip
        notes = db.session.scalar(select(func.count()).select_from(LeadEvent))
        assert notes == 2  # a sealed note of the import on each lead a row joined


def test_a_crash_mid_batch_loses_nothing_and_the_rerun_makes_no_lead_twice(app, monkeypatch):
    people = [[f"Person{n}", "Test", f"p{n}@example.org", "", "US"] for n in range(12)]
    people[7] = ["Person3", "Test", "p3@example.org", "", "US"]  # a duplicate of row 5
    job_id = upload(app, csv_bytes(people))
    check(app, job_id, batch=5)
    real, calls = importing.import_row, []

    def crash_on_the_seventh(*args, **kwargs):
        calls.append(1)
        if len(calls) == 7:
            raise SystemExit("killed")  # mid-batch: rows 6 and 7 of batch two were written
        return real(*args, **kwargs)

    monkeypatch.setattr(importing, "import_row", crash_on_the_seventh)
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        importing.start_import(job, now=NOW)
        db.session.commit()
        with pytest.raises(SystemExit):
            service.run_import(job_id, clock=lambda: NOW, commit=db.session.commit, batch=5)
        db.session.rollback()
        job = db.session.get(ImportJob, job_id)
        assert (job.status, job.progress, job.lease_owner is not None) == ("importing", 5, True)
        # Another worker cannot take it while the lease holds; once it has run out it can.
        assert (
            service.run_import(job_id, clock=lambda: NOW, commit=db.session.commit, batch=5)
            == "busy"
        )
    monkeypatch.setattr(importing, "import_row", real)
    later = NOW + timedelta(minutes=2)
    with app.app_context():
        assert service.sweep(now=later) and db.session.commit() is None
        outcome = service.run_import(job_id, clock=lambda: later, commit=db.session.commit, batch=5)
        assert outcome == "done"
        job = db.session.get(ImportJob, job_id)
        emails = db.session.scalars(select(Lead.email)).all()
    assert (job.rows_imported, job.rows_joined, job.rows_error) == (11, 1, 0)
    assert len(emails) == len(set(emails)) == 11


def test_rows_are_checked_again_at_import_and_cancel_skips_the_rest(app):
    job_id = upload(app, csv_bytes([ADA, ["Alan", "Turing", "alan@example.org", "", "GB"]]))
    check(app, job_id, mapping={"first_name": 0, "last_name": 1, "email": 2, "country": 4})
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        job.mapping = {"first_name": 0, "email": 2, "country": 4}  # changed under the dry run
        db.session.commit()
    job = run_import(app, job_id)
    assert (job.rows_imported, job.rows_error) == (0, 2)
    assert rows_of(app, job_id)[2].errors == ["No last name: map a column to Last name."]


def test_a_row_that_breaks_the_run_fails_the_job_keeping_what_was_done_and_resume_finishes(
    app, monkeypatch
):
    people = [[f"Person{n}", "Test", f"p{n}@example.org", "", "US"] for n in range(6)]
    job_id = upload(app, csv_bytes(people))
    check(app, job_id, batch=2)
    real, calls = importing.import_row, []

    def breaks_on_the_fourth(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise ValueError("a bug")
        return real(*args, **kwargs)

    monkeypatch.setattr(importing, "import_row", breaks_on_the_fourth)
    with app.app_context():
        importing.start_import(db.session.get(ImportJob, job_id), now=NOW)
        db.session.commit()
        outcome = service.run_import(job_id, clock=lambda: NOW, commit=db.session.commit, batch=2)
        job = db.session.get(ImportJob, job_id)
        assert (outcome, job.status, job.failure) == ("failed", "failed", "ValueError")
        assert job.rows_imported == 2  # the first batch, committed before the bad row
        from intake.imports.report import resume, set_mapping

        assert not set_mapping(job, mapping={}, default_country=None)  # no dry run over leads
        assert resume(job, now=NOW) and job.status == "importing"
        db.session.commit()
        monkeypatch.setattr(importing, "import_row", real)
        assert (
            service.run_import(job_id, clock=lambda: NOW, commit=db.session.commit, batch=2)
            == "done"
        )
        job = db.session.get(ImportJob, job_id)
        assert (job.rows_imported, job.rows_error) == (6, 0)
        assert db.session.scalar(select(func.count()).select_from(Lead)) == 6
