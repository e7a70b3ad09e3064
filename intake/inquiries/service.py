"""Starting, saving and completing inquiries. Every change lands with its outbox event."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.orm import joinedload

from intake import jobs
from intake.extensions import db, encryption
from intake.inquiries.answers import read_answers, write_answers
from intake.inquiries.consents import has_consent
from intake.inquiries.contacts import resolve_time_zone
from intake.leads.identity import record_contacts
from intake.models import Consent, EligibilityResult, Inquiry
from intake.questionnaire.definition import Definition, Questionnaire, Step
from intake.questionnaire.eligibility import evaluate


class IncompleteInquiry(Exception):
    """A required question is unanswered; ``step_id`` names the step to return to."""

    def __init__(self, step_id: str) -> None:
        super().__init__(step_id)
        self.step_id = step_id


@dataclass(frozen=True)
class Started:
    """What a request needs of an inquiry it saved, taken before the commit (so nothing is read
    again after it)."""

    id: int
    public_id: str
    lead_id: int

    @classmethod
    def of(cls, inquiry: Inquiry) -> Started:
        return cls(inquiry.id, inquiry.public_id, inquiry.lead_id)


@dataclass(frozen=True)
class Attribution:
    """Where the visitor came from, captured on the first page they saw."""

    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_term: str | None = None
    utm_content: str | None = None
    referrer: str | None = None
    landing_page: str | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Attribution:
        limits = {"referrer": 500, "landing_page": 500}
        return cls(
            **{
                f.name: str(data[f.name])[: limits.get(f.name, 200)]
                for f in fields(cls)
                if data.get(f.name)
            }
        )


def find_inquiry(public_id: str) -> Inquiry | None:
    """The inquiry with its lead, in one query."""
    return db.session.scalar(
        db.select(Inquiry).options(joinedload(Inquiry.lead)).where(Inquiry.public_id == public_id)
    )


def find_inquiry_by_submission(submission_key: str) -> Inquiry | None:
    return db.session.scalar(db.select(Inquiry).where(Inquiry.submission_key == submission_key))


def all_answers(inquiry: Inquiry, questionnaire: Questionnaire) -> dict[str, Any]:
    """Every answer of the inquiry, its own contact details included, from its seal."""
    answers = read_answers(inquiry)
    if "first_name" not in answers:
        # Sealed before each inquiry kept its own contact details (they are the lead's), or not
        # sealed yet: a new inquiry's contact step replaces these before anything is kept.
        for item in questionnaire.items.values():
            value = getattr(inquiry.lead, item.store) if item.store else None
            if value is not None:
                answers[item.link_id] = value
    return answers


def lead_columns(questionnaire: Questionnaire, answers: Mapping, *, own: bool) -> dict[str, Any]:
    """The lead's columns these answers set: the promoted ones always, its contact columns only
    while the inquiry is its ``own`` (its first and only one, ``contact_fixed_at`` unset)."""
    return {
        column: answers.get(item.link_id)
        for item in questionnaire.items.values()
        for column in filter(None, (item.store if own else None, item.promote))
    }


def _apply(inquiry: Inquiry, questionnaire: Questionnaire, answers: dict[str, Any]) -> None:
    """Seal every answer on the inquiry and set the lead's columns they decide."""
    lead = inquiry.lead
    own = lead.contact_fixed_at is None
    for column, value in lead_columns(questionnaire, answers, own=own).items():
        setattr(lead, column, value)
    write_answers(inquiry, answers)


def save_step(
    *,
    inquiry: Inquiry,
    questionnaire: Questionnaire,
    step: Step,
    answers: dict[str, Any],
    now: datetime,
) -> None:
    """Replace one step's answers; answers to questions that are now hidden are dropped."""
    merged = {
        k: v
        for k, v in all_answers(inquiry, questionnaire).items()
        if questionnaire.items[k].step_id != step.id
    }
    merged.update(answers)
    _apply(inquiry, questionnaire, questionnaire.visible_answers(merged, today=now.date()))
    inquiry.steps_saved = max(inquiry.steps_saved, questionnaire.step_index(step.id) + 1)
    inquiry.updated_at = now
    if step is not questionnaire.steps[-1]:  # the last step's consents land with the submit
        _record_changed_consents(inquiry, questionnaire, step, answers, now)


def _record_changed_consents(inquiry, questionnaire, step, answers, now) -> None:
    """Record a consent given on an early step when it differs from the one in force."""
    for item in step.items:
        if not item.consent:
            continue
        granted = bool(answers.get(item.link_id))
        if (
            inquiry.lead.id is not None
            and has_consent(lead_id=inquiry.lead.id, purpose=item.consent) == granted
        ):
            continue
        if inquiry.lead.id is None and not granted:
            continue
        db.session.add(
            Consent(
                lead=inquiry.lead,
                inquiry=inquiry,
                purpose=item.consent,
                granted=granted,
                text_version=questionnaire.version,
                text_hash=item.text_hash,
                source="inquiry_form",
                recorded_at=now,
            )
        )


def save_contact(
    *,
    inquiry: Inquiry,
    questionnaire: Questionnaire,
    answers: dict[str, Any],
    detected_time_zone: str | None,
    clinic_time_zone: str,
    now: datetime,
) -> None:
    """Save the contact step, keep any new contact detail on the lead with its origin, and
    work out the patient's time zone (on the lead's first inquiry only)."""
    save_step(
        inquiry=inquiry,
        questionnaire=questionnaire,
        step=questionnaire.steps[0],
        answers=answers,
        now=now,
    )
    lead = inquiry.lead
    if lead.contact_fixed_at is None:
        lead.time_zone, lead.time_zone_source = resolve_time_zone(
            detected=detected_time_zone, phone_e164=lead.phone, fallback=clinic_time_zone
        )
    record_contacts(lead=lead, inquiry=inquiry, answers=answers, now=now)


def keep_language(inquiry: Inquiry, language: str) -> None:
    """The language the patient is writing in: the inquiry's, and the lead's for every later
    email (a lead takes the language of the inquiry it last heard from)."""
    inquiry.language = language
    inquiry.lead.language = language


def first_incomplete_step(questionnaire: Questionnaire, answers: Mapping, *, today) -> str | None:
    """The first step with a shown, required question left unanswered."""
    for step in questionnaire.steps:
        for item in step.items:
            if (
                item.required
                and item.is_enabled(answers, today=today)
                and answers.get(item.link_id) in (None, "", [], False)
            ):
                return step.id
    return None


def complete_inquiry(
    *,
    inquiry: Inquiry,
    definition: Definition,
    now: datetime,
    consent_texts: Mapping[str, tuple[str, str]] | None = None,
) -> bool:
    """Submit the inquiry: consents, eligibility and the completion event, exactly once.

    ``consent_texts`` gives, by purpose, the (version, hash) of a document the consent is about
    (the privacy notice), recorded instead of the questionnaire's version and the item's hash.
    Returns False when it had already been submitted (a double click, a repeated post)."""
    questionnaire = definition.questionnaire
    answers = all_answers(inquiry, questionnaire)
    missing = first_incomplete_step(questionnaire, answers, today=now.date())
    if missing is not None:
        raise IncompleteInquiry(missing)
    claimed = db.session.execute(
        update(Inquiry)
        .where(Inquiry.id == inquiry.id, Inquiry.status == "draft")
        .values(status="complete", completed_at=now, updated_at=now)
    ).rowcount
    if not claimed:
        return False
    _record_consents(inquiry, questionnaire, answers, now, consent_texts or {})
    record_eligibility(inquiry=inquiry, definition=definition, answers=answers, now=now)
    inquiry.lead.incomplete = False
    jobs.record_event(
        topic="inquiry.completed", now=now, lead_id=inquiry.lead_id, inquiry_id=inquiry.id
    )
    return True


def _record_consents(inquiry: Inquiry, questionnaire: Questionnaire, answers, now, texts) -> None:
    """The final step's consents, given or refused, with the version and hash of their text."""
    db.session.execute(
        insert(Consent),
        [
            {
                "lead_id": inquiry.lead_id,
                "inquiry_id": inquiry.id,
                "purpose": item.consent,
                "granted": bool(answers.get(item.link_id)),
                "text_version": texts.get(item.consent, (questionnaire.version,))[0],
                "text_hash": texts.get(item.consent, (None, item.text_hash))[1],
                "source": "inquiry_form",
                "recorded_at": now,
            }
            for item in questionnaire.steps[-1].items
            if item.consent
        ],
    )


def record_eligibility(
    *,
    inquiry: Inquiry,
    definition: Definition,
    answers,
    now: datetime,
    today: date | None = None,
    update_lead: bool = True,
) -> str:
    """Evaluate the rules on the answers (as of ``today``, default now) and store the result
    with its sealed triggered rules; the lead takes the outcome unless told otherwise."""
    outcome = evaluate(definition.ruleset, answers, today=today or now.date())
    result = EligibilityResult(
        inquiry_id=inquiry.id,
        lead_id=inquiry.lead_id,
        outcome=outcome.outcome,
        ruleset_id=outcome.ruleset_id,
        ruleset_version=outcome.ruleset_version,
        patient_message=outcome.patient_message,
        evaluated_at=now,
    )
    result.triggered_sealed = encryption.keyring.seal_json(
        [vars(rule) for rule in outcome.triggered], context=result.triggered_context
    )
    db.session.add(result)
    if update_lead:
        inquiry.lead.eligibility_outcome = outcome.outcome
    return outcome.outcome


def latest_eligibility(inquiry: Inquiry) -> EligibilityResult | None:
    return db.session.scalar(
        db.select(EligibilityResult)
        .where(EligibilityResult.inquiry_id == inquiry.id)
        .order_by(EligibilityResult.id.desc())
        .limit(1)
    )


def inquiry_as_fhir(inquiry: Inquiry, questionnaire: Questionnaire) -> dict[str, Any]:
    """The inquiry's whole answer set as a FHIR QuestionnaireResponse (JSON-ready)."""
    from intake.questionnaire.fhir import response_to_fhir

    return response_to_fhir(
        questionnaire,
        all_answers(inquiry, questionnaire),
        response_id=inquiry.public_id,
        status="completed" if inquiry.status == "complete" else "in-progress",
        authored=inquiry.completed_at or inquiry.updated_at,
    )
