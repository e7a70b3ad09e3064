"""The dashboard (``dashboard.view``): figures for the leads the user may see, as bar charts
drawn on the server (SVG, no scripts) beside tables of the same numbers."""

from __future__ import annotations

from flask import current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from intake.accounts.permissions import lead_scope
from intake.display import label
from intake.extensions import db
from intake.models.types import utcnow
from intake.staff import bp
from intake.staff.access import audit, requires
from intake.staff.queries.attribution import STAGES, attribution_figures
from intake.staff.queries.dashboard import dashboard_figures

PERIODS = (30, 90, 365)
DEFAULT_PERIOD = 90
BAR_HEIGHT, BAR_GAP, LABEL_WIDTH, BAR_SPACE = 22, 8, 170, 300


def bar_chart(rows: list[tuple[str, int]]) -> dict:
    """Geometry for a horizontal bar chart: a bar per row, scaled to the largest value."""
    largest = max((value for _, value in rows), default=0) or 1
    bars = [
        {
            "label": label,
            "value": value,
            "y": index * (BAR_HEIGHT + BAR_GAP),
            "width": round(BAR_SPACE * value / largest) if value else 0,
        }
        for index, (label, value) in enumerate(rows)
    ]
    return {
        "bars": bars,
        "height": max(len(rows), 1) * (BAR_HEIGHT + BAR_GAP),
        "width": LABEL_WIDTH + BAR_SPACE + 60,
        "label_width": LABEL_WIDTH,
        "bar_height": BAR_HEIGHT,
    }


def duration(seconds: float) -> str:
    """A wait in words: "under a minute", "45 min", "2 h 5 min", "3 days 4 h"."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return _("under a minute")
    days, hours, minutes = minutes // 1440, minutes % 1440 // 60, minutes % 60
    if days:
        whole_days = ngettext("%(num)s day", "%(num)s days", days)
        return _("%(days)s %(hours)s h", days=whole_days, hours=hours) if hours else whole_days
    if hours:
        return _("%(hours)s h %(minutes)s min", hours=hours, minutes=minutes)
    return _("%(minutes)s min", minutes=minutes)


@bp.get("/dashboard")
@requires("dashboard.view")
def dashboard():
    """Leads by status and source, the funnel, time to first contact and SLA breaches."""
    days = request.args.get("days", type=int)
    days = days if days in PERIODS else DEFAULT_PERIOD
    figures = dashboard_figures(scope=lead_scope(current_user), now=utcnow(), days=days)
    questionnaire = current_app.extensions["intake.definition"].questionnaire
    audit("dashboard.viewed", detail={"days": days})
    db.session.commit()
    return render_template(
        "staff/dashboard.html",
        figures=figures,
        days=days,
        periods=PERIODS,
        duration=duration,
        status_chart=bar_chart([(label(s, "status"), n) for s, n in figures.by_status]),
        source_chart=bar_chart(
            [(label(s, "source", questionnaire), n) for s, n in figures.by_source]
        ),
        funnel_chart=bar_chart([(stage.label, stage.count) for stage in figures.funnel]),
    )


@bp.get("/dashboard/attribution")
@requires("dashboard.view")
def dashboard_attribution():
    """Leads by article, campaign and source, the stages they reached, and a weekly trend."""
    days = request.args.get("days", type=int)
    days = days if days in PERIODS else DEFAULT_PERIOD
    figures = attribution_figures(
        scope=lead_scope(current_user),
        now=utcnow(),
        days=days,
        zone=current_app.config["INTAKE_CLINIC_TIME_ZONE"],
    )
    audit("dashboard.attribution_viewed", detail={"days": days})
    db.session.commit()
    return render_template(
        "staff/attribution.html", figures=figures, days=days, periods=PERIODS, stages=STAGES
    )
