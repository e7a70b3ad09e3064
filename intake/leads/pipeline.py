"""The lead pipeline: which status moves are allowed, and what each move stops or starts.

Allowed moves (anything else is refused with a ``TransitionError`` saying why):

==================== ===========================================================
from                 to
==================== ===========================================================
new                  attempting_contact, contacted
attempting_contact   contacted, screening
contacted            screening, consult_scheduled
screening            consult_scheduled, consult_done
consult_scheduled    consult_done, treatment_planned
consult_done         treatment_planned, treated
treatment_planned    treated
any open status      not_eligible, not_interested, unreachable, do_not_contact
treated              do_not_contact (the end of the pipeline; only a patient's wish moves it)
not_eligible,        attempting_contact (reopened), do_not_contact
not_interested,
unreachable
do_not_contact       nothing: the patient asked us to stop, and that is final
merged               nothing: work on the lead it was merged into
==================== ===========================================================

"Open" is every pipeline status before ``treated``. ``merged`` is never a target here: only
merging a duplicate sets it. Closing needs a reason. Forward moves are one or two steps, so a
skipped step is a deliberate choice, never a slip of the dropdown.

Follow-ups change through the send ledger: leaving ``new`` cancels the nurture cadence (it is
for leads nobody has talked to yet); closing cancels every patient message still scheduled;
``do_not_contact`` cancels everything still scheduled for the lead, staff notices included, and
its open staff tasks.
Reaching ``contacted`` (or any later pipeline status) sets ``first_contacted_at`` once, which
stops the first-contact SLA clock.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import update

from intake.consults.closing import booked_consult, withdraw
from intake.display import LABELS, LazyText
from intake.display import label as display_label
from intake.display import lazy_gettext as _l
from intake.extensions import db, encryption
from intake.messaging.sends import PATIENT_CADENCES, cancel_sends, schedule_send, send_key
from intake.models import CLOSED, PIPELINE, Lead, LeadEvent, StaffTask, StaffUser
from intake.routing.business_hours import BusinessCalendar, add_business_hours
from intake.webhooks import emit as webhook_events

STAFF_CADENCES = (
    "staff_new_lead",
    "sla_reminder",
    "sla_escalation",
    "admin_alert",
    "staff_reply",
    "staff_consult",
    "task_reminder",
    "task_escalation",
)
REOPENABLE = ("not_eligible", "not_interested", "unreachable")
CLOSE_TARGETS = ("not_eligible", "not_interested", "unreachable", "do_not_contact")
REASON_MAX = 500

STATUS_LABELS = LABELS["status"]


def _transitions() -> dict[str, tuple[str, ...]]:
    table: dict[str, tuple[str, ...]] = {}
    open_statuses = PIPELINE[:-1]
    for index, status in enumerate(open_statuses):
        table[status] = PIPELINE[index + 1 : index + 3] + CLOSE_TARGETS
    table["treated"] = ("do_not_contact",)
    for status in REOPENABLE:
        table[status] = ("attempting_contact", "do_not_contact")
    table["do_not_contact"] = ()
    table["merged"] = ()
    return table


TRANSITIONS: dict[str, tuple[str, ...]] = _transitions()


class TransitionError(ValueError):
    """A status change or assignment that is not allowed; the message says why, plainly (staff
    text, translated when it is shown).

    ``field`` optionally names the form field the message belongs next to."""

    def __init__(self, message: str | LazyText, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def label(status: str) -> str:
    """The status as staff read it."""
    return display_label(status, "status")


def allowed_targets(status: str) -> tuple[str, ...]:
    """The statuses a lead in ``status`` may move to by hand, in pipeline order."""
    return TRANSITIONS.get(status, ())


def check_transition(current: str, to: str, reason: str | None = None) -> None:
    """Raise ``TransitionError`` unless ``current`` → ``to`` is allowed with this reason."""
    if to not in STATUS_LABELS:
        raise TransitionError(_l("Choose a status from the list."))
    if to == current:
        raise TransitionError(_l("The lead is already '%(status)s'.", status=label(to)))
    if to == "merged":
        raise TransitionError(_l("A lead becomes 'Merged' only by merging it into another lead."))
    if current == "merged":
        raise TransitionError(_l("This lead was merged into another lead; work on that one."))
    if current == "do_not_contact":
        raise TransitionError(_l("The patient asked not to be contacted; the lead stays closed."))
    if to not in TRANSITIONS.get(current, ()):
        choices = ", ".join(f"'{label(s)}'" for s in allowed_targets(current)) or _l("none")
        raise TransitionError(
            _l(
                "A lead cannot go from '%(current)s' to '%(to)s'. Allowed: %(choices)s.",
                current=label(current),
                to=label(to),
                choices=choices,
            )
        )
    if to in CLOSED and not (reason or "").strip():
        raise TransitionError(
            _l("Give a reason for closing the lead as '%(status)s'.", status=label(to)),
            field="reason",
        )
    if len(reason or "") > REASON_MAX:
        raise TransitionError(
            _l("Keep the reason under %(max)d characters.", max=REASON_MAX), field="reason"
        )


def event_context(event: LeadEvent) -> str:
    """Associated data binding an event's sealed text to that event of that lead."""
    return f"lead-event:{event.lead_id}:{event.id}"


def add_event(
    *,
    lead: Lead,
    kind: str,
    actor: StaffUser | None,
    now: datetime,
    data: dict | None = None,
    text: str | None = None,
) -> LeadEvent:
    """Record one event on the lead's timeline; free ``text`` is sealed, never stored plain."""
    event = LeadEvent(
        lead_id=lead.id, kind=kind, at=now, actor_id=actor.id if actor else None, data=data or {}
    )
    db.session.add(event)
    db.session.flush()
    webhook_events.record_for_lead_event(event, now=now)
    if text and text.strip():
        event.text_sealed = encryption.keyring.seal(
            text.strip().encode(), context=event_context(event)
        )
    return event


def event_text(event: LeadEvent) -> str | None:
    """The event's free text, opened; None when it has none."""
    if not event.text_sealed:
        return None
    return encryption.keyring.open(event.text_sealed, context=event_context(event)).decode()


def mark_contacted(lead: Lead, now: datetime) -> None:
    """Stop the first-contact SLA clock, once."""
    if lead.first_contacted_at is None:
        lead.first_contacted_at = now


def stop_followups(lead: Lead, *, to: str, now: datetime) -> None:
    """Cancel the scheduled messages that no longer apply once the lead is in ``to``; closing
    also withdraws a booked consult and the open tasks."""
    if to in CLOSED:
        withdraw_for_closed(lead, now, notify=to not in ("do_not_contact", "merged"))
    if to == "do_not_contact":
        everything = PATIENT_CADENCES + STAFF_CADENCES
        cancel_sends(lead_id=lead.id, cadences=everything, reason="do_not_contact", now=now)
    elif to in CLOSED:
        cancel_sends(lead_id=lead.id, cadences=PATIENT_CADENCES, reason="closed", now=now)
    elif to != "new":
        cancel_sends(lead_id=lead.id, cadences=("nurture",), reason="contacted", now=now)


def withdraw_for_closed(lead: Lead, now: datetime, *, notify: bool) -> None:
    """A closed or erased lead keeps no consult in anyone's diary and no task on anyone's list;
    the patient is told of the cancelled consult unless ``notify`` is False."""
    consult = booked_consult(lead.id)
    if consult is not None:
        withdraw(consult, lead, now, notify=notify)
        add_event(lead=lead, kind="consult_cancelled", actor=None, now=now,
                  data={"at": consult.starts_at.isoformat(), "consult_id": consult.id,
                        "by": "closed"})  # fmt: skip
    db.session.execute(
        update(StaffTask)
        .where(StaffTask.lead_id == lead.id, StaffTask.status == "open")
        .values(status="cancelled", done_at=now)
        .execution_options(synchronize_session=False)
    )


def move_status(
    *, lead: Lead, to: str, actor: StaffUser | None, now: datetime, data: dict | None = None
) -> LeadEvent:
    """Set the status and its consequences without checking the table (callers check)."""
    before = lead.status
    lead.status = to
    lead.updated_at = now
    if to in PIPELINE and PIPELINE.index(to) >= PIPELINE.index("contacted"):
        mark_contacted(lead, now)
    stop_followups(lead, to=to, now=now)
    return add_event(
        lead=lead,
        kind="status_changed",
        actor=actor,
        now=now,
        data={"from": before, "to": to, **(data or {})},
    )


def change_status(
    *, lead: Lead, to: str, reason: str | None, actor: StaffUser | None, now: datetime
) -> LeadEvent:
    """Move the lead along an allowed transition, stopping follow-ups that no longer apply.

    The reason (required when closing) may mention health, so it is sealed on the event."""
    check_transition(lead.status, to, reason)
    event = move_status(lead=lead, to=to, actor=actor, now=now)
    if reason and reason.strip():
        event.text_sealed = encryption.keyring.seal(
            reason.strip().encode(), context=event_context(event)
        )
    return event


def _start_sla_clock(lead: Lead, now: datetime) -> None:
    config = current_app.config
    lead.sla_due_at = add_business_hours(
        BusinessCalendar.from_config(config), now, config["INTAKE_SLA_HOURS"]
    )
    lead.sla_reminded_at = None
    lead.sla_breached_at = None


def assign_lead(*, lead: Lead, owner: StaffUser, actor: StaffUser | None, now: datetime):
    """Give the lead to an active member of staff and notify them with a link only.

    An uncontacted lead without a deadline starts its SLA clock now; an existing deadline is
    kept, so reassigning never buys time."""
    if lead.status == "merged":
        raise TransitionError(_l("This lead was merged into another lead; work on that one."))
    if not owner.active:
        raise TransitionError(_l("Choose an active member of staff."))
    if lead.owner_id == owner.id:
        raise TransitionError(_l("The lead is already assigned to %(name)s.", name=owner.name))
    before = lead.owner_id
    lead.owner_id = owner.id
    lead.assigned_at = now
    lead.updated_at = now
    if lead.first_contacted_at is None and lead.sla_due_at is None and lead.status not in CLOSED:
        _start_sla_clock(lead, now)
    event = add_event(
        lead=lead, kind="assigned", actor=actor, now=now, data={"from": before, "to": owner.id}
    )
    schedule_send(
        key=send_key(lead.id, "staff_new_lead", "event", event.id),
        cadence="staff_new_lead",
        template="staff_new_lead",
        due_at=now,
        staff_user_id=owner.id,
        lead_id=lead.id,
        now=now,
    )
    return event
