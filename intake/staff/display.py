"""The staff pages' Jinja filters: ``local_time`` and ``local_date`` write a stored time in the
signed-in reader's own time zone, named; ``label`` gives the words for a stored code. Every staff
template writes times and codes through these, so there is one format and one label map.

A page of 50 rows writes a few hundred labels and times, and Flask-Babel finds the locale and the
catalogue again on every ``gettext`` (tens of microseconds each, most of the queue page's time):
``label`` keeps the words it has found for the rest of the request, per language (a page in
``force_locale`` gets its own).

``lazy_gettext`` (from ``intake.display``) marks staff text kept in constants and form fields
(the ``staff`` catalogue)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, g
from flask_babel import get_locale
from flask_login import current_user

from intake import display
from intake.display import LazyText, lazy_gettext  # noqa: F401 (staff code imports _l here)
from intake.staff import bp


def viewer_zone() -> ZoneInfo:
    """The signed-in person's time zone (the clinic's before sign-in, or if theirs is unknown).

    Every time on a page asks (twice for a calendar entry): the zone is kept in ``g`` for the
    rest of the request beside the name it was found for, so a changed setting is found again."""
    user = current_user._get_current_object()
    mine = user.time_zone if user.is_authenticated else None
    kept = g.get("_viewer_zone")
    if kept is not None and kept[0] == mine:
        return kept[1]
    zone = display.zone_or(mine, current_app.config["INTAKE_CLINIC_TIME_ZONE"])
    g._viewer_zone = (mine, zone)
    return zone


def viewer_utc(local: datetime | None) -> datetime | None:
    """A date and time typed in the reader's own time zone, as UTC; None stays None."""
    if local is None:
        return None
    return local.replace(tzinfo=viewer_zone()).astimezone(UTC)


def viewer_time(moment: datetime | None, default: str = "") -> str:
    """A stored time as the signed-in reader reads it: "Mon 7 Dec 2026, 14:05 EST"."""
    return display.local_time(moment, viewer_zone(), default=default)


@bp.app_template_filter("local_time")
def _local_time(moment: datetime | None, default: str = "") -> str:
    return viewer_time(moment, default)


@bp.app_template_filter("local_clock")
def _local_clock(moment: datetime) -> str:
    return display.local_clock(moment, viewer_zone())


@bp.app_template_filter("local_date")
def _local_date(day: date | datetime | None, default: str = "") -> str:
    return display.local_date(day, viewer_zone(), default=default)


def _words_found() -> dict[tuple[str, str], str]:
    """The labels found so far in this request, in its current language."""
    locale = get_locale()
    found = g.get("staff_labels")
    if found is None or found[0] is not locale:
        found = g.staff_labels = (locale, {})
    return found[1]


@bp.app_template_filter("label")
def _label(code: str | None, kind: str, default: str = "—") -> str:
    if code is None or code == "":
        return default
    words = _words_found()
    try:
        return words[kind, code]
    except KeyError:
        questionnaire = current_app.extensions["intake.definition"].questionnaire
        text = words[kind, code] = display.label(code, kind, questionnaire, default)
        return text


@bp.app_context_processor
def _zone() -> dict:
    return {"viewer_zone": viewer_zone}
