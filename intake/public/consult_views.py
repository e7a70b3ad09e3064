"""The patient's booking page, opened from the link in an email: choose a time in one step,
then see it, move it or cancel it until the cut-off. Each change is Post-Redirect-Get to a
confirmation; the booking service records the lead's event and plans the emails.

No patient data in any URL (the token names no one; the only query values are the language,
the first day shown and which confirmation to show), nor in the logs (ids only)."""

from __future__ import annotations

from datetime import date, datetime

from flask import current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from intake import i18n, jobs
from intake.consults import booking as service
from intake.consults.booking import SlotTaken, TransitionError
from intake.consults.slots import Slot
from intake.extensions import db, limiter
from intake.log import add_ids
from intake.models.types import utcnow
from intake.public import bp
from intake.public.consult_page import (
    Booking,
    BookingForm,
    choices,
    day_words,
    free_times,
    kind_words,
    length_words,
    open_booking,
    parse_day,
    parse_slot,
    slot_value,
    time_words,
    when_words,
    zone_words,
)

NOT_FREE = lazy_gettext("That time is not free any more. Please choose another.")
# How the pages write times, lengths and kinds, in the page's language and the patient's zone.
WORDS = dict(
    day_words=day_words,
    time_words=time_words,
    when_words=when_words,
    zone_words=zone_words,
    kind_words=kind_words,
    length_words=length_words,
    slot_value=slot_value,
)
TAKEN = lazy_gettext("Someone has just booked that time. Please choose another.")


def _post_limit() -> str:
    return current_app.config["INTAKE_INQUIRY_RATE_LIMIT"]


# One count for every change made from booking links (book, move, cancel), as for the inquiry.
_limited = limiter.shared_limit(_post_limit, scope="consult-booking", methods=["POST"])


def _open(token: str, now: datetime) -> Booking | None:
    """The link's booking, speaking the URL's language, else the lead's."""
    found = open_booking(token, now=now)
    if found is not None:
        add_ids(lead_id=found.lead.id)
        if not i18n.asked_for():
            i18n.remember(found.lead.language)
    return found


def _here(token: str, **args) -> str:
    return url_for(".consult_booking", token=token, lang=i18n.current_language(), **args)


def _unavailable():
    return render_template("public/consult_unavailable.html"), 410


@bp.get("/<any(es, en):language>/consult/<token>")
def consult_in_language(language: str, token: str):
    """The booking page in one language, like ``/es/inquiry``."""
    i18n.remember(language)
    return redirect(url_for(".consult_booking", token=token, lang=language))


@bp.get("/consult/<token>")
def consult_booking(token: str):
    """The free times to choose from, or the booked consult with what can still be done."""
    now = utcnow()
    booking = _open(token, now)
    if booking is None:
        return _unavailable()
    done = request.args.get("done")
    if booking.consult is None:
        if done == "cancelled":
            return _render_booked(booking, now, done)
        return _render_choose(booking, now, start=parse_day(request.args.get("from")))
    if request.args.get("change") == "1" and not booking.past_cutoff(now):
        return _render_choose(booking, now, start=parse_day(request.args.get("from")))
    return _render_booked(booking, now, done if done in ("booked", "moved") else None)


@bp.post("/consult/<token>")
@_limited
def consult_booking_post(token: str):
    """Book the chosen time, or move the booked consult to it: one step."""
    now = utcnow()
    booking = _open(token, now)
    if booking is None:
        return _unavailable()
    start, chosen = parse_day(request.form.get("from")), request.form.get("slot")
    if not BookingForm().validate():
        return _render_choose(booking, now, start=start, chosen=chosen, expired=True)
    if booking.past_cutoff(now):
        return _render_booked(booking, now, None, status=409)
    slots, starts_at = free_times(booking, now=now), parse_slot(chosen)
    if starts_at is None:
        return _render_choose(booking, now, start=start, error=_("Please choose a time."))
    if slot_value(starts_at) not in {slot_value(slot) for slot in slots}:
        gone = service.next_free(booking.consult_type, after=max(starts_at, now), now=now)
        return _render_choose(booking, now, start=start, error=NOT_FREE, taken=gone, slots=slots)
    try:
        _book_or_move(booking, starts_at, now)
    except SlotTaken as taken:
        db.session.rollback()
        return _render_choose(booking, now, start=start, error=TAKEN, taken=taken.next_free)
    except TransitionError:
        db.session.rollback()
        return redirect(_here(token), 303)
    db.session.commit()
    jobs.relay_soon()
    return redirect(_here(token, done="moved" if booking.consult else "booked"), 303)


def _book_or_move(booking: Booking, starts_at: datetime, now: datetime) -> None:
    if booking.consult is None:
        service.book(
            lead=booking.lead,
            consult_type=booking.consult_type,
            starts_at=starts_at,
            booked_by="patient",
            actor=None,
            now=now,
        )
    else:
        service.move(consult=booking.consult, starts_at=starts_at, actor=None, now=now)


@bp.route("/consult/<token>/cancel", methods=["GET", "POST"])
@_limited
def consult_cancel(token: str):
    """Ask before cancelling (GET), then cancel (POST) and confirm."""
    now = utcnow()
    booking = _open(token, now)
    if booking is None:
        return _unavailable()
    if booking.consult is None:
        return redirect(_here(token), 303)
    if booking.past_cutoff(now):
        return _render_booked(booking, now, None, status=409 if request.method == "POST" else 200)
    form = BookingForm()
    if request.method == "GET" or not form.validate():
        expired = request.method == "POST"
        return _render_cancel(booking, form, expired), 422 if expired else 200
    service.cancel(consult=booking.consult, actor=None, now=now)
    db.session.commit()
    jobs.relay_soon()
    return redirect(_here(token, done="cancelled"), 303)


# --- Pages ---------------------------------------------------------------------------------


def _render_booked(booking: Booking, now: datetime, done: str | None, status: int = 200):
    return render_template(
        "public/consult_booked.html",
        booking=booking,
        done=done,
        locked=booking.past_cutoff(now),
        cutoff_hours=current_app.config["INTAKE_CONSULT_CHANGE_CUTOFF_HOURS"],
        language_args={"done": done} if done else {},
        **WORDS,
    ), status


def _render_cancel(booking: Booking, form: BookingForm, expired: bool):
    return render_template(
        "public/consult_cancel.html",
        booking=booking,
        form=form,
        expired=expired,
        **WORDS,
    )


def _render_choose(
    booking: Booking,
    now: datetime,
    *,
    start: date | None = None,
    chosen: str | None = None,
    error: str | None = None,
    taken: list[Slot] | None = None,
    expired: bool = False,
    slots: list[Slot] | None = None,
):
    """The times to choose from; after a refusal, what went wrong next to them (and the next
    free times after a clash), the page's days and the patient's choice as they were."""
    slots = free_times(booking, now=now) if slots is None else slots
    if not slots:
        return render_template("public/consult_none_free.html", booking=booking), 200
    page = choices(slots, booking.zone, start)
    if expired:
        error = _("This page was open for a while. Please choose your time again.")
    args = {"from": start.isoformat()} if start else {}
    return render_template(
        "public/consult_choose.html",
        booking=booking,
        page=page,
        form=BookingForm(),
        chosen=chosen if chosen in page.values else None,
        error=error,
        taken=[slot for slot in taken or [] if slot_value(slot) in page.values],
        start=start,
        language_args={**args, "change": "1"} if booking.consult else args,
        **WORDS,
    ), 409 if taken is not None else 422 if error else 200
