"""Writing to the patient from the lead page, and reading what came back.

One route takes the "Write to the patient" form through its steps: ``template`` fills the
words in from the chosen template, ``preview`` shows exactly what the patient will receive, and
``send`` queues it, but only when it is the very message last previewed (its digest), so what
goes is what the sender saw. Each request writes one audit row; the words never enter it."""

from __future__ import annotations

from io import BytesIO

from flask import abort, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from intake import jobs
from intake.conversations import outgoing
from intake.conversations.attachments import attachment_filename, open_attachment
from intake.conversations.placeholders import TemplateError
from intake.conversations.templates import current, render, values_for
from intake.extensions import db
from intake.messaging.mail import render_message
from intake.models import ConversationMessage, MessageAttachment, Send
from intake.models.types import utcnow
from intake.staff import bp
from intake.staff.access import audit, load_lead, requires
from intake.staff.leads.lead_views import lead_form, render_lead_page
from intake.staff.leads.message_forms import ACTIONS


def _preview(lead, message: outgoing.Draft, now) -> str:
    """The whole email as the patient will read it (words, greeting and footer), or the text."""
    if message.channel == "text":
        return message.body
    unsaved = Send(key="preview", lead_id=lead.id, cadence=outgoing.CADENCE,
                   template=outgoing.CADENCE, channel="email", step=0)  # fmt: skip
    return render_message(send=unsaved, now=now, words=(message.subject, message.body)).text


def _fill_from_template(lead, form, now) -> None:
    key = form.template.data
    if not key:
        raise outgoing.MessageError(_("Choose a template first."), field="template")
    values = values_for(
        lead=lead, staff=current_user, language=lead.language, now=now, channel=form.channel.data
    )
    try:
        form.subject.data, form.body.data = render(key, form.channel.data, lead.language, values)
    except TemplateError as exc:  # a placeholder with nothing to fill it (no consult offered)
        raise outgoing.MessageError(exc.messages[0], field="template") from None


def mark_replies_read(lead_id: int, now) -> int:
    """The lead's unread replies, read: someone who can answer them has acted on the lead."""
    return (
        db.session.query(ConversationMessage)
        .filter(
            ConversationMessage.lead_id == lead_id,
            ConversationMessage.kind == "reply",
            ConversationMessage.read_at.is_(None),
        )
        .update({"read_at": now}, synchronize_session=False)
    )


@bp.post("/leads/<int:lead_id>/messages")
@requires("leads.message")
def lead_message(lead_id: int):
    """Fill from a template, preview, or send a message to the patient."""
    lead = load_lead(lead_id)
    form = lead_form("message", lead, posted=True)
    step = request.form.get("message-action", "preview")
    step = step if step in ACTIONS else "preview"
    action = "lead.message_sent" if step == "send" else "lead.message_previewed"
    detail = {"channel": form.channel.data, "template": form.template.data or None}
    if not form.validate_on_submit():
        return render_lead_page(lead, action=action, outcome="failed", posted=("message", form))
    now = utcnow()
    try:
        if step == "template":
            _fill_from_template(lead, form, now)
        message = outgoing.draft(
            lead=lead, channel=form.channel.data, subject=form.subject.data, body=form.body.data
        )
    except outgoing.MessageError as exc:
        db.session.rollback()
        target = getattr(form, exc.field or "body")
        target.errors = [*target.errors, str(exc)]
        return render_lead_page(
            lead, action=action, outcome="failed", posted=("message", form), detail=detail
        )
    changed = step == "send" and form.digest.data != message.digest
    if step != "send" or changed:
        form.digest.data = message.digest
        return render_lead_page(
            lead,
            action="lead.message_previewed",
            posted=("message", form),
            detail=detail,
            preview=message,
            preview_text=_preview(lead, message, now),
            preview_changed=changed,
        )
    template = None
    if form.template.data:  # what it was written from: the version in force
        version = current(form.template.data, message.channel, lead.language).version
        template = (form.template.data, version)
    row = outgoing.queue_message(
        lead=lead, message=message, actor=current_user, now=now, template=template
    )
    mark_replies_read(lead.id, now)
    audit(action, lead_ids=[lead.id], detail={**detail, "message_id": row.id})
    db.session.commit()
    jobs.relay_soon()
    flash(_("Message queued. It shows in the conversation as it goes."), "success")
    return redirect(url_for("staff.lead", lead_id=lead.id, _anchor="conversation"), code=303)


@bp.post("/leads/<int:lead_id>/replies-read")
@requires("leads.message")
def lead_replies_read(lead_id: int):
    """Mark the lead's new replies as read."""
    lead = load_lead(lead_id)
    count = mark_replies_read(lead.id, utcnow())
    audit("lead.replies_read", lead_ids=[lead.id], detail={"count": count})
    db.session.commit()
    return redirect(url_for("staff.lead", lead_id=lead.id, _anchor="conversation"), code=303)


@bp.get("/leads/<int:lead_id>/attachments/<int:attachment_id>")
@requires("leads.view")
def lead_attachment(lead_id: int, attachment_id: int):
    """A file the patient attached to a reply, opened, as a download (never shown inline)."""
    lead = load_lead(lead_id)
    row = db.session.scalar(
        db.select(MessageAttachment)
        .join(ConversationMessage, ConversationMessage.id == MessageAttachment.message_id)
        .where(MessageAttachment.id == attachment_id, ConversationMessage.lead_id == lead.id)
    )
    if row is None or row.data_sealed is None:
        abort(404)
    data, name = open_attachment(row), attachment_filename(row)
    audit("lead.attachment_downloaded", lead_ids=[lead.id], detail={"attachment_id": row.id})
    db.session.commit()
    return send_file(
        BytesIO(data), mimetype=row.content_type, as_attachment=True, download_name=name
    )
