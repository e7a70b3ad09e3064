"""Save and finish later: the saved page (the link, emailed at once where there is an address),
forgetting the draft on a shared device, and the greeting when the patient comes back."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, render_template, session

from intake import i18n, jobs
from intake.extensions import db
from intake.inquiries.save_later import WelcomeBack, save_for_later, where_left_off
from intake.links import absolute_url
from intake.models import Inquiry
from intake.models.types import utcnow
from intake.public import bp, flow

WELCOME = "welcome_back"


def render_saved(inquiry: Inquiry):
    """Issue the link, put its email in the send ledger, commit, and show the link."""
    days = current_app.config["INTAKE_RESUME_DAYS"]
    saved = save_for_later(inquiry=inquiry, now=utcnow(), valid_for=timedelta(days=days))
    db.session.commit()
    if saved.emailed == "sending":
        jobs.relay_soon()  # a worker sends it now, not at the next periodic sweep
    link = absolute_url("public.resume", token=saved.token)
    return render_template("public/saved.html", link=link, days=days, saved=saved)


@bp.post("/inquiry/forget")
def forget_draft():
    """A shared device: this browser keeps nothing of the inquiry (the cookie is removed)."""
    i18n.current_language()  # settled before the session goes: this page keeps its language
    session.clear()
    return render_template("public/forgotten.html")


def greet_on_return() -> None:
    """The next step page shown greets the patient back (set when a resume link is opened)."""
    session[WELCOME] = True


def welcome_back(inquiry: Inquiry | None) -> WelcomeBack | None:
    """The greeting for a patient who has just come back by their link, once."""
    if inquiry is None or not session.pop(WELCOME, False):
        return None
    return where_left_off(
        inquiry=inquiry, questionnaire=flow.definition().questionnaire, now=utcnow()
    )
