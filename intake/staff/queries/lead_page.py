"""Everything the lead page shows, gathered in a fixed, small number of queries.

Queries, whatever the lead's history: its inquiries, its eligibility results, its contact
details on record, its open possible-duplicate pairs, its merges that can still be undone,
staff names, team names, its conversation, and the timeline's four sources. Answers and
triggered rules are opened only here, and answers and the rules' reasons (which name the health
condition) only when the caller says the viewer may see them; everyone else gets each reason's
category."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select

from intake.crypto import DecryptionError
from intake.display import LazyText, labels
from intake.display import lazy_gettext as _l
from intake.extensions import db, encryption
from intake.inquiries.answers import read_answers
from intake.leads.duplicates import Detail, LeadPair, contact_list, lead_merges, lead_pairs
from intake.leads.identity import lead_contacts
from intake.leads.merges import undo_deadline
from intake.leads.timeline import Entry, build_timeline
from intake.models import EligibilityResult, Inquiry, Lead, LeadMerge, StaffUser, Team
from intake.questionnaire.definition import Questionnaire, RuleSet
from intake.routing.sla import sla_state
from intake.staff.queries.conversation import ThreadItem, build_thread, timeline_entries

OUTCOME_LABELS = labels("outcome")


@dataclass(frozen=True)
class Eligibility:
    outcome: str
    ruleset_id: str
    ruleset_version: str
    evaluated_at: datetime
    inquiry_id: int
    reasons: tuple[str, ...]  # empty unless the viewer may see health information
    categories: tuple[str | LazyText, ...] = ()  # each kind of reason once, in rule order
    unreadable: bool = False


@dataclass(frozen=True)
class Answer:
    label: str
    value: str | LazyText


@dataclass
class InquiryView:
    inquiry: Inquiry
    outcome: str | None = None
    answers: list[Answer] | None = None  # None: not shown to this viewer
    unreadable: bool = False


@dataclass(frozen=True)
class MergeView:
    merge: LeadMerge
    until: datetime  # when it can no longer be undone
    undoable: bool


@dataclass
class LeadPage:
    lead: Lead
    owner: str | None
    team: str | None
    sla: str | None  # intake.routing.sla.sla_state: None when there is no deadline
    inquiries: list[InquiryView]
    eligibility: Eligibility | None
    duplicates: list[LeadPair]
    contacts: list[Detail]
    merges: list[MergeView]
    timeline: list[Entry]
    staff: dict[int, str] = field(default_factory=dict)
    thread: list[ThreadItem] = field(default_factory=list)
    active_staff: list[tuple[int, str]] = field(default_factory=list)


def _staff() -> tuple[dict[int, str], list[tuple[int, str]]]:
    rows = db.session.execute(
        select(StaffUser.id, StaffUser.name, StaffUser.active).order_by(StaffUser.name)
    ).all()
    return {row.id: row.name for row in rows}, [(row.id, row.name) for row in rows if row.active]


def _teams() -> dict[int, str]:
    return {row.id: row.name for row in db.session.execute(select(Team.id, Team.name))}


def _format(item, value: Any) -> str | LazyText:
    if item is None:
        return ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    if item.type == "boolean":
        return _l("Yes") if value else _l("No")
    if isinstance(value, list):
        return ", ".join(item.display_for(str(v)) for v in value)
    if item.type == "choice":
        return item.display_for(str(value))
    return str(value)


def answer_list(answers: Mapping[str, Any], questionnaire: Questionnaire) -> list[Answer]:
    """The answers in questionnaire order, each with its question's text and shown values."""
    ordered = [key for key in questionnaire.items if key in answers]
    ordered += [key for key in answers if key not in questionnaire.items]
    return [
        Answer(
            questionnaire.items[key].text if key in questionnaire.items else key,
            _format(questionnaire.items.get(key), answers[key]),
        )
        for key in ordered
    ]


def _opened_answers(inquiry: Inquiry, questionnaire: Questionnaire) -> list[Answer] | None:
    try:
        return answer_list(read_answers(inquiry), questionnaire)
    except DecryptionError:
        return None


UNCATEGORISED = _l("A reason shown to clinical staff")


def _category(rule: Mapping[str, Any], ruleset: RuleSet | None) -> str | LazyText:
    """The stored category; a result from before categories takes its rule's current one."""
    if rule.get("category"):
        return rule["category"]
    current = next((r for r in (ruleset.rules if ruleset else ()) if r.id == rule.get("id")), None)
    return ruleset.categories[current.category] if current else UNCATEGORISED


def _eligibility(
    result: EligibilityResult | None, *, show_reasons: bool, ruleset: RuleSet | None
) -> Eligibility | None:
    if result is None:
        return None
    try:
        rules = encryption.keyring.open_json(
            result.triggered_sealed, context=result.triggered_context
        )
        unreadable = False
    except DecryptionError:
        rules, unreadable = [], True
    reasons = tuple(rule["reason"] for rule in rules) if show_reasons else ()
    categories = tuple(dict.fromkeys(_category(rule, ruleset) for rule in rules))
    return Eligibility(
        outcome=result.outcome,
        ruleset_id=result.ruleset_id,
        ruleset_version=result.ruleset_version,
        evaluated_at=result.evaluated_at,
        inquiry_id=result.inquiry_id,
        reasons=reasons,
        categories=categories,
        unreadable=unreadable,
    )


def _inquiry_views(
    inquiries: list[Inquiry], results: list[EligibilityResult], questionnaire, show_answers
) -> list[InquiryView]:
    latest = {result.inquiry_id: result.outcome for result in results}  # ascending ids
    views = []
    for inquiry in sorted(inquiries, key=lambda i: i.started_at, reverse=True):
        view = InquiryView(inquiry, outcome=latest.get(inquiry.id))
        if show_answers:
            view.answers = _opened_answers(inquiry, questionnaire)
            view.unreadable = view.answers is None
        views.append(view)
    return views


def build_lead_page(
    *,
    lead: Lead,
    scope: ColumnElement[bool],
    show_answers: bool,
    questionnaire: Questionnaire,
    now: datetime,
    unmerge_days: int = 30,
    ruleset: RuleSet | None = None,
) -> LeadPage:
    """Gather the lead page: contact details, eligibility, inquiries, possible duplicates,
    merges, the conversation and the timeline.

    ``show_answers`` also decides whether the eligibility reasons are shown, or only their
    categories (the rule set in force names the category of a result stored before them)."""
    inquiries = list(db.session.scalars(select(Inquiry).where(Inquiry.lead_id == lead.id)))
    results = list(
        db.session.scalars(
            select(EligibilityResult)
            .where(EligibilityResult.lead_id == lead.id)
            .order_by(EligibilityResult.id)
        )
    )
    contacts = lead_contacts(lead.id)
    names, active = _staff()
    teams = _teams()
    thread = build_thread(lead.id, names)
    timeline = build_timeline(
        lead=lead,
        inquiries=inquiries,
        contacts=contacts,
        names=names,
        teams=teams,
        show_health=show_answers,
    )
    # Stable: what came back sorts among the rest by its time.
    timeline = sorted(timeline + timeline_entries(thread), key=lambda e: e.at, reverse=True)
    return LeadPage(
        lead=lead,
        owner=names.get(lead.owner_id) if lead.owner_id else None,
        team=teams.get(lead.team_id) if lead.team_id else None,
        sla=sla_state(lead, now),
        inquiries=_inquiry_views(inquiries, results, questionnaire, show_answers),
        eligibility=_eligibility(
            results[-1] if results else None, show_reasons=show_answers, ruleset=ruleset
        ),
        duplicates=lead_pairs(lead, scope),
        contacts=contact_list(lead, contacts),
        merges=[
            MergeView(
                merge, undo_deadline(merge, unmerge_days), now <= undo_deadline(merge, unmerge_days)
            )
            for merge in lead_merges(lead.id)
        ],
        timeline=timeline,
        staff=names,
        thread=thread,
        active_staff=active,
    )
