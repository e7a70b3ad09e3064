"""Which leads a list shows and in what order: a view, filters, a search and a sort, as SQL.

The staff queue pages through these leads and the CSV export streams them, so both read the
same conditions and the same order from here. Who may see which leads is the caller's
``scope`` (``intake.accounts.permissions.lead_scope``), passed in as a condition."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, literal, select, true, tuple_, union_all

from intake.extensions import db
from intake.leads.search import SearchTerm, search_condition
from intake.models import ConversationMessage, Lead, StaffUser, TeamMember
from intake.routing.sla import sla_condition

VIEWS = ("mine", "team", "all", "review", "unassigned")
SORTS = ("sla", "newest", "oldest", "updated")


@dataclass(frozen=True)
class LeadQuery:
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
    language: str | None = None  # the lead's, a code of intake.i18n.LANGUAGES
    replied: bool | None = None  # True: only leads with a patient's reply nobody has read
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
            "language": self.language,
            "replied": self.replied,
        }
        return {name: value for name, value in values.items() if value not in (None, [])}


def unread_replies():
    """The leads with a patient's reply nobody has read yet (a partial index holds just these)."""
    return select(ConversationMessage.lead_id).where(
        ConversationMessage.kind == "reply", ConversationMessage.read_at.is_(None)
    )


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


def _id_or_none(column, value) -> ColumnElement[bool]:
    return column.is_(None) if value == "none" else column == value


def _day_start(day: date, zone: str) -> datetime:
    """Midnight starting the day in the reader's time zone."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def _filter_conditions(query: LeadQuery, now: datetime) -> list[ColumnElement[bool]]:
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
        (Lead.language, query.language),
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
    if query.replied:
        conditions.append(Lead.id.in_(unread_replies()))
    return conditions


def lead_conditions(
    *,
    scope: ColumnElement[bool],
    user: StaffUser,
    query: LeadQuery,
    search: SearchTerm | None,
    now: datetime,
) -> list[ColumnElement[bool]]:
    """Everything that limits the leads shown: the caller's scope, the user's view, the
    filters and the search."""
    conditions = [scope, _view_condition(query.view, user)]
    conditions += _filter_conditions(query, now)
    if search is not None:
        dialect = db.session.get_bind().dialect.name
        conditions.append(search_condition(search, dialect=dialect))
    return conditions


def sort_column(sort: str):
    """The column a sort orders by (ties are broken by id)."""
    return {"sla": Lead.sla_due_at, "updated": Lead.updated_at}.get(sort, Lead.created_at)


def descending(sort: str) -> bool:
    return sort in ("newest", "updated")


def order_by(sort: str) -> tuple:
    """Sort value then id, the same way round, so the keyset has one total order."""
    column = sort_column(sort)
    if descending(sort):
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
    if descending(sort):
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
