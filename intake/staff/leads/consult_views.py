"""The consult on the lead page: book a free time, move it, cancel it, and once its time has
come, mark it done or a no-show. Each action is one POST calling one booking service, with one
audit row; a time someone has just taken is answered beside the list with the next free times."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_login import current_user

from intake.consults import booking
from intake.extensions import db
from intake.ids import parse_id
from intake.leads.pipeline import TransitionError
from intake.models import ConsultType
from intake.models.types import utcnow
from intake.staff import bp
from intake.staff.access import requires
from intake.staff.display import viewer_time
from intake.staff.leads.consult_forms import slot_time
from intake.staff.leads.lead_views import _act


def _slot(form):
    starts_at = slot_time(form.slot.data)
    if starts_at is None:
        raise TransitionError(_("Choose a free time."), field="slot")
    return starts_at


def _taken(exc: booking.SlotTaken) -> TransitionError:
    """The clash in words, with the next free times to choose from."""
    if not exc.next_free:
        message = _("%(taken)s There is no other free time for now.", taken=exc)
    else:
        times = "; ".join(viewer_time(slot.starts_at) for slot in exc.next_free)
        message = _("%(taken)s The next free times: %(times)s.", taken=exc, times=times)
    return TransitionError(message, field="slot")


def _booked(lead):
    consult = booking.booked_consult(lead.id)
    if consult is None:
        raise TransitionError(_("This patient has no consult booked."))
    return consult


def _detail(consult) -> dict:
    return {
        "consult_id": consult.id,
        "consult_type_id": consult.consult_type_id,
        "host": consult.staff_user_id,
        "status": consult.status,
    }


@bp.post("/leads/<int:lead_id>/consult")
@requires("leads.work")
def consult_book(lead_id: int):
    """Book the consult into a free time, with the chosen host or whoever is free then."""

    def run(lead, form):
        type_id = parse_id(form.type.data)
        consult_type = db.session.get(ConsultType, type_id) if type_id else None
        if consult_type is None or not consult_type.active:
            raise TransitionError(_("Choose a kind of consult."), field="slot")
        try:
            consult = booking.book(
                lead=lead,
                consult_type=consult_type,
                starts_at=_slot(form),
                booked_by="staff",
                actor=current_user,
                now=utcnow(),
                staff_user_id=parse_id(form.host.data) if form.host.data else None,
            )
        except booking.SlotTaken as exc:
            raise _taken(exc) from None
        message = _("Consult booked for %(when)s.", when=viewer_time(consult.starts_at))
        return [lead.id], _detail(consult), message

    return _act(lead_id, "consult", "lead.consult_booked", run, field="slot")


@bp.post("/leads/<int:lead_id>/consult/move")
@requires("leads.work")
def consult_move(lead_id: int):
    """Move the booked consult to another free time; the patient is told."""

    def run(lead, form):
        consult = _booked(lead)
        before = consult.starts_at
        try:
            booking.move(
                consult=consult,
                starts_at=_slot(form),
                actor=current_user,
                now=utcnow(),
                staff_user_id=parse_id(form.host.data) if form.host.data else None,
            )
        except booking.SlotTaken as exc:
            raise _taken(exc) from None
        detail = {**_detail(consult), "from": before.isoformat()}
        message = _("Consult moved to %(when)s.", when=viewer_time(consult.starts_at))
        return [lead.id], detail, message

    return _act(lead_id, "move", "lead.consult_moved", run, field="slot")


@bp.post("/leads/<int:lead_id>/consult/cancel")
@requires("leads.work")
def consult_cancel(lead_id: int):
    """Cancel the booked consult; the patient is told and gets no reminder."""

    def run(lead, form):
        consult = booking.cancel(consult=_booked(lead), actor=current_user, now=utcnow())
        return [lead.id], _detail(consult), _("Consult cancelled.")

    return _act(lead_id, "cancel", "lead.consult_cancelled", run, field="confirm")


@bp.post("/leads/<int:lead_id>/consult/outcome")
@requires("leads.work")
def consult_outcome(lead_id: int):
    """After its time: the consult took place (the lead moves on) or the patient did not come
    (invitations to book again)."""

    def run(lead, form):
        consult = booking.record_outcome(
            consult=_booked(lead), outcome=form.outcome.data, actor=current_user, now=utcnow()
        )
        done = consult.status == "done"
        message = _("Consult marked done.") if done else _("Consult marked as a no-show.")
        return [lead.id], {**_detail(consult), "lead_status": lead.status}, message

    return _act(lead_id, "outcome", "lead.consult_outcome", run, field="outcome")
