"""The privacy notice and the terms of use, on their own pages and as a detour from a step.

From a step of the inquiry, the notice is opened by a button of the step's own form: the step is
saved where there is a draft, and the notice page carries every posted value back in hidden
fields, so "Back to your answers" returns to the same step with everything typed, sent or not,
and with JavaScript off.
"""

from __future__ import annotations

from flask import current_app, render_template, request

from intake.i18n import current_language
from intake.notices import Notice
from intake.public import bp

DETOURS = {"notice:privacy": "privacy", "notice:terms": "terms"}


def notice(name: str) -> Notice:
    """The notice in the language of this page."""
    return current_app.extensions["intake.notices.translated"][current_language()][name]


def detour_wanted() -> str | None:
    """The notice a step's form asked to open, if its button was pressed."""
    return DETOURS.get(request.form.get("action", ""))


def render_detour(name: str, *, back_url: str, step_title: str):
    """The notice, with the step's posted values kept for the way back."""
    carried = [(key, value) for key, value in request.form.items(multi=True) if key != "action"]
    return render_template(
        "public/notice.html",
        notice=notice(name),
        carried=carried,
        back_url=back_url,
        step_title=step_title,
    )


@bp.get("/privacy")
def privacy():
    """The clinic's privacy notice, in the version patients agree to."""
    return render_template("public/notice.html", notice=notice("privacy"))


@bp.get("/terms")
def terms():
    """The terms of use of the inquiry form."""
    return render_template("public/notice.html", notice=notice("terms"))
