"""The dry run: every row checked by the form's rules, and what it would do by the form's
duplicate rules (``intake.leads.identity``), with nothing created.

A valid row would join a lead only on the form's defensible match: the same name and the same
email or phone, with a recent last inquiry. A row sharing an email or phone with a lead (or an
earlier row of the file) under another name would make a lead of its own, marked as a possible
duplicate, exactly as an inquiry would (QUALITY.md S-identity). The dry run starts over if its
worker vanished: it changes nothing but the rows' marks."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, update

from intake.extensions import db, encryption
from intake.imports.matching import held_values, reach
from intake.imports.rows import CheckedRow, Rules, check_cells
from intake.leads.identity import find_overlaps, name_key
from intake.models import ImportJob, ImportRow


def job_rules(job: ImportJob, now: datetime) -> Rules:
    config = current_app.config
    return Rules(
        headers=list(job.headers),
        mapping={name: int(index) for name, index in (job.mapping or {}).items()},
        default_country=job.default_country,
        default_language=config.get("INTAKE_DEFAULT_LANGUAGE") or "en",
        clinic_time_zone=config["INTAKE_CLINIC_TIME_ZONE"],
        now=now,
    )


def dedupe_window() -> timedelta:
    return timedelta(days=current_app.config["INTAKE_DEDUPE_DAYS"])


def open_cells(row: ImportRow) -> list[str]:
    return encryption.keyring.open_json(row.cells_sealed, context=row.cells_context)


@dataclass
class FileIndex:
    """The valid rows seen so far in the file, by email and by phone: (name key, recent)."""

    seen: dict[tuple[str, str], list[tuple[str, bool]]] = field(
        default_factory=lambda: defaultdict(list)
    )

    def plan(self, row: CheckedRow, recent: bool) -> str | None:
        """What this row does against earlier rows: join, possible duplicate, or nothing."""
        key = name_key(row.name)
        found = [
            entry
            for kind in ("email", "phone")
            if row.values.get(kind)
            for entry in self.seen.get((kind, row.values[kind]), ())
        ]
        if any(name == key and was_recent for name, was_recent in found):
            return "join"
        return "possible_duplicate" if found else None

    def add(self, row: CheckedRow, recent: bool) -> None:
        for kind in ("email", "phone"):
            if row.values.get(kind):
                self.seen[(kind, row.values[kind])].append((name_key(row.name), recent))


def plan_row(
    row: CheckedRow, *, since: datetime, index: FileIndex, now: datetime, held: set | None = None
) -> str:
    """new, join or possible_duplicate: the form's rules against the leads and earlier rows
    (``held``: the batch's emails and phones some lead holds; None asks the database)."""
    overlaps = (
        find_overlaps(
            name=row.name, email=row.values.get("email"), phone=row.values.get("phone"), since=since
        )
        if held is None or reach(row) & held
        else []
    )
    recent = row.values.get("created_at", now) >= since
    in_file = index.plan(row, recent)
    index.add(row, recent)
    if (overlaps and overlaps[0].joins) or in_file == "join":
        return "join"
    return "possible_duplicate" if overlaps or in_file else "new"


class CheckRun:
    """One pass of the dry run over a job's rows, a batch per call (keyset by row number)."""

    def __init__(self, *, batch: int) -> None:
        self.batch = batch
        self.after = 0
        self.index = FileIndex()

    def start(self, job_id: int) -> None:
        db.session.execute(
            update(ImportJob)
            .where(ImportJob.id == job_id)
            .values(
                rows_valid=0, rows_error=0, rows_would_join=0, rows_possible_duplicate=0, progress=0
            )
            .execution_options(synchronize_session=False)
        )

    def __call__(self, job_id: int, now: datetime) -> bool:
        job = db.session.get(ImportJob, job_id)
        if self.after == 0:
            self.start(job_id)
        rules, since = job_rules(job, now), now - dedupe_window()
        rows = db.session.scalars(
            select(ImportRow)
            .where(
                ImportRow.job_id == job_id,
                ImportRow.row_number > self.after,
                ImportRow.status.in_(("pending", "error")),
            )
            .order_by(ImportRow.row_number)
            .limit(self.batch)
        ).all()
        changes, counts = [], defaultdict(int)
        checked_rows = [(row, check_cells(open_cells(row), rules)) for row in rows]
        held = held_values(checked for _, checked in checked_rows if not checked.errors)
        for row, checked in checked_rows:
            if checked.errors:
                change = {"status": "error", "plan": None, "errors": checked.errors}
            else:
                plan = plan_row(checked, since=since, index=self.index, now=now, held=held)
                change = {"status": "pending", "plan": plan, "errors": None}
                counts[plan] += 1
            counts[change["status"]] += 1
            changes.append({"id": row.id, **change})
        if changes:
            db.session.execute(update(ImportRow), changes)
        self.after = rows[-1].row_number if rows else self.after
        db.session.execute(
            update(ImportJob)
            .where(ImportJob.id == job_id)
            .values(
                rows_valid=ImportJob.rows_valid + counts["pending"],
                rows_error=ImportJob.rows_error + counts["error"],
                rows_would_join=ImportJob.rows_would_join + counts["join"],
                rows_possible_duplicate=ImportJob.rows_possible_duplicate
                + counts["possible_duplicate"],
                progress=ImportJob.progress + len(rows),
            )
            .execution_options(synchronize_session=False)
        )
        if len(rows) < self.batch:
            db.session.execute(
                update(ImportJob)
                .where(ImportJob.id == job_id)
                .values(status="checked", checked_at=now)
                .execution_options(synchronize_session=False)
            )
            return True
        return False


def row_counts(job_id: int) -> dict[str, int]:
    """How many of the job's rows are in each status (one query)."""
    return dict(
        db.session.execute(
            select(ImportRow.status, func.count())
            .where(ImportRow.job_id == job_id)
            .group_by(ImportRow.status)
        ).all()
    )
