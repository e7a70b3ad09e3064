"""Dashboard figures, counted by the database: a handful of GROUP BY queries, whatever the
number of leads. Every figure is limited by the caller's WHERE clause (the user's lead scope).

Consults count by when they were booked: of those booked in the period, how many were held,
missed (no-show) or cancelled (one still booked is none of these yet), and the median time from
the lead's inquiry (its creation) to a held consult's start."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, case, extract, func, or_, select

from intake.display import LazyText
from intake.display import lazy_gettext as _l
from intake.extensions import db
from intake.models import PIPELINE, STATUSES, Consult, Lead

FUNNEL = (
    ("new_leads", _l("New leads")),
    ("contacted", _l("Contacted")),
    ("consult_scheduled", _l("Consult scheduled")),
    ("treated", _l("Treated")),
)
NO_SOURCE = _l("(not given)")


@dataclass(frozen=True)
class FunnelStage:
    key: str
    label: str | LazyText
    count: int
    percent: float | None  # of the new leads


@dataclass(frozen=True)
class ConsultFigures:
    booked: int
    held: int
    no_show: int
    cancelled: int
    median_to_held_seconds: float | None

    def rate(self, count: int) -> float | None:
        """``count`` as a percentage of the consults booked."""
        return _percent(count, self.booked)


@dataclass(frozen=True)
class Dashboard:
    since: datetime
    by_status: list[tuple[str, int]]
    by_source: list[tuple[str | LazyText, int]]
    funnel: list[FunnelStage]
    median_first_contact_seconds: float | None
    sla_due: int
    sla_breached: int
    consults: ConsultFigures | None = None

    @property
    def total(self) -> int:
        return sum(count for _, count in self.by_status)


def _sum(condition: ColumnElement[bool]):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _by(column, scope, since) -> list[tuple[str | None, int]]:
    rows = db.session.execute(
        select(column, func.count(Lead.id))
        .where(scope, Lead.created_at >= since)
        .group_by(column)
        .order_by(func.count(Lead.id).desc(), column)
    )
    return [(value, count) for value, count in rows]


def _funnel_and_sla(scope, since: datetime, now: datetime, sla_days: int) -> tuple:
    sla_since = now - timedelta(days=sla_days)
    in_period = Lead.created_at >= since
    contacted = or_(Lead.first_contacted_at.is_not(None), Lead.status.in_(PIPELINE[2:]))
    consult = or_(Lead.consult_at.is_not(None), Lead.status.in_(PIPELINE[4:]))
    return db.session.execute(
        select(
            _sum(in_period),
            _sum(in_period & contacted),
            _sum(in_period & consult),
            _sum(in_period & (Lead.status == "treated")),
            _sum((Lead.sla_due_at >= sla_since) & (Lead.sla_due_at < now)),
            _sum(Lead.sla_breached_at >= sla_since),
        ).where(scope)
    ).one()


def _seconds_between(later, earlier):
    if db.engine.dialect.name == "postgresql":
        return extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def _median_first_contact(scope, since: datetime) -> float | None:
    waited = _seconds_between(Lead.first_contacted_at, Lead.created_at).label("waited")
    return _median(
        select(waited).where(scope, Lead.created_at >= since, Lead.first_contacted_at.is_not(None))
    )


def _median(waits) -> float | None:
    """The middle value of the one column ``waits`` selects (the mean of the two middle ones
    for an even count), by window functions that both PostgreSQL and SQLite have."""
    waited = waits.selected_columns[0]
    ranked = waits.add_columns(
        func.row_number().over(order_by=waited).label("position"),
        func.count().over().label("total"),
    ).subquery()
    middle = ((ranked.c.total + 1) // 2, (ranked.c.total + 2) // 2)
    value = db.session.scalar(
        select(func.avg(ranked.c[waited.name])).where(ranked.c.position.in_(middle))
    )
    return None if value is None else round(float(value), 1)


def dashboard_figures(
    *, scope: ColumnElement[bool], now: datetime, days: int, sla_days: int = 30
) -> Dashboard:
    """Leads created in the last ``days`` by status and source, the funnel, the median wait for
    a first contact, and first-contact SLAs due and breached in the last ``sla_days``."""
    since = now - timedelta(days=days)
    statuses = dict(_by(Lead.status, scope, since))
    funnel_counts = _funnel_and_sla(scope, since, now, sla_days)
    new_leads = int(funnel_counts[0])
    funnel = [
        FunnelStage(key, label, int(count), _percent(int(count), new_leads))
        for (key, label), count in zip(FUNNEL, funnel_counts[:4], strict=True)
    ]
    return Dashboard(
        since=since,
        by_status=[(status, statuses[status]) for status in STATUSES if status in statuses],
        by_source=[
            (source or NO_SOURCE, count) for source, count in _by(Lead.source, scope, since)
        ],
        funnel=funnel,
        median_first_contact_seconds=_median_first_contact(scope, since),
        sla_due=int(funnel_counts[4]),
        sla_breached=int(funnel_counts[5]),
        consults=_consults(scope, since),
    )


def _consults(scope, since: datetime) -> ConsultFigures:
    """Consults booked in the period and what became of them (one query), and the median wait
    from inquiry to a held consult (one more)."""
    in_period = (Consult.created_at >= since) & scope
    counts = db.session.execute(
        select(
            func.count(Consult.id),
            _sum(Consult.status == "done"),
            _sum(Consult.status == "no_show"),
            _sum(Consult.status == "cancelled"),
        )
        .select_from(Consult)
        .join(Lead, Lead.id == Consult.lead_id)
        .where(in_period)
    ).one()
    waited = _seconds_between(Consult.starts_at, Lead.created_at).label("waited")
    median = _median(
        select(waited)
        .select_from(Consult)
        .join(Lead, Lead.id == Consult.lead_id)
        .where(in_period, Consult.status == "done")
    )
    booked, held, no_show, cancelled = (int(value) for value in counts)
    return ConsultFigures(booked, held, no_show, cancelled, median)


def _percent(count: int, whole: int) -> float | None:
    return round(100.0 * count / whole, 1) if whole else None
