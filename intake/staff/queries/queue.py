"""The lead queue: the leads a view, filters and search pick (``intake.leads.filters``), paged
by keyset.

One page is one statement: the page's rows with their owner's name and next open task's due
time, and the number of leads matching (counted up to ``COUNT_CAP`` + 1, so a huge table is
never counted in full), each a scalar subquery of the same statement."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Select,
    func,
    literal,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import aliased

from intake.extensions import db
from intake.leads.filters import (
    LeadQuery,
    after_condition,
    lead_conditions,
    order_by,
    sort_column,
    unread_replies,
)
from intake.leads.search import SearchTerm
from intake.models import Lead, StaffTask, StaffUser, Team

COUNT_CAP = 1000
PAGE_SIZE = 50


@dataclass(frozen=True)
class FilterOptions:
    staff: list[tuple[int, str, bool]] = field(default_factory=list)  # id, name, active
    teams: list[tuple[int, str]] = field(default_factory=list)
    my_replies: int = 0  # the reader's own leads with a reply nobody has read


@dataclass(frozen=True)
class QueuePage:
    rows: list
    next_after: tuple | None  # (sort value, id) of the last row when there is a next page
    total: int | None  # matching leads, capped at COUNT_CAP + 1; None when unknown

    @property
    def count_label(self) -> str:
        if self.total is None:
            return ""
        return f"{COUNT_CAP:,}+" if self.total > COUNT_CAP else f"{self.total:,}"


def default_view(role: str) -> str:
    """Where each role starts: coordinators their own leads, clinicians the review queue."""
    return {"coordinator": "mine", "clinician": "review"}.get(role, "all")


def load_filter_options(reader_id: int | None = None) -> FilterOptions:
    """Every member of staff and every team, for the filters and bulk assignment, and how many
    of the reader's own leads have a reply to read (the count on "My leads"): one query."""
    staff = select(literal("staff").label("kind"), StaffUser.id, StaffUser.name, StaffUser.active)
    teams = select(literal("team").label("kind"), Team.id, Team.name, true().label("active"))
    parts = [staff, teams]
    if reader_id is not None:
        mine = select(func.count(Lead.id)).where(
            Lead.owner_id == reader_id, Lead.id.in_(unread_replies())
        )
        parts.append(select(literal("replies"), mine.scalar_subquery(), literal(""), true()))
    staff_rows, team_rows, replies = [], [], 0
    for kind, row_id, name, active in db.session.execute(union_all(*parts)):
        if kind == "staff":
            staff_rows.append((row_id, name, bool(active)))
        elif kind == "team":
            team_rows.append((row_id, name))
        else:
            replies = row_id
    return FilterOptions(
        staff=sorted(staff_rows, key=lambda row: row[1].casefold()),
        teams=sorted(team_rows, key=lambda row: row[1].casefold()),
        my_replies=replies,
    )


def _next_task_due():
    """The lead's soonest open task, read from the open-task index (no extra statement)."""
    return (
        select(func.min(StaffTask.due_at))
        .where(StaffTask.lead_id == Lead.id, StaffTask.status == "open")
        .correlate(Lead)
        .scalar_subquery()
    )


def page_statement(
    conditions: list[ColumnElement[bool]], *, sort: str, after: tuple | None, size: int
) -> Select:
    """The page's rows, each with the owner's name, its next open task's due time and the
    capped count of all matches."""
    owner = aliased(StaffUser)
    later = after_condition(sort, after, conditions, size=size + 1) if after else true()
    matching = select(Lead.id).where(*conditions).limit(COUNT_CAP + 1).subquery()
    total = select(func.count()).select_from(matching).scalar_subquery()
    return (
        select(
            Lead.id,
            Lead.first_name,
            Lead.last_name,
            Lead.status,
            Lead.owner_id,
            owner.name.label("owner_name"),
            Lead.eligibility_outcome,
            Lead.ms_type,
            Lead.source,
            Lead.created_at,
            Lead.updated_at,
            Lead.sla_due_at,
            Lead.sla_breached_at,
            Lead.first_contacted_at,
            Lead.incomplete,
            Lead.language,
            Lead.id.in_(unread_replies()).label("unread_replies"),
            _next_task_due().label("next_task_due"),
            total.label("total"),
        )
        .outerjoin(owner, owner.id == Lead.owner_id)
        .where(*conditions, later)
        .order_by(*order_by(sort))
        .limit(size + 1)
    )


def queue_page(
    *,
    scope: ColumnElement[bool],
    user: StaffUser,
    query: LeadQuery,
    search: SearchTerm | None,
    after: tuple | None,
    now: datetime,
    size: int = PAGE_SIZE,
) -> QueuePage:
    """One page of the queue, in one statement: the leads within ``scope`` (the user's lead
    scope) that the view, filters and search pick."""
    conditions = lead_conditions(scope=scope, user=user, query=query, search=search, now=now)
    rows = db.session.execute(
        page_statement(conditions, sort=query.sort, after=after, size=size)
    ).all()
    more, rows = len(rows) > size, rows[:size]
    next_after = None
    if more:
        last = rows[-1]
        next_after = (getattr(last, sort_column(query.sort).key), last.id)
    total = rows[0].total if rows else (0 if after is None else None)
    return QueuePage(rows=rows, next_after=next_after, total=total)
