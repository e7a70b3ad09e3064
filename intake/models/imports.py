"""Lead import from a CSV file: one job per upload, one row per line of the file.

A row's cells are patient contact details, so they are sealed at rest like the inquiry answers
(``ImportRow.context`` binds each to its job and row); its error messages name the column and
what is wrong, never the value."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from intake.extensions import db
from intake.models.types import UTCDateTime, utcnow

IMPORT_STATUSES = (
    "uploaded",  # stored; waiting for the column mapping
    "checking",  # the dry run is under way
    "checked",  # the dry run reported; waiting for the admin to import
    "importing",  # rows are being imported, a batch at a time
    "done",
    "failed",
    "cancelled",
)
ROW_STATUSES = ("pending", "error", "imported", "joined", "skipped")
# What the dry run found a valid row would do.
ROW_PLANS = ("new", "join", "possible_duplicate")


class ImportJob(db.Model):
    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    filename: Mapped[str] = mapped_column(String(255))
    encoding: Mapped[str] = mapped_column(String(16))
    delimiter: Mapped[str] = mapped_column(String(4))
    # The header row as read (column names, not patient data) and field → column index.
    headers: Mapped[list] = mapped_column(JSON, default=list)
    mapping: Mapped[dict] = mapped_column(JSON, default=dict)
    default_country: Mapped[str | None] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(16), default="uploaded")
    rows_total: Mapped[int] = mapped_column(default=0)
    rows_valid: Mapped[int] = mapped_column(default=0)
    rows_error: Mapped[int] = mapped_column(default=0)
    rows_would_join: Mapped[int] = mapped_column(default=0)
    rows_possible_duplicate: Mapped[int] = mapped_column(default=0)
    rows_imported: Mapped[int] = mapped_column(default=0)
    rows_joined: Mapped[int] = mapped_column(default=0)
    # Rows the current stage has finished (the dry run's, then the import's).
    progress: Mapped[int] = mapped_column(default=0)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The worker running the current stage holds a lease it renews with every batch; a job
    # whose lease ran out (its worker vanished) is taken again by the sweep.
    lease_owner: Mapped[str | None] = mapped_column(String(32))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failure: Mapped[str | None] = mapped_column(String(300))


class ImportRow(db.Model):
    __tablename__ = "import_rows"
    __table_args__ = (
        UniqueConstraint("job_id", "row_number"),
        Index("ix_import_rows_job_id_status_row_number", "job_id", "status", "row_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("import_jobs.id"))
    # The row's number as a spreadsheet shows it: the header is row 1.
    row_number: Mapped[int]
    # The row's cells as read, sealed as one JSON list (see ``context``); emptied when the job
    # ends (imported rows live on as leads; the report needs only numbers and messages).
    cells_sealed: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    plan: Mapped[str | None] = mapped_column(String(24))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    # Plain words naming the column and what is wrong; never the value.
    errors: Mapped[list | None] = mapped_column(JSON)

    @staticmethod
    def context(job_id: int, row_number: int) -> str:
        """Associated data binding a row's sealed cells to its job and row number."""
        return f"import-row:{job_id}:{row_number}"

    @property
    def cells_context(self) -> str:
        return self.context(self.job_id, self.row_number)
