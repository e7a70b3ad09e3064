"""Each member's private calendar feed: made, replaced and revoked from their account; read
by a calendar app at a secret address, with no sign-in. The secret is in the path, so the
access log masks it (intake.log) like other link tokens."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from intake.consults.feeds import create_feed, feed_calendar, feed_owner, live_feed, revoke_feeds
from intake.extensions import db
from intake.links import absolute_url
from intake.models.types import utcnow
from intake.staff import bp
from intake.staff.access import audit, public, requires
from intake.staff.auth.forms import ActionForm


@bp.get("/account/calendar-feed")
@requires("account")
def account_calendar_feed():
    """Whether you have a calendar feed, and the buttons to make, replace or revoke it."""
    feed = live_feed(current_user.id)
    return render_template("staff/calendar/feed.html", feed=feed, url=None, form=ActionForm())


@bp.post("/account/calendar-feed")
@requires("account")
def account_calendar_feed_create():
    """Make a new feed address (ending any old one) and show it, this once."""
    if not ActionForm().validate_on_submit():
        abort(400)
    secret = create_feed(staff_user_id=current_user.id, now=utcnow())
    feed = live_feed(current_user.id)
    audit("calendar_feed.created", target=f"staff:{current_user.id}", detail={"id": feed.id})
    db.session.commit()
    url = absolute_url("staff.calendar_feed", token=secret)
    return render_template("staff/calendar/feed.html", feed=feed, url=url, form=ActionForm())


@bp.post("/account/calendar-feed/revoke")
@requires("account")
def account_calendar_feed_revoke():
    """End your feed: calendar apps subscribed to it get nothing more."""
    if not ActionForm().validate_on_submit():
        abort(400)
    count = revoke_feeds(staff_user_id=current_user.id, now=utcnow())
    audit("calendar_feed.revoked", target=f"staff:{current_user.id}", detail={"count": count})
    db.session.commit()
    flash(_("Your calendar feed is revoked."), "success")
    return redirect(url_for("staff.account_calendar_feed"), code=303)


@bp.get("/calendar/feed/<token>.ics")
@public
def calendar_feed(token: str):
    """The member's consults as iCalendar, for the calendar app holding the secret address."""
    owner = feed_owner(token)
    if owner is None:
        return Response(status=404)
    body = feed_calendar(
        staff_user_id=owner.id,
        now=utcnow(),
        lead_url=lambda lead_id: absolute_url("staff.lead", lead_id=lead_id),
    )
    audit("calendar_feed.viewed", target=f"staff:{owner.id}", actor=owner)
    db.session.commit()
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'inline; filename="consults.ics"'
    return response
