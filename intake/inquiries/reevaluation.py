"""Re-evaluating stored eligibility results made by older rules with the rules in force now
(the admin's questionnaire page lists the versions: ``intake.staff.queries.questionnaire``).

A re-evaluation adds a new result (the old one stays, as history) and updates the lead's
outcome column when the inquiry is the lead's latest completed one. Answers are judged as of the
day the inquiry was sent, so an age rule gives the answer it gave then."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from intake.extensions import db
from intake.inquiries.service import all_answers, record_eligibility
from intake.models import EligibilityResult, Inquiry, Lead
from intake.questionnaire.definition import Definition


@dataclass(frozen=True)
class Reevaluation:
    lead_ids: list[int]
    count: int
    remaining: int


def _latest_result_ids():
    return select(func.max(EligibilityResult.id)).group_by(EligibilityResult.inquiry_id)


def _outdated(definition: Definition):
    """Completed inquiries of live leads whose latest result came from other rules."""
    ruleset = definition.ruleset
    stale = (
        select(EligibilityResult.inquiry_id)
        .where(EligibilityResult.id.in_(_latest_result_ids()))
        .where(
            (EligibilityResult.ruleset_id != ruleset.id)
            | (EligibilityResult.ruleset_version != ruleset.version)
        )
    )
    return (
        select(Inquiry)
        .join(Lead, Lead.id == Inquiry.lead_id)
        .where(Inquiry.id.in_(stale), Inquiry.status == "complete", Lead.erased_at.is_(None))
        .order_by(Inquiry.id)
    )


def count_outdated(*, definition: Definition) -> int:
    """How many inquiries a re-evaluation would touch."""
    query = _outdated(definition).with_only_columns(func.count(Inquiry.id)).order_by(None)
    return db.session.scalar(query) or 0


def reevaluate_outdated(*, definition: Definition, now: datetime, limit: int = 500) -> Reevaluation:
    """Judge up to ``limit`` outdated inquiries again with the rules in force."""
    inquiries = list(db.session.scalars(_outdated(definition).limit(limit)))
    newest = _newest_completed(sorted({inquiry.lead_id for inquiry in inquiries}))
    for inquiry in inquiries:
        outcome = _reevaluate(inquiry, definition, now)
        if newest.get(inquiry.lead_id) == inquiry.id:  # the lead's latest inquiry decides
            inquiry.lead.eligibility_outcome = outcome
    db.session.flush()
    return Reevaluation(
        lead_ids=sorted({inquiry.lead_id for inquiry in inquiries}),
        count=len(inquiries),
        remaining=count_outdated(definition=definition),
    )


def _reevaluate(inquiry: Inquiry, definition: Definition, now: datetime) -> str:
    """Judge the inquiry as of the day it was sent, so age rules answer as they did then."""
    return record_eligibility(
        inquiry=inquiry,
        definition=definition,
        answers=all_answers(inquiry, definition.questionnaire),
        now=now,
        today=(inquiry.completed_at or now).date(),
        update_lead=False,
    )


def _newest_completed(lead_ids: list[int]) -> dict[int, int]:
    """Each lead's latest completed inquiry id."""
    if not lead_ids:
        return {}
    rows = db.session.execute(
        select(Inquiry.lead_id, func.max(Inquiry.id))
        .where(Inquiry.lead_id.in_(lead_ids), Inquiry.status == "complete")
        .group_by(Inquiry.lead_id)
    )
    return {lead_id: inquiry_id for lead_id, inquiry_id in rows}
