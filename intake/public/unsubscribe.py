"""Unsubscribe links: a GET that only asks, and a POST that acts (also RFC 8058 one-click)."""

from __future__ import annotations

from flask import render_template, request

from intake.extensions import db
from intake.http import render_error
from intake.log import add_ids
from intake.messaging.unsubscribe import UNSUBSCRIBE_TEXT, read_unsubscribe_token, unsubscribe_lead
from intake.models.types import utcnow
from intake.public import bp


@bp.get("/unsubscribe/<token>")
def unsubscribe(token: str):
    """Ask first, so a mail scanner following the link unsubscribes nobody."""
    lead_id = read_unsubscribe_token(token)
    if lead_id is None:
        return render_error(404)
    add_ids(lead_id=lead_id)
    return render_template("public/unsubscribe.html", sentence=UNSUBSCRIBE_TEXT, token=token)


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
