"""Mail administration (``admin.mail``): dead letters to retry or discard, and the captured
mail of the embedded mode. Captured mail goes to patients, so every view of it is audited."""

from __future__ import annotations

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from intake.extensions import db
from intake.ids import parse_id
from intake.messaging.sends import discard_dead, retry_dead
from intake.models.types import utcnow
from intake.staff import bp
from intake.staff.access import audit, deny, requires
from intake.staff.admin.config_views import PREVIEW_CSP
from intake.staff.queries.mail import (
    captured_page,
    dead_sends,
    find_captured,
    find_send,
    leads_for_address,
)


@bp.get("/admin/mail/dead")
@requires("admin.mail")
def admin_dead_letters():
    """Emails that gave up: what, to which lead, how often tried and the last error."""
    sends = dead_sends()
    audit("mail.dead_listed", lead_ids=[s.lead_id for s in sends if s.lead_id is not None])
    db.session.commit()
    return render_template("staff/admin/dead_letters.html", sends=sends)


@bp.post("/admin/mail/dead/<int:send_id>/<any(retry, discard):action>")
@requires("admin.mail")
def admin_dead_letter_action(send_id: int, action: str):
    """Try a dead email again from the start, or give up on it for good."""
    send = find_send(send_id)
    change = retry_dead if action == "retry" else discard_dead
    done = change(send_id=send_id, now=utcnow())
    audit(
        f"mail.dead_{'retried' if action == 'retry' else 'discarded'}",
        lead_ids=[send.lead_id] if send is not None and send.lead_id is not None else [],
        target=f"send:{send_id}",
        outcome="ok" if done else "failed",
    )
    db.session.commit()
    if done and action == "retry":
        flash(_("Email %(id)s will be sent again shortly.", id=send_id), "success")
    elif done:
        flash(_("Email %(id)s will be not sent.", id=send_id), "success")
    else:
        flash(_("Email %(id)s is no longer waiting for a decision.", id=send_id), "error")
    return redirect(url_for("staff.admin_dead_letters"))


@bp.get("/admin/mail/outbox")
@requires("admin.mail")
def admin_outbox():
    """Mail kept locally instead of sent, newest first, a page at a time."""
    before = request.args.get("before", type=parse_id)
    messages, next_before = captured_page(before_id=before)
    audit("mail.listed", detail={"before": before, "shown": len(messages)})
    db.session.commit()
    return render_template(
        "staff/admin/outbox.html", messages=messages, next_before=next_before, before=before
    )


def _viewed_message(message_id: int, part: str):
    message = find_captured(message_id)
    if message is None:
        deny(target=f"captured_email:{message_id}", code=404)
    audit(
        "mail.viewed",
        lead_ids=leads_for_address(message.recipient),
        target=f"captured_email:{message_id}",
        detail={"part": part},
    )
    db.session.commit()
    return message


@bp.get("/admin/mail/outbox/<int:message_id>")
@requires("admin.mail")
def admin_outbox_message(message_id: int):
    """One captured message: its headers and text; the HTML opens on its own."""
    message = _viewed_message(message_id, "text")
    return render_template("staff/admin/outbox_message.html", message=message)


@bp.get("/admin/mail/outbox/<int:message_id>/body.html")
@requires("admin.mail")
def admin_outbox_html(message_id: int):
    """The HTML body of a captured message, sandboxed: it may not run or fetch anything."""
    message = _viewed_message(message_id, "html")
    response = make_response(message.html_body)
    response.headers["Content-Security-Policy"] = PREVIEW_CSP
    return response
