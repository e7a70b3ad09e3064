"""Attribution: which articles, campaigns and sources bring the leads who go on to a consult.

Counted by the database, a few GROUP BY queries whatever the number of leads, each limited by
the caller's WHERE clause (the user's lead scope). A lead is attributed to where its first
inquiry came from (first touch): the article (``utm_content``), the campaign (the lead's
``utm_campaign``) and the source (``utm_source``; where the link carried none, the patient's own
answer to "how did you hear about us", labelled as such). Leads merged into another are left
out, since the lead they joined counts already.

Each row follows the leads to the stages they reached: a completed inquiry, no exclusion found
(a completed inquiry whose outcome is not ``not_eligible``), contacted, a consult booked and a
consult held, each also as a share of the row's leads. The weekly trend counts the same stages
for the leads created in each of the last weeks (Monday to Sunday at the clinic)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, case, exists, func, or_, select
from sqlalchemy.orm import aliased

from intake.extensions import db
from intake.models import PIPELINE, ArticleLink, Consult, Inquiry, Lead

STAGES = ("leads", "completed", "no_exclusion", "contacted", "consult_booked", "consult_held")
TREND_WEEKS = 8


@dataclass(frozen=True)
class StageCounts:
    """A row's leads and how many of them reached each stage."""

    leads: int
    completed: int
    no_exclusion: int
    contacted: int
    consult_booked: int
    consult_held: int

    def rate(self, stage: str) -> float | None:
        """``stage``'s count as a percentage of the row's leads."""
        return round(100.0 * getattr(self, stage) / self.leads, 1) if self.leads else None


@dataclass(frozen=True)
class AttributionRow:
    key: str | None  # the UTM value (or, for a source without one, the "how did you hear" code)
    title: str | None  # the article's title as staff keep it, where the value is theirs
    heard_about: bool  # the source is the patient's own answer, not a link's utm_source
    counts: StageCounts


@dataclass(frozen=True)
class WeekRow:
    monday: date  # the week's first day at the clinic
    counts: StageCounts


@dataclass(frozen=True)
class Attribution:
    since: datetime
    by_article: list[AttributionRow]
    by_campaign: list[AttributionRow]
    by_source: list[AttributionRow]
    weeks: list[WeekRow]


def _sum(condition: ColumnElement[bool]):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _stage_columns() -> list:
    """The six counts of a row, as aggregate columns over the leads it groups."""
    completed = Lead.incomplete.is_(False)
    booked = exists().where(Consult.lead_id == Lead.id)
    held = exists().where(Consult.lead_id == Lead.id, Consult.status == "done")
    return [
        func.count(Lead.id),
        _sum(completed),
        _sum(
            completed
            & Lead.eligibility_outcome.is_not(None)
            & (Lead.eligibility_outcome != "not_eligible")
        ),
        _sum(or_(Lead.first_contacted_at.is_not(None), Lead.status.in_(PIPELINE[2:]))),
        _sum(or_(booked, Lead.consult_at.is_not(None), Lead.status.in_(PIPELINE[4:]))),
        _sum(or_(held, Lead.status.in_(PIPELINE[5:]))),
    ]


def _counts(values) -> StageCounts:
    return StageCounts(*(int(value) for value in values))


def _first_inquiry():
    """The lead's first inquiry (its first touch), outer-joined: a lead may have none yet."""
    first, earlier = aliased(Inquiry), aliased(Inquiry)
    first_id = (
        select(earlier.id)
        .where(earlier.lead_id == Lead.id)
        .order_by(earlier.id)
        .limit(1)
        .correlate(Lead)
        .scalar_subquery()
    )
    return first, first.id == first_id


def _leads(scope, since: datetime, columns):
    first, joined = _first_inquiry()
    return first, (
        select(*columns(first), *_stage_columns())
        .select_from(Lead)
        .outerjoin(first, joined)
        .where(scope, Lead.created_at >= since, Lead.status != "merged")
    )


def _by_article(scope, since: datetime) -> list[AttributionRow]:
    first, query = _leads(scope, since, lambda first: [first.utm_content, ArticleLink.title])
    query = query.outerjoin(ArticleLink, ArticleLink.utm_content == first.utm_content)
    rows = db.session.execute(
        query.group_by(first.utm_content, ArticleLink.title).order_by(
            func.count(Lead.id).desc(), first.utm_content
        )
    )
    return [AttributionRow(key, title, False, _counts(rest)) for key, title, *rest in rows]


def _by_campaign(scope, since: datetime) -> list[AttributionRow]:
    rows = db.session.execute(
        select(Lead.utm_campaign, *_stage_columns())
        .where(scope, Lead.created_at >= since, Lead.status != "merged")
        .group_by(Lead.utm_campaign)
        .order_by(func.count(Lead.id).desc(), Lead.utm_campaign)
    )
    return [AttributionRow(key, None, False, _counts(rest)) for key, *rest in rows]


def _by_source(scope, since: datetime) -> list[AttributionRow]:
    def columns(first):
        return [first.utm_source, case((first.utm_source.is_(None), Lead.source))]

    first, query = _leads(scope, since, columns)
    heard = case((first.utm_source.is_(None), Lead.source))
    rows = db.session.execute(
        query.group_by(first.utm_source, heard).order_by(
            func.count(Lead.id).desc(), first.utm_source, heard
        )
    )
    return [
        AttributionRow(
            utm or heard_code, None, utm is None and heard_code is not None, _counts(rest)
        )  # fmt: skip
        for utm, heard_code, *rest in rows
    ]


def week_starts(now: datetime, zone: str, weeks: int = TREND_WEEKS) -> list[tuple[date, datetime]]:
    """The last ``weeks`` weeks, oldest first, this one last: each Monday and its midnight in
    the clinic's time zone as UTC (so a change of clocks moves no lead to another week)."""
    clinic = ZoneInfo(zone)
    today = now.astimezone(clinic).date()
    monday = today - timedelta(days=today.weekday())
    days = [monday - timedelta(weeks=back) for back in range(weeks - 1, -1, -1)]
    return [(d, datetime(d.year, d.month, d.day, tzinfo=clinic).astimezone(UTC)) for d in days]


def _weeks(scope, now: datetime, zone: str) -> list[WeekRow]:
    mondays, starts = zip(*week_starts(now, zone), strict=True)
    week = case(
        *((Lead.created_at < later, index) for index, later in enumerate(starts[1:])),
        else_=len(starts) - 1,
    )
    # The week is worked out once per lead in a subquery, so the grouping names a column
    # (PostgreSQL cannot match an expression with bound values in SELECT and GROUP BY).
    weeks = (
        select(Lead.id.label("lead_id"), week.label("week"))
        .where(scope, Lead.created_at >= starts[0], Lead.created_at <= now)
        .where(Lead.status != "merged")
        .subquery()
    )
    rows = {
        index: _counts(rest)
        for index, *rest in db.session.execute(
            select(weeks.c.week, *_stage_columns())
            .select_from(Lead)
            .join(weeks, weeks.c.lead_id == Lead.id)
            .group_by(weeks.c.week)
        )
    }
    empty = StageCounts(0, 0, 0, 0, 0, 0)
    return [WeekRow(monday, rows.get(index, empty)) for index, monday in enumerate(mondays)]


def attribution_figures(
    *, scope: ColumnElement[bool], now: datetime, days: int, zone: str
) -> Attribution:
    """Leads created in the last ``days`` by article, campaign and source, with the stages they
    reached; and the same stages week by week over the last eight weeks (four queries)."""
    since = now - timedelta(days=days)
    return Attribution(
        since=since,
        by_article=_by_article(scope, since),
        by_campaign=_by_campaign(scope, since),
        by_source=_by_source(scope, since),
        weeks=_weeks(scope, now, zone),
    )
