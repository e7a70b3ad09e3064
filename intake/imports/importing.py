"""The import: each pending row becomes a lead, joins one, or is reported with an error.

A batch of rows is one transaction: the leads it makes or joins and the rows' new marks commit
together, so a worker killed mid-batch leaves its rows pending and the next run (the sweep, or
the admin's Resume) makes each lead once. Every row is checked again (the leads may have
changed since the dry run) and matched by the form's rules at the moment it is imported.

Imported people did not ask us for anything: no confirmation or follow-up is sent, no consent
is recorded, and the lead is left unassigned (a routing decision says so, so the unrouted-leads
sweep leaves it alone) with no first-contact deadline, for staff to share out from the queue."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update

from intake.extensions import db
from intake.imports.checking import dedupe_window, job_rules, open_cells, row_counts
from intake.imports.matching import held_values, reach
from intake.imports.report import forget_cells
from intake.imports.rows import CheckedRow, check_cells
from intake.leads.identity import contact_details, find_overlaps, lead_details, record_pairs
from intake.leads.pipeline import add_event
from intake.models import ImportJob, ImportRow, Lead, LeadContact, RoutingDecision

UNASSIGNED = "imported: left unassigned for staff to share out (no routing, no deadline)"
EXTRA = (
    ("source", "Source"),
    ("utm_source", "utm_source"),
    ("utm_medium", "utm_medium"),
    ("utm_content", "utm_content"),
    ("external_id", "External id"),
    ("notes", "Notes"),
)


def _note(job: ImportJob, row: ImportRow, values: dict) -> str:
    lines = [f"Imported from a CSV file (import {job.id}, row {row.row_number})."]
    lines += [f"{label}: {values[name]}" for name, label in EXTRA if values.get(name)]
    return "\n".join(lines)


def _new_lead(checked: CheckedRow, now: datetime) -> Lead:
    values = checked.values
    created = values.get("created_at", now)
    return Lead(
        created_at=created,
        updated_at=now,
        last_inquiry_at=created,
        status="new",
        incomplete=False,
        filled_by="self",
        first_name=values["first_name"],
        last_name=values["last_name"],
        email=values.get("email"),
        phone=values.get("phone"),
        country=values["country"],
        region=values.get("region"),
        time_zone=values["time_zone"],
        time_zone_source=values["time_zone_source"],
        language=values["language"],
        source="import",
        utm_campaign=values.get("utm_campaign"),
    )


def _join(lead: Lead, checked: CheckedRow, now: datetime) -> None:
    """Keep the row's details the lead does not hold, as the form keeps a second inquiry's;
    the lead's own name, email and phone stay as they are."""
    if lead.contact_fixed_at is None:
        lead.contact_fixed_at = now
    held = {
        (kind, value.casefold())
        for kind, value in db.session.execute(
            select(LeadContact.kind, LeadContact.value).where(LeadContact.lead_id == lead.id)
        )
    } | {(kind, value.casefold()) for kind, value in lead_details(lead)}
    new = [
        {
            "lead_id": lead.id,
            "kind": kind,
            "value": value,
            "source": "import",
            "inquiry_id": None,
            "merged_from_id": None,
            "recorded_at": now,
        }
        for kind, value in contact_details(checked.values)
        if (kind, value.casefold()) not in held
    ]
    if new:
        db.session.execute(insert(LeadContact), new)


def import_row(
    job: ImportJob,
    row: ImportRow,
    checked: CheckedRow,
    now: datetime,
    *,
    may_overlap: bool = True,
    made: list | None = None,
) -> None:
    """Make or join the row's lead by the form's rules and mark the row; the caller commits.
    ``may_overlap`` False (no lead holds the row's email or phone) skips the search that would
    find nothing; a new lead is then left in ``made`` for ``finish_new`` to mark in bulk."""
    window = dedupe_window()
    values = checked.values
    overlaps = []
    if may_overlap:
        db.session.flush()  # earlier rows' leads first: a duplicate within the file joins them
        overlaps = find_overlaps(name=checked.name, email=values.get("email"),
                                 phone=values.get("phone"), since=now - window)  # fmt: skip
    if overlaps and overlaps[0].joins:
        lead = overlaps[0].lead
        _join(lead, checked, now)
        row.status, row.lead_id = "joined", lead.id
        add_event(lead=lead, kind="note", actor=None, now=now, text=_note(job, row, values),
                  data={"import_id": job.id, "row": row.row_number})  # fmt: skip
        return
    lead = _new_lead(checked, now)
    db.session.add(lead)
    if overlaps:
        db.session.flush()
        record_pairs(lead=lead, overlaps=overlaps, window_days=window.days, now=now)
    (made if made is not None else []).append((row, lead, values))
    if made is None:
        finish_new(job, [(row, lead, values)], now)


def finish_new(job: ImportJob, made: list, now: datetime) -> None:
    """The new leads of a batch inserted together, each left unassigned on purpose (a routing
    decision says so), with a note of its origin when the row had more to say, and its row
    marked imported."""
    db.session.flush()
    db.session.add_all(
        RoutingDecision(lead_id=lead.id, reason=UNASSIGNED, decided_at=now) for _, lead, _ in made
    )
    for row, lead, values in made:
        row.status, row.lead_id = "imported", lead.id
        if any(values.get(name) for name, _ in EXTRA):
            add_event(lead=lead, kind="note", actor=None, now=now, text=_note(job, row, values),
                      data={"import_id": job.id, "row": row.row_number})  # fmt: skip


class ImportRun:
    """The import, a batch of pending rows per call; True when none is left."""

    def __init__(self, *, batch: int) -> None:
        self.batch = batch

    def __call__(self, job_id: int, now: datetime) -> bool:
        job = db.session.get(ImportJob, job_id)
        rules = job_rules(job, now)
        rows = db.session.scalars(
            select(ImportRow)
            .where(ImportRow.job_id == job_id, ImportRow.status == "pending")
            .order_by(ImportRow.row_number)
            .limit(self.batch)
        ).all()
        checked_rows = [(row, check_cells(open_cells(row), rules)) for row in rows]
        held = held_values(checked for _, checked in checked_rows if not checked.errors)
        made: list = []
        for row, checked in checked_rows:
            if checked.errors:
                row.status, row.errors = "error", checked.errors
                continue
            mine = reach(checked)
            import_row(job, row, checked, now, may_overlap=bool(mine & held), made=made)
            held |= mine  # a later row of this batch with the same email or phone looks
        finish_new(job, made, now)
        db.session.flush()
        counts = row_counts(job_id)
        job.rows_imported = counts.get("imported", 0)
        job.rows_joined = counts.get("joined", 0)
        job.rows_error = counts.get("error", 0)
        job.progress = job.rows_imported + job.rows_joined + job.rows_error
        if len(rows) < self.batch:
            job.status, job.finished_at = "done", now
            forget_cells(job_id)
            return True
        return False


def start_import(job: ImportJob, *, now: datetime) -> bool:
    """Hand a checked job to the workers (the sweep starts it); False if it is not checked."""
    started = db.session.execute(
        update(ImportJob)
        .where(ImportJob.id == job.id, ImportJob.status == "checked")
        .values(status="importing", started_at=now, progress=0, lease_owner=None, lease_until=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    return bool(started)
