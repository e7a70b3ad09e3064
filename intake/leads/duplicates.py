"""Screen-shaped reads for possible duplicates: the staff list, a lead's own pairs and merges,
and the side-by-side comparison of two leads. Each is one query (the comparison, three)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, case, or_, select
from sqlalchemy.orm import aliased

from intake.display import LazyText
from intake.display import lazy_gettext as _l
from intake.extensions import db
from intake.leads.identity import kind_label, lead_details, name_key, pair_condition
from intake.models import DuplicatePair, Lead, LeadContact, LeadMerge, StaffUser, Team

PAIRS_SHOWN = 200


@dataclass(frozen=True)
class PairRow:
    pair: DuplicatePair
    first: Lead
    second: Lead


@dataclass(frozen=True)
class LeadPair:
    """A possible duplicate as the lead page shows it: the pair and the other lead."""

    pair: DuplicatePair
    other: Lead


@dataclass(frozen=True)
class Detail:
    """A contact detail with where and when it came from, ready to show."""

    kind: str
    label: str | LazyText
    value: str
    origin: str | LazyText
    recorded_at: datetime | None


@dataclass
class Side:
    lead: Lead
    owner: str | None
    team: str | None
    details: list[Detail] = field(default_factory=list)


def open_pairs(*, scope: ColumnElement[bool], limit: int = PAIRS_SHOWN) -> list[PairRow]:
    """Open pairs whose two leads are both in the viewer's scope and not merged, newest first."""
    first, second = aliased(Lead), aliased(Lead)
    in_scope = select(Lead.id).where(scope)
    rows = db.session.execute(
        select(DuplicatePair, first, second)
        .join(first, first.id == DuplicatePair.lead_id)
        .join(second, second.id == DuplicatePair.other_id)
        .where(
            DuplicatePair.status == "open",
            first.status != "merged",
            second.status != "merged",
            first.id.in_(in_scope),
            second.id.in_(in_scope),
        )
        .order_by(DuplicatePair.found_at.desc(), DuplicatePair.id.desc())
        .limit(limit)
    )
    return [PairRow(*row) for row in rows]


def lead_pairs(lead: Lead, scope: ColumnElement[bool]) -> list[LeadPair]:
    """The lead's open possible duplicates that the viewer may see, newest first."""
    other_id = case(
        (DuplicatePair.lead_id == lead.id, DuplicatePair.other_id), else_=DuplicatePair.lead_id
    )
    rows = db.session.execute(
        select(DuplicatePair, Lead)
        .join(Lead, Lead.id == other_id)
        .where(
            pair_condition(lead.id), DuplicatePair.status == "open", Lead.status != "merged", scope
        )
        .order_by(DuplicatePair.found_at.desc(), DuplicatePair.id.desc())
        .limit(20)
    )
    return [LeadPair(*row) for row in rows]


def lead_merges(lead_id: int) -> list[LeadMerge]:
    """Merges into or out of the lead that have not been undone, newest first."""
    return list(
        db.session.scalars(
            select(LeadMerge)
            .where(
                or_(LeadMerge.kept_id == lead_id, LeadMerge.merged_id == lead_id),
                LeadMerge.undone_at.is_(None),
            )
            .order_by(LeadMerge.merged_at.desc(), LeadMerge.id.desc())
        )
    )


def origin(row: LeadContact) -> str | LazyText:
    """Where a detail came from, in words (translated when shown)."""
    where = {
        "inquiry": _l("inquiry %(id)s", id=row.inquiry_id),
        "lead": _l("the lead's record"),
        "merge": _l("a merge"),
        "import": _l("a lead import"),
    }.get(row.source, row.source)
    if row.merged_from_id is not None:
        return _l("%(where)s, merged from lead %(id)s", where=where, id=row.merged_from_id)
    return where


def contact_list(lead: Lead, rows: list[LeadContact]) -> list[Detail]:
    """Every detail on record in the order given, and the lead's own columns where no row
    holds them (a lead made before details were kept, or by an import)."""
    details = [
        Detail(row.kind, kind_label(row.kind), row.value, origin(row), row.recorded_at)  # fmt: skip
        for row in rows
    ]
    held = {(d.kind, name_key(d.value)) for d in details}
    for kind, value in lead_details(lead):
        if (kind, name_key(value)) not in held:
            details.insert(0, Detail(kind, kind_label(kind), value, _l("the lead's record"), None))
    return details


def compare(*, first: Lead, second: Lead) -> tuple[Side, Side]:
    """Both leads side by side with every contact detail on record: three queries."""
    rows = list(
        db.session.scalars(
            select(LeadContact)
            .where(LeadContact.lead_id.in_((first.id, second.id)))
            .order_by(LeadContact.recorded_at, LeadContact.id)
        )
    )
    owners = dict(
        db.session.execute(
            select(StaffUser.id, StaffUser.name).where(
                StaffUser.id.in_([x for x in (first.owner_id, second.owner_id) if x])
            )
        ).all()
    )
    teams = dict(
        db.session.execute(
            select(Team.id, Team.name).where(
                Team.id.in_([x for x in (first.team_id, second.team_id) if x])
            )
        ).all()
    )
    return tuple(
        Side(
            lead=lead,
            owner=owners.get(lead.owner_id),
            team=teams.get(lead.team_id),
            details=contact_list(lead, [row for row in rows if row.lead_id == lead.id]),
        )
        for lead in (first, second)
    )
