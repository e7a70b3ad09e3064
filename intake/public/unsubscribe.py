"""Unsubscribe links: a GET that only asks, and a POST that acts (also RFC 8058 one-click)."""

from __future__ import annotations

from flask import render_template, request, session
from flask_babel import gettext

from intake import i18n
from intake.extensions import db
from intake.http import render_error
from intake.log import add_ids
from intake.messaging.unsubscribe import UNSUBSCRIBE_TEXT, read_unsubscribe_token, unsubscribe_lead
from intake.models import Lead
from intake.models.types import utcnow
from intake.public import bp


@bp.get("/unsubscribe/<token>")
def unsubscribe(token: str):
    """Ask first, so a mail scanner following the link unsubscribes nobody."""
    lead_id = read_unsubscribe_token(token)
    if lead_id is None:
        return render_error(404)
    add_ids(lead_id=lead_id)
    _speak_the_leads_language(lead_id)
    sentence = gettext(UNSUBSCRIBE_TEXT)
    return render_template("public/unsubscribe.html", sentence=sentence, token=token)


def _speak_the_leads_language(lead_id: int) -> None:
    """The link comes from one of the lead's emails: the page speaks the lead's language, unless
    this browser has chosen one (by a link, the switch, or before)."""
    if i18n.asked_for() or "lang" in session:
        return
    lead = db.session.get(Lead, lead_id)
    if lead is not None:
        i18n.remember(lead.language)


@bp.post("/unsubscribe/<token>")
def unsubscribe_post(token: str):
    """Stop emails to the lead, from the page's button or a mail client's one-click POST."""
    lead_id = read_unsubscribe_token(token)
    if lead_id is None:
        return render_error(404)
    add_ids(lead_id=lead_id)
    one_click = request.form.get("List-Unsubscribe") == "One-Click"
    unsubscribe_lead(
        lead_id=lead_id, now=utcnow(), source="one_click" if one_click else "unsubscribe_page"
    )
    db.session.commit()
    return render_template("public/unsubscribed.html")
