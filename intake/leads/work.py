"""Working a lead from its page: notes, calls, consults, clinical decisions, do-not-contact
and asking for erasure (merging is in ``intake.leads.merges``). Each records one event on
the lead's timeline.

Free text (notes, call summaries, decision notes) may hold health information: it is sealed on
the event (see ``pipeline.add_event``), never kept in ``data`` or logged."""

from __future__ import annotations

from datetime import datetime

from intake.display import lazy_gettext as _l
from intake.leads.pipeline import (
    TransitionError,
    add_event,
    change_status,
    mark_contacted,
    move_status,
)
from intake.models import (
    CALL_OUTCOMES,
    CLINICAL_DECISIONS,
    Lead,
    LeadEvent,
    StaffUser,
)
from intake.tasks.service import create_task

TEXT_MAX = 5000
DO_NOT_CONTACT_REASON = "The patient asked not to be contacted."


def _open_only(lead: Lead) -> None:
    if lead.status == "merged":
        raise TransitionError(_l("This lead was merged into another lead; work on that one."))


def add_note(*, lead: Lead, text: str, actor: StaffUser | None, now: datetime) -> LeadEvent:
    """Add a note to the lead's timeline (sealed at rest)."""
    if not (text or "").strip():
        raise TransitionError(_l("Write the note before saving it."), field="text")
    if len(text) > TEXT_MAX:
        raise TransitionError(
            _l("Keep the note under %(max)d characters.", max=TEXT_MAX), field="text"
        )
    return add_event(lead=lead, kind="note", actor=actor, now=now, text=text)


def _status_after_call(status: str, outcome: str) -> str | None:
    """A first call moves a new lead on; a reached call makes the lead contacted."""
    if status == "new":
        return "contacted" if outcome == "reached" else "attempting_contact"
    if status == "attempting_contact" and outcome == "reached":
        return "contacted"
    return None


def log_call(
    *,
    lead: Lead,
    outcome: str,
    summary: str | None,
    actor: StaffUser | None,
    now: datetime,
    call_back_at: datetime | None = None,
) -> LeadEvent:
    """Record a call and its outcome; a first call or a reached patient moves the status on.

    A patient who asked to be called back gets a call-back task due ``call_back_at`` (UTC),
    which that outcome requires."""
    _open_only(lead)
    if outcome not in CALL_OUTCOMES:
        raise TransitionError(_l("Choose how the call went."))
    if outcome == "call_back_requested" and call_back_at is None:
        raise TransitionError(
            _l("Enter when the patient asked to be called back."), field="call_back_at"
        )
    if len(summary or "") > TEXT_MAX:
        raise TransitionError(
            _l("Keep the summary under %(max)d characters.", max=TEXT_MAX), field="summary"
        )
    if outcome == "reached":
        mark_contacted(lead, now)
    event = add_event(
        lead=lead, kind="call", actor=actor, now=now, data={"outcome": outcome}, text=summary
    )
    if outcome == "call_back_requested":
        create_task(
            lead=lead,
            kind="call_back",
            due_at=call_back_at,
            actor=actor,
            now=now,
            due_field="call_back_at",
        )
    to = _status_after_call(lead.status, outcome)
    if to is not None:
        move_status(lead=lead, to=to, actor=actor, now=now, data={"cause": "call"})
    return event


def record_decision(
    *, lead: Lead, decision: str, note: str, actor: StaffUser | None, now: datetime
) -> LeadEvent:
    """Record the clinician's decision on candidacy, with their note (sealed)."""
    _open_only(lead)
    if decision not in CLINICAL_DECISIONS:
        raise TransitionError(_l("Choose a decision."))
    if not (note or "").strip():
        raise TransitionError(_l("Write a note explaining the decision."), field="note")
    if len(note) > TEXT_MAX:
        raise TransitionError(_l("Keep the note under %(max)d characters.", max=TEXT_MAX))
    lead.clinical_decision = decision
    lead.updated_at = now
    return add_event(
        lead=lead,
        kind="clinical_decision",
        actor=actor,
        now=now,
        data={"decision": decision},
        text=note,
    )


def mark_do_not_contact(*, lead: Lead, actor: StaffUser | None, now: datetime) -> LeadEvent:
    """Close the lead as do-not-contact and cancel everything still scheduled for it."""
    return change_status(
        lead=lead, to="do_not_contact", reason=DO_NOT_CONTACT_REASON, actor=actor, now=now
    )


def request_erasure(*, lead: Lead, actor: StaffUser | None, now: datetime) -> LeadEvent:
    """Mark that the patient asked for erasure; an admin carries it out."""
    if lead.erasure_requested_at is not None:
        raise TransitionError(_l("Erasure has already been requested for this lead."))
    if lead.erased_at is not None:
        raise TransitionError(_l("This lead's contact details have already been erased."))
    lead.erasure_requested_at = now
    lead.updated_at = now
    return add_event(lead=lead, kind="erasure_requested", actor=actor, now=now)
