"""The lead queue: which leads a view shows, filtered, searched, sorted and paged by keyset.

One page is one statement: the page's rows with their owner's name, and the number of leads
matching (counted up to ``COUNT_CAP`` + 1, so a huge table is never counted in full) as a
scalar subquery of the same statement."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    func,
    literal,
    or_,
    select,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.orm import aliased

from intake.extensions import db
from intake.leads.pipeline import TransitionError, assign_lead, change_status
from intake.leads.search import (  # noqa: F401 (re-exported: the queue's search)
    SEARCH_KINDS,
    InvalidSearch,
    SearchTerm,
    normalise_search,
    search_condition,
)
from intake.models import Lead, StaffUser, Team, TeamMember

VIEWS = ("mine", "team", "all", "review", "unassigned")
SORTS = ("sla", "newest", "oldest", "updated")
SLA_STATES = ("breached", "due_soon", "on_track", "met")
DUE_SOON = timedelta(minutes=30)
COUNT_CAP = 1000
PAGE_SIZE = 50


@dataclass(frozen=True)
class QueueQuery:
    """What the user asked for: a view, filters and a sort (enum values, ids and dates only)."""

    view: str = "all"
    sort: str = "sla"
    statuses: tuple[str, ...] = ()
    owner: int | str | None = None  # a staff id, or "none" for unassigned
    team: int | str | None = None  # a team id, or "none"
    outcome: str | None = None
    ms_type: str | None = None
    source: str | None = None
    created_from: date | None = None
    created_to: date | None = None
    sla: str | None = None
    incomplete: bool | None = None
    time_zone: str = "UTC"  # the reader's: the created dates are their days

    def filters(self) -> dict:
        """The filters that are set, as JSON-friendly values (for the audit row)."""
        values = {
            "status": list(self.statuses),
            "owner": self.owner,
            "team": self.team,
            "outcome": self.outcome,
            "ms_type": self.ms_type,
            "source": self.source,
            "created_from": self.created_from and self.created_from.isoformat(),
            "created_to": self.created_to and self.created_to.isoformat(),
            "sla": self.sla,
            "incomplete": self.incomplete,
        }
        return {name: value for name, value in values.items() if value not in (None, [])}


@dataclass(frozen=True)
class FilterOptions:
    staff: list[tuple[int, str, bool]] = field(default_factory=list)  # id, name, active
    teams: list[tuple[int, str]] = field(default_factory=list)


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


def _lead_scope():
    # Imported when used: intake.staff's package imports its views, which import this module.
    from intake.accounts.permissions import lead_scope

    return lead_scope


def default_view(role: str) -> str:
    """Where each role starts: coordinators their own leads, clinicians the review queue."""
    return {"coordinator": "mine", "clinician": "review"}.get(role, "all")


def load_filter_options() -> FilterOptions:
    """Every member of staff and every team, for the filters and bulk assignment: one query."""
    staff = select(literal("staff").label("kind"), StaffUser.id, StaffUser.name, StaffUser.active)
    teams = select(literal("team").label("kind"), Team.id, Team.name, true().label("active"))
    options = FilterOptions()
    for kind, row_id, name, active in db.session.execute(union_all(staff, teams)):
        if kind == "staff":
            options.staff.append((row_id, name, bool(active)))
        else:
            options.teams.append((row_id, name))
    options.staff.sort(key=lambda row: row[1].casefold())
    options.teams.sort(key=lambda row: row[1].casefold())
    return options


def _view_condition(view: str, user: StaffUser) -> ColumnElement[bool]:
    if view == "mine":
        return Lead.owner_id == user.id
    if view == "team":
        mine = select(TeamMember.team_id).where(TeamMember.staff_user_id == user.id)
        return Lead.team_id.in_(mine)
    if view == "review":
        return and_(Lead.eligibility_outcome == "needs_review", Lead.clinical_decision.is_(None))
    if view == "unassigned":
        return Lead.owner_id.is_(None)
    return true()


def sla_condition(state: str, now: datetime) -> ColumnElement[bool]:
    """The leads whose first-contact SLA is in ``state`` at ``now``."""
    if state == "met":
        return Lead.first_contacted_at.is_not(None)
    waiting = Lead.first_contacted_at.is_(None)
    if state == "breached":
        return and_(waiting, or_(Lead.sla_breached_at.is_not(None), Lead.sla_due_at <= now))
    running = and_(waiting, Lead.sla_breached_at.is_(None), Lead.sla_due_at > now)
    if state == "due_soon":
        return and_(running, Lead.sla_due_at <= now + DUE_SOON)
    return and_(running, Lead.sla_due_at > now + DUE_SOON)


def sla_state(row, now: datetime) -> str | None:
    """The SLA badge for one row (the same rules as ``sla_condition``); None without an SLA."""
    if row.first_contacted_at is not None:
        return "met"
    if row.sla_breached_at is not None or (row.sla_due_at and row.sla_due_at <= now):
        return "breached"
    if row.sla_due_at is None:
        return None
    return "due_soon" if row.sla_due_at <= now + DUE_SOON else "on_track"


def _id_or_none(column, value) -> ColumnElement[bool]:
    return column.is_(None) if value == "none" else column == value


def _day_start(day: date, zone: str) -> datetime:
    """Midnight starting the day in the reader's time zone."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def _filter_conditions(query: QueueQuery, now: datetime) -> list[ColumnElement[bool]]:
    conditions = []
    if query.statuses:
        conditions.append(Lead.status.in_(query.statuses))
    if query.owner is not None:
        conditions.append(_id_or_none(Lead.owner_id, query.owner))
    if query.team is not None:
        conditions.append(_id_or_none(Lead.team_id, query.team))
    for column, value in (
        (Lead.eligibility_outcome, query.outcome),
        (Lead.ms_type, query.ms_type),
        (Lead.source, query.source),
        (Lead.incomplete, query.incomplete),
    ):
        if value is not None:
            conditions.append(column == value)
    if query.created_from is not None:
        conditions.append(Lead.created_at >= _day_start(query.created_from, query.time_zone))
    if query.created_to is not None:
        until = _day_start(query.created_to + timedelta(days=1), query.time_zone)
        conditions.append(Lead.created_at < until)
    if query.sla is not None:
        conditions.append(sla_condition(query.sla, now))
    return conditions


def lead_conditions(
    *, user: StaffUser, query: QueueQuery, search: SearchTerm | None, now: datetime
) -> list[ColumnElement[bool]]:
    """Everything that limits the leads shown: the user's scope, the view, filters, search."""
    lead_scope = _lead_scope()
    conditions = [lead_scope(user), _view_condition(query.view, user)]
    conditions += _filter_conditions(query, now)
    if search is not None:
        dialect = db.session.get_bind().dialect.name
        conditions.append(search_condition(search, dialect=dialect))
    return conditions


def sort_column(sort: str):
    return {"sla": Lead.sla_due_at, "updated": Lead.updated_at}.get(sort, Lead.created_at)


def _descending(sort: str) -> bool:
    return sort in ("newest", "updated")


def order_by(sort: str) -> tuple:
    """Sort value then id, the same way round, so the keyset has one total order."""
    column = sort_column(sort)
    if _descending(sort):
        return (column.desc(), Lead.id.desc())
    return (column.asc().nulls_last(), Lead.id.asc())


def after_condition(
    sort: str, after: tuple, conditions: list[ColumnElement[bool]], *, size: int
) -> ColumnElement[bool]:
    """Rows strictly after (value, id) in ``order_by(sort)``, written so an index range starts
    at the cursor: a row-value comparison, never ``a > v OR (a = v AND id > i)``, which the
    planner can only filter by (page 2,000 of a team's queue read 144,000 rows for 50; bench
    P3). Only the SLA column has nulls (sorted last): past a dated cursor the page is the next
    dated rows and then the undated ones, each read as its own short range."""
    value, last_id = after
    column = sort_column(sort)
    cursor = tuple_(literal(value, column.type), literal(last_id, Lead.id.type))
    if _descending(sort):
        return tuple_(column, Lead.id) < cursor
    if value is None:
        return and_(column.is_(None), Lead.id > last_id)
    if not column.nullable:
        return tuple_(column, Lead.id) > cursor
    dated = (
        select(Lead.id)
        .where(*conditions, tuple_(column, Lead.id) > cursor)
        .order_by(column, Lead.id)
        .limit(size)
        .subquery()
    )
    # Undated rows are read only once the dated ones run out (a one-time check), and in the
    # index's order (all nulls, then by id), so the same index serves both ranges.
    dated_rows = select(func.count()).select_from(dated).scalar_subquery()
    undated = (
        select(Lead.id)
        .where(dated_rows < size, *conditions, column.is_(None))
        .order_by(column, Lead.id)
        .limit(size)
        .subquery()
    )
    return Lead.id.in_(union_all(select(dated.c.id), select(undated.c.id)))


def page_statement(
    conditions: list[ColumnElement[bool]], *, sort: str, after: tuple | None, size: int
) -> Select:
    """The page's rows, each with the owner's name and the capped count of all matches."""
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
            total.label("total"),
        )
        .outerjoin(owner, owner.id == Lead.owner_id)
        .where(*conditions, later)
        .order_by(*order_by(sort))
        .limit(size + 1)
    )


def queue_page(
    *,
    user: StaffUser,
    query: QueueQuery,
    search: SearchTerm | None,
    after: tuple | None,
    now: datetime,
    size: int = PAGE_SIZE,
) -> QueuePage:
    """One page of the queue, in one statement."""
    conditions = lead_conditions(user=user, query=query, search=search, now=now)
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


BULK_MAX = 200


@dataclass
class BulkResult:
    changed: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)  # lead id → why, in plain words


def bulk_assign(
    *, lead_ids: list[int], owner: StaffUser, actor: StaffUser, now: datetime
) -> BulkResult:
    """Assign each lead the actor may see to ``owner``; the rest are reported, not fatal."""
    return _each_lead(
        lead_ids, actor, lambda lead: assign_lead(lead=lead, owner=owner, actor=actor, now=now)
    )


def bulk_change_status(
    *, lead_ids: list[int], to: str, reason: str | None, actor: StaffUser, now: datetime
) -> BulkResult:
    """Move each lead the actor may see to ``to``; refused moves are reported by id."""
    return _each_lead(
        lead_ids,
        actor,
        lambda lead: change_status(lead=lead, to=to, reason=reason, actor=actor, now=now),
    )


def _each_lead(lead_ids: list[int], actor: StaffUser, change) -> BulkResult:
    lead_scope = _lead_scope()
    found = {
        lead.id: lead
        for lead in db.session.scalars(
            select(Lead).where(Lead.id.in_(lead_ids), lead_scope(actor)).order_by(Lead.id)
        )
    }
    result = BulkResult()
    for lead_id in lead_ids:
        lead = found.get(lead_id)
        if lead is None:
            result.refused[lead_id] = "Not found among the leads you can see."
            continue
        try:
            change(lead)
        except TransitionError as exc:
            result.refused[lead_id] = str(exc)
        else:
            result.changed.append(lead_id)
    return result
