"""What the import pages show: the jobs, one job's first errors, the error report as CSV, and
the changes an admin makes to a job (mapping, cancel, resume). Ids, row numbers and messages
only: no cell value of the file is ever shown or downloaded."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import select, update

from intake.extensions import db
from intake.imports.fields import FIELDS
from intake.models import ImportJob, ImportRow
from intake.text import starts_like_formula

ERRORS_SHOWN = 50
JOBS_SHOWN = 50


def recent_jobs(limit: int = JOBS_SHOWN) -> list[ImportJob]:
    return list(db.session.scalars(select(ImportJob).order_by(ImportJob.id.desc()).limit(limit)))


def first_errors(job_id: int, limit: int = ERRORS_SHOWN) -> list[tuple[int, list[str]]]:
    """(row number, messages) of the first rows with errors (one query)."""
    return [
        (number, list(errors or []))
        for number, errors in db.session.execute(
            select(ImportRow.row_number, ImportRow.errors)
            .where(ImportRow.job_id == job_id, ImportRow.status == "error")
            .order_by(ImportRow.row_number)
            .limit(limit)
        )
    ]


def _safe(cell: str) -> str:
    return f"'{cell}" if starts_like_formula(cell) else cell


def error_report(job_id: int, *, batch: int = 1000) -> Iterator[str]:
    """The error report, a CSV line at a time: row number and message, one line per message."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["row", "problem"])
    after = 0
    while True:
        rows = db.session.execute(
            select(ImportRow.row_number, ImportRow.errors)
            .where(
                ImportRow.job_id == job_id,
                ImportRow.status == "error",
                ImportRow.row_number > after,
            )
            .order_by(ImportRow.row_number)
            .limit(batch)
        ).all()
        for number, errors in rows:
            for message in errors or []:
                writer.writerow([number, _safe(message)])
        yield out.getvalue()
        out.seek(0)
        out.truncate()
        if len(rows) < batch:
            return
        after = rows[-1][0]


def set_mapping(job: ImportJob, *, mapping: dict[str, int], default_country: str | None) -> bool:
    """Keep the admin's mapping (field → column index, columns that exist only) and ask for
    a dry run; False while the job is importing or finished."""
    if job.status not in ("uploaded", "checked", "failed") or job.started_at is not None:
        return False  # once importing began, rows are leads: only resume or cancel remain
    job.mapping = {
        name: index
        for name, index in mapping.items()
        if name in FIELDS and 0 <= index < len(job.headers)
    }
    job.default_country = default_country or None
    job.status, job.progress = "checking", 0
    job.lease_owner = job.lease_until = None
    return True


def cancel(job: ImportJob, *, now: datetime) -> bool:
    """Stop a job before or during its import: rows not yet imported are marked skipped (the
    worker, finding its lease gone with the status, stops after its batch)."""
    if job.status not in ("uploaded", "checking", "checked", "importing", "failed"):
        return False
    job.status, job.finished_at = "cancelled", now
    job.lease_owner = job.lease_until = None
    db.session.execute(
        update(ImportRow)
        .where(ImportRow.job_id == job.id, ImportRow.status == "pending")
        .values(status="skipped")
        .execution_options(synchronize_session=False)
    )
    forget_cells(job.id)
    return True


def forget_cells(job_id: int) -> None:
    """Drop the sealed cells of a job that has ended: its leads hold what was imported."""
    db.session.execute(
        update(ImportRow)
        .where(ImportRow.job_id == job_id)
        .values(cells_sealed=None)
        .execution_options(synchronize_session=False)
    )


def resume(job: ImportJob, *, now: datetime) -> bool:
    """Let the sweep hand an import (stopped, or failed) to a worker again, but only when no
    worker holds it (its lease ran out): two workers never import the same job at once."""
    if job.status == "failed" and job.started_at is not None:
        job.status, job.failure = "importing", None  # an import that failed: try again
    if job.status != "importing" or (job.lease_until is not None and job.lease_until >= now):
        return False
    job.lease_owner = job.lease_until = None
    return True
