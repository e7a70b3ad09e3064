"""Merging two leads of one person, undoing a merge, and dismissing a possible duplicate.

A merge is allowed on an open possible-duplicate pair (the pair is the justification, whatever
its reason) or, without one, when the two leads share an email or phone; never on a pair
recorded as "not the same person". It moves the merged lead's inquiries, eligibility results
and contact details onto the kept lead (each detail keeps its origin and notes the lead it came
from), cancels the merged lead's scheduled messages through the ledger, and leaves its consents
and events where they are (consent is per lead and never widened). Everything it moved and
changed is recorded, so within ``INTAKE_UNMERGE_DAYS`` an un-merge puts both leads back."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from intake.display import lazy_gettext as _l
from intake.extensions import db
from intake.leads.identity import pair_between, record_lead_details, shares_contact
from intake.leads.pipeline import STAFF_CADENCES, TransitionError, add_event
from intake.messaging.sends import PATIENT_CADENCES, cancel_sends
from intake.models import (
    Consult,
    DuplicatePair,
    EligibilityResult,
    Inquiry,
    Lead,
    LeadContact,
    LeadEvent,
    LeadMerge,
    Send,
    StaffTask,
    StaffUser,
)

# What a merge changes on the kept lead, restored by an un-merge.
KEPT_FIELDS = (
    "last_inquiry_at",
    "incomplete",
    "eligibility_outcome",
    "ms_type",
    "first_contacted_at",
    "contact_fixed_at",
)
TIME_FIELDS = frozenset({"last_inquiry_at", "first_contacted_at", "contact_fixed_at"})


def _ids(column, where) -> list[int]:
    return list(db.session.scalars(select(column).where(where).order_by(column)))


def _move(model, ids: list[int], lead_id: int, **values) -> None:
    if ids:
        db.session.execute(
            update(model)
            .where(model.id.in_(ids))
            .values(lead_id=lead_id, **values)
            .execution_options(synchronize_session=False)
        )


def _move_consults(moved: dict, giver: Lead, taker: Lead) -> None:
    """The same person's consults and tasks go with them, and so do the consults' messages still
    waiting (a reminder is for the person, whichever lead they are on)."""
    consults = moved.get("consults", [])
    _move(Consult, consults, taker.id)
    _move(StaffTask, moved.get("tasks", []), taker.id)
    if not consults:
        return
    db.session.execute(
        update(Send)
        .where(Send.consult_id.in_(consults), Send.status == "scheduled")
        .values(lead_id=taker.id)
        .execution_options(synchronize_session=False)
    )
    booked = select(Consult.starts_at).where(
        Consult.lead_id == taker.id, Consult.status == "booked"
    )
    taker.consult_at = db.session.scalar(booked) or taker.consult_at
    giver.consult_at = None


def _check_merge(keep: Lead, duplicate: Lead, pair: DuplicatePair | None) -> None:
    if keep.id == duplicate.id:
        raise TransitionError(_l("A lead cannot be merged into itself."))
    if "merged" in (keep.status, duplicate.status):
        raise TransitionError(_l("That lead has already been merged."))
    if pair is not None and pair.status == "not_same_person":
        raise TransitionError(_l("These leads were recorded as not the same person."))
    booked = select(Consult.lead_id).where(
        Consult.lead_id.in_((keep.id, duplicate.id)), Consult.status == "booked"
    )
    if len(db.session.scalars(booked).all()) == 2:
        raise TransitionError(
            _l("Both leads have a consult booked. Cancel one of them before merging.")
        )
    if (pair is None or pair.status != "open") and not shares_contact(keep, duplicate):
        raise TransitionError(
            _l("Only a possible duplicate, or a lead with the same email or phone, can be merged.")
        )


def merge_leads(
    *, keep: Lead, duplicate: Lead, actor: StaffUser | None, now: datetime
) -> LeadEvent:
    """Move the duplicate's inquiries, results and contact details onto ``keep`` and close the
    duplicate as merged; the record of what moved lets an un-merge restore both."""
    pair = pair_between(keep.id, duplicate.id)
    _check_merge(keep, duplicate, pair)
    record_lead_details(lead=keep, now=now)
    record_lead_details(lead=duplicate, now=now)
    db.session.flush()
    moved = {
        "inquiries": _ids(Inquiry.id, Inquiry.lead_id == duplicate.id),
        "results": _ids(EligibilityResult.id, EligibilityResult.lead_id == duplicate.id),
        "contacts": _ids(LeadContact.id, LeadContact.lead_id == duplicate.id),
        "consults": _ids(Consult.id, Consult.lead_id == duplicate.id),
        "tasks": _ids(StaffTask.id, StaffTask.lead_id == duplicate.id),
    }
    before = {
        "kept": {name: _plain(getattr(keep, name)) for name in KEPT_FIELDS},
        "merged": {"status": duplicate.status},
    }
    _move(Inquiry, moved["inquiries"], keep.id)
    _move(EligibilityResult, moved["results"], keep.id)
    _move(LeadContact, moved["contacts"], keep.id, merged_from_id=duplicate.id)
    _move_consults(moved, duplicate, keep)
    cancel_sends(
        lead_id=duplicate.id, cadences=PATIENT_CADENCES + STAFF_CADENCES, reason="merged", now=now
    )
    _absorb(keep, duplicate, now)
    before["kept_after"] = {name: _plain(getattr(keep, name)) for name in KEPT_FIELDS}
    duplicate.status = "merged"
    duplicate.merged_into_id = keep.id
    duplicate.updated_at = now
    if pair is not None and pair.status == "open":
        pair.status, pair.decided_at, pair.decided_by_id = "merged", now, _id(actor)
    merge = LeadMerge(
        kept_id=keep.id,
        merged_id=duplicate.id,
        pair_id=pair.id if pair is not None else None,
        merged_at=now,
        merged_by_id=_id(actor),
        moved=moved,
        before=before,
    )
    db.session.add(merge)
    db.session.flush()
    add_event(
        lead=duplicate,
        kind="merged",
        actor=actor,
        now=now,
        data={"into": keep.id, "from": before["merged"]["status"], "merge_id": merge.id},
    )
    db.session.expire(keep, ["inquiries"])
    return add_event(
        lead=keep,
        kind="merged",
        actor=actor,
        now=now,
        data={
            "duplicate": duplicate.id,
            "inquiries": len(moved["inquiries"]),
            "contacts": len(moved["contacts"]),
            "merge_id": merge.id,
        },
    )


def _id(actor: StaffUser | None) -> int | None:
    return actor.id if actor is not None else None


def _plain(value):
    return value.isoformat() if isinstance(value, datetime) else value


def _absorb(keep: Lead, duplicate: Lead, now: datetime) -> None:
    """What the kept lead learns from the duplicate: its newer activity and its outcome."""
    keep.last_inquiry_at = max(keep.last_inquiry_at, duplicate.last_inquiry_at)
    keep.incomplete = keep.incomplete and duplicate.incomplete
    keep.eligibility_outcome = keep.eligibility_outcome or duplicate.eligibility_outcome
    keep.ms_type = keep.ms_type or duplicate.ms_type
    if keep.first_contacted_at is None and duplicate.first_contacted_at is not None:
        keep.first_contacted_at = duplicate.first_contacted_at
    keep.contact_fixed_at = keep.contact_fixed_at or now
    keep.updated_at = now


def undo_deadline(merge: LeadMerge, days: int) -> datetime:
    return merge.merged_at + timedelta(days=days)


def unmerge(
    *, merge: LeadMerge, kept: Lead, merged: Lead, actor: StaffUser | None, days: int, now: datetime
) -> LeadEvent:
    """Undo a merge within ``days``: the merged lead gets back its inquiries, results, contact
    details and status, and the kept lead the fields the merge changed, as they were (unless
    changed again since). Messages the merge cancelled stay cancelled (each is sent at most
    once)."""
    if merge.undone_at is not None:
        raise TransitionError(_l("This merge has already been undone."))
    if now > undo_deadline(merge, days):
        raise TransitionError(_l("A merge can be undone for %(days)s days only.", days=days))
    if kept.status == "merged" or merged.merged_into_id != kept.id:
        raise TransitionError(_l("The kept lead was merged again since; undo that merge first."))
    if kept.erased_at is not None or merged.erased_at is not None:
        raise TransitionError(_l("A lead of this merge has been erased; it cannot be undone."))
    moved = merge.moved
    _move(Inquiry, moved.get("inquiries", []), merged.id)
    _move(EligibilityResult, moved.get("results", []), merged.id)
    _move(LeadContact, moved.get("contacts", []), merged.id, merged_from_id=None)
    _move_consults(moved, kept, merged)
    after = merge.before.get("kept_after", {})
    for name, value in merge.before["kept"].items():
        if name in after and _plain(getattr(kept, name)) != after[name]:
            continue  # changed since the merge (a new inquiry, a call): that change stays
        is_time = name in TIME_FIELDS and value is not None
        setattr(kept, name, datetime.fromisoformat(value) if is_time else value)
    kept.updated_at = now
    merged.status = merge.before["merged"]["status"]
    merged.merged_into_id = None
    merged.updated_at = now
    merge.undone_at, merge.undone_by_id = now, _id(actor)
    if merge.pair_id is not None:
        pair = db.session.get(DuplicatePair, merge.pair_id)
        pair.status, pair.decided_at, pair.decided_by_id = "open", None, None
    db.session.expire(kept, ["inquiries"])
    db.session.expire(merged, ["inquiries"])
    data = {"merge_id": merge.id, "inquiries": len(moved.get("inquiries", []))}
    add_event(lead=merged, kind="unmerged", actor=actor, now=now, data={**data, "from": kept.id})
    return add_event(
        lead=kept, kind="unmerged", actor=actor, now=now, data={**data, "lead": merged.id}
    )


def dismiss_pair(
    *, pair: DuplicatePair, first: Lead, second: Lead, actor: StaffUser | None, now: datetime
) -> None:
    """Record that the two leads are not the same person; the pair is never offered again."""
    if pair.status != "open":
        raise TransitionError(_l("This pair has already been decided."))
    pair.status, pair.decided_at, pair.decided_by_id = "not_same_person", now, _id(actor)
    for lead, other in ((first, second), (second, first)):
        add_event(lead=lead, kind="not_duplicate", actor=actor, now=now, data={"other": other.id})
