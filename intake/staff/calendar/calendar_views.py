"""The staff calendar (``calendar.view``): a day and a week of consults on the viewer's own
clock, theirs by default; admins (``calendar.view_all``) may pick another member or everyone."""

from __future__ import annotations

from datetime import date, timedelta

from flask import render_template, request, url_for
from flask_login import current_user

from intake.extensions import db
from intake.ids import MAX_ID
from intake.models.types import utcnow
from intake.staff import bp
from intake.staff.access import allowed, audit, requires
from intake.staff.display import lazy_gettext as _l
from intake.staff.display import viewer_zone
from intake.staff.queries.calendar import calendar_days, hosts_to_choose, week_of

STATUS_LABELS = {
    "booked": _l("booked"),
    "done": _l("done"),
    "no_show": _l("no-show"),
    "cancelled": _l("cancelled"),
}
EVERYONE = "all"


def _chosen_day(name: str, today: date) -> date:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return today


def _whose() -> tuple[int | None, str]:
    """Whose consults to show (None: everyone) and the ``staff`` value that keeps that choice."""
    wanted = request.args.get("staff", "")
    if not allowed("calendar.view_all") or not wanted:
        return current_user.id, ""
    if wanted == EVERYONE:
        return None, EVERYONE
    if wanted.isdigit() and len(wanted) <= len(str(MAX_ID)) and int(wanted) <= MAX_ID:
        return int(wanted), wanted
    return current_user.id, ""


def _links(view: str, first: date, step: timedelta, staff: str) -> dict[str, str]:
    """Previous, today's, next and the other view's page, keeping whose consults are shown."""
    here, other = ("staff.calendar_week", "staff.calendar_day")
    if view == "day":
        here, other = other, here
    keep = {"staff": staff} if staff else {}
    return {
        "here": url_for(here),
        "previous": url_for(here, **{view: (first - step).isoformat()}, **keep),
        "today": url_for(here, **keep),
        "next": url_for(here, **{view: (first + step).isoformat()}, **keep),
        "other_view": url_for(
            other, **{"day" if view == "week" else "week": first.isoformat()}, **keep
        ),
    }


def _render(view: str, first: date, count: int, step: timedelta, today: date):
    staff_user_id, staff = _whose()
    zone = viewer_zone()
    days = calendar_days(first, count, zone=zone, staff_user_id=staff_user_id)
    hosts = hosts_to_choose() if allowed("calendar.view_all") else []
    audit("calendar.viewed", target=f"staff:{staff_user_id or EVERYONE}", detail={"view": view})
    db.session.commit()
    return render_template(
        "staff/calendar/calendar.html",
        view=view,
        days=days,
        first=first,
        links=_links(view, first, step, staff),
        today=today,
        staff=staff,
        hosts=hosts,
        zone=zone,
        statuses={status: str(words) for status, words in STATUS_LABELS.items()},
        everyone=staff_user_id is None,
    )


@bp.get("/calendar")
@requires("calendar.view")
def calendar_day():
    """One day of consults, in the viewer's time zone."""
    today = utcnow().astimezone(viewer_zone()).date()
    return _render("day", _chosen_day("day", today), 1, timedelta(days=1), today)


@bp.get("/calendar/week")
@requires("calendar.view")
def calendar_week():
    """A week of consults (Monday to Sunday), one list per day."""
    today = utcnow().astimezone(viewer_zone()).date()
    return _render("week", week_of(_chosen_day("week", today)), 7, timedelta(days=7), today)
