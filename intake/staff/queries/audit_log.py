"""Reading the audit log: filters, newest-first keyset pages and a streamed CSV export."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, cast, exists, func, select
from sqlalchemy.dialects.postgresql import JSONB

from intake.extensions import db
from intake.leads.export import neutralise
from intake.models import AuditEvent, StaffUser

CSV_HEADER = (
    "seq",
    "at",
    "actor_id",
    "actor",
    "actor_role",
    "action",
    "outcome",
    "lead_ids",
    "target",
    "detail",
    "ip",
)


@dataclass(frozen=True)
class AuditFilters:
    actor_id: int | None = None
    action: str | None = None  # a prefix: "lead." finds every lead action
    lead_id: int | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None  # exclusive

    def as_detail(self) -> dict:
        """The filters for the audit row recording their use (ids and names only)."""
        detail = {key: value for key, value in asdict(self).items() if value is not None}
        for key in ("since", "until"):
            if key in detail:
                detail[key] = detail[key].isoformat()
        return detail


def _names_lead(lead_id: int) -> ColumnElement[bool]:
    """The row's lead ids include this one (a JSON array; each backend has its own test)."""
    if db.engine.dialect.name == "postgresql":
        return cast(AuditEvent.lead_ids, JSONB).contains([lead_id])
    each = func.json_each(AuditEvent.lead_ids).table_valued("value")
    return exists(select(1).select_from(each).where(each.c.value == lead_id))


def _conditions(filters: AuditFilters) -> list[ColumnElement[bool]]:
    where = []
    if filters.actor_id is not None:
        where.append(AuditEvent.actor_id == filters.actor_id)
    if filters.action:
        where.append(AuditEvent.action.startswith(filters.action, autoescape=True))
    if filters.lead_id is not None:
        where.append(_names_lead(filters.lead_id))
    if filters.outcome:
        where.append(AuditEvent.outcome == filters.outcome)
    if filters.since is not None:
        where.append(AuditEvent.at >= filters.since)
    if filters.until is not None:
        where.append(AuditEvent.at < filters.until)
    return where


def _rows(filters: AuditFilters, before_seq: int | None, limit: int):
    query = (
        select(AuditEvent, StaffUser.name)
        .outerjoin(StaffUser, StaffUser.id == AuditEvent.actor_id)
        .where(*_conditions(filters))
        .order_by(AuditEvent.seq.desc())
        .limit(limit)
    )
    if before_seq is not None:
        query = query.where(AuditEvent.seq < before_seq)
    return db.session.execute(query).all()


def audit_page(
    *, filters: AuditFilters, before_seq: int | None = None, limit: int = 50
) -> tuple[list[tuple[AuditEvent, str | None]], int | None]:
    """One page of matching rows, newest first, and the ``before`` cursor of the next page."""
    rows = _rows(filters, before_seq, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1][0].seq if more else None)


def audit_csv_rows(*, filters: AuditFilters, batch: int = 1000) -> Iterator[list[str]]:
    """The header, then every matching row newest first, fetched a batch at a time."""
    yield list(CSV_HEADER)
    before = None
    while True:
        rows = _rows(filters, before, batch)
        for event, actor_name in rows:
            yield [neutralise(value) for value in _csv_values(event, actor_name)]
        if len(rows) < batch:
            return
        before = rows[-1][0].seq


def _csv_values(event: AuditEvent, actor_name: str | None) -> tuple:
    return (
        event.seq,
        event.at.isoformat(),
        event.actor_id,
        actor_name,
        event.actor_role,
        event.action,
        event.outcome,
        " ".join(str(lead_id) for lead_id in event.lead_ids or []),
        event.target,
        json.dumps(event.detail or {}, sort_keys=True),
        event.ip,
    )


def audit_actors() -> list[StaffUser]:
    """Every staff account, for the actor filter."""
    return list(db.session.scalars(select(StaffUser).order_by(StaffUser.name, StaffUser.id)))
