"""Helpers for the import tests: files made in memory, and the dry run and import driven
in-process through the same services the workers call, with an explicit clock."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from sqlalchemy import func, select

from intake.extensions import db
from intake.imports import service
from intake.imports.importing import start_import
from intake.imports.reading import start_job
from intake.imports.report import set_mapping
from intake.models import ImportJob, ImportRow, Lead

NOW = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)
HEADERS = ["First Name", "Last Name", "E-mail", "Phone number", "Country"]


def csv_bytes(rows, *, headers=HEADERS, delimiter=",", encoding="utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def upload(app, data: bytes, *, filename: str = "leads.csv", batch: int = 500) -> int:
    with app.app_context():
        job = start_job(stream=io.BytesIO(data), filename=filename, created_by_id=None,
                        batch=batch, now=NOW)  # fmt: skip
        db.session.commit()
        return job.id


def check(app, job_id: int, *, mapping=None, default_country=None, batch=500, now=NOW) -> ImportJob:
    """Keep the mapping (the guessed one by default) and run the dry run to its end."""
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        set_mapping(job, mapping=mapping if mapping is not None else dict(job.mapping),
                    default_country=default_country)  # fmt: skip
        db.session.commit()
        outcome = service.run_check(job_id, clock=lambda: now, commit=db.session.commit,
                                    batch=batch)  # fmt: skip
        assert outcome == "done"
        job = db.session.get(ImportJob, job_id)
        db.session.expunge(job)
        return job


def run_import(app, job_id: int, *, batch=500, now=NOW) -> ImportJob:
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        assert start_import(job, now=now)
        db.session.commit()
        outcome = service.run_import(job_id, clock=lambda: now, commit=db.session.commit,
                                     batch=batch)  # fmt: skip
        assert outcome == "done"
        job = db.session.get(ImportJob, job_id)
        db.session.expunge(job)
        return job


def rows_of(app, job_id: int) -> dict[int, ImportRow]:
    with app.app_context():
        rows = db.session.scalars(select(ImportRow).where(ImportRow.job_id == job_id)).all()
        for row in rows:
            db.session.expunge(row)
        return {row.row_number: row for row in rows}


def lead_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Lead))
