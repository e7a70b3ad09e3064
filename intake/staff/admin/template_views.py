"""Message templates (``admin.templates``): every template with its version in force, and one
template's page with its history, a form for a new version and a preview with made-up values.

The page works without script: the Preview button sends the form back and the page comes again
with what was typed, the preview and any error by its field. ``template_preview.js`` asks the
preview route for the same preview as the admin types. Every view, preview and save is audited.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from intake.conversations.templates import (
    CHANNEL_LABELS,
    LABELS,
    TemplateError,
    current,
    preview,
    require_known,
    save_version,
    version_of,
)
from intake.extensions import db
from intake.i18n import LANGUAGES
from intake.ids import parse_id
from intake.models.types import utcnow
from intake.staff import bp
from intake.staff.access import audit, deny, requires
from intake.staff.admin.forms import MessageTemplateForm
from intake.staff.queries.message_templates import history, overview

_PLACE = "/admin/templates/<key>/<any(email, text):channel>/<any(en, es):language>"


def _target(key: str, channel: str, language: str) -> str:
    return f"message_template:{key}/{channel}/{language}"


def _known(key: str, channel: str, language: str) -> None:
    try:
        require_known(key, channel, language)
    except LookupError:
        deny(target=_target(key, channel, language), code=404)


def _names() -> dict:
    return {"key_labels": LABELS, "channel_labels": CHANNEL_LABELS, "languages": LANGUAGES}


def _form(language: str, **data) -> MessageTemplateForm:
    """The form, its inputs marked with the template's language (screen readers, spelling)."""
    form = MessageTemplateForm(**data)
    form.subject.render_kw = {"lang": language}
    form.body.render_kw = {**(form.body.render_kw or {}), "lang": language}
    return form


def _preview_of(form: MessageTemplateForm, channel: str, language: str):
    subject = form.subject.data if channel == "email" else None
    return preview(channel=channel, language=language, subject=subject, body=form.body.data)


def _edit_page(key, channel, language, form, shown=None, status: int = 200):
    page = render_template(
        "staff/admin/template_edit.html",
        key=key,
        channel=channel,
        language=language,
        form=form,
        in_force=current(key, channel, language),
        versions=history(key, channel, language),
        preview=shown,
        **_names(),
    )
    return page, status


@bp.get("/admin/templates")
@requires("admin.templates")
def admin_templates():
    """Every template (key × channel × language), its version in force, who saved it when."""
    rows = overview()
    audit("admin.viewed", target="message_templates")
    db.session.commit()
    return render_template("staff/admin/templates.html", rows=rows, **_names())


@bp.get(_PLACE)
@requires("admin.templates")
def admin_template(key: str, channel: str, language: str):
    """One template: its words in force (or a chosen version's, ``?from=``), its history, a
    form for a new version and what the patient would receive."""
    _known(key, channel, language)
    chosen = request.args.get("from")  # a version to start from: 0 (built in) or an id-sized one
    version = 0 if chosen == "0" else parse_id(chosen) if chosen else None
    start = version_of(key, channel, language, version) if version is not None else None
    start = start or current(key, channel, language)
    form = _form(language, formdata=None, data={"subject": start.subject, "body": start.body})
    audit("admin.viewed", target=_target(key, channel, language), detail={"from": start.version})
    db.session.commit()
    return _edit_page(key, channel, language, form, _preview_of(form, channel, language))


@bp.post(_PLACE)
@requires("admin.templates")
def admin_template_save(key: str, channel: str, language: str):
    """Save a new version, or (the Preview button) show the page again with the preview."""
    _known(key, channel, language)
    form = _form(language)
    target = _target(key, channel, language)
    if request.form.get("action") == "preview":
        shown = _preview_of(form, channel, language)
        _show_errors(form, shown.errors)
        audit("template.previewed", target=target)
        db.session.commit()
        return _edit_page(key, channel, language, form, shown)
    try:
        row = _save(form, key, channel, language)
    except TemplateError as error:
        db.session.rollback()
        _show_errors(form, error.errors)
        audit("template.saved", target=target, outcome="failed")
        db.session.commit()
        return _edit_page(key, channel, language, form, _preview_of(form, channel, language), 422)
    audit("template.saved", target=target, detail={"version": row.version})
    db.session.commit()
    flash(_("Version %(version)s is saved and in use from now on.", version=row.version), "info")
    return redirect(
        url_for("staff.admin_template", key=key, channel=channel, language=language), code=303
    )


def _save(form: MessageTemplateForm, key: str, channel: str, language: str):
    return save_version(
        key=key,
        channel=channel,
        language=language,
        subject=form.subject.data if channel == "email" else None,
        body=form.body.data,
        actor=current_user,
        now=utcnow(),
    )


def _show_errors(form: MessageTemplateForm, errors: dict) -> None:
    for field, messages in errors.items():
        form[field].errors = [*form[field].errors, *messages]


@bp.post(f"{_PLACE}/preview")
@requires("admin.templates")
def admin_template_preview(key: str, channel: str, language: str):
    """The preview alone, for the page's script as the admin types (nothing is saved)."""
    _known(key, channel, language)
    form = _form(language)  # the CSRF token is checked for every POST (CSRFProtect)
    shown = _preview_of(form, channel, language)
    audit("template.previewed", target=_target(key, channel, language), detail={"live": True})
    db.session.commit()
    return render_template(
        "staff/admin/_template_preview.html", preview=shown, channel=channel, language=language
    )


@bp.get(f"{_PLACE}/versions/<int:version>")
@requires("admin.templates")
def admin_template_version(key: str, channel: str, language: str, version: int):
    """One version as it was saved, and what it sent (with the sample values)."""
    _known(key, channel, language)
    text = version_of(key, channel, language, version)
    if text is None:
        deny(target=_target(key, channel, language), code=404)
    shown = preview(channel=channel, language=language, subject=text.subject, body=text.body)
    saved = next((row for row in history(key, channel, language) if row.version == version), None)
    audit("admin.viewed", target=_target(key, channel, language), detail={"version": version})
    db.session.commit()
    return render_template(
        "staff/admin/template_version.html",
        text=text,
        saved=saved,
        in_force=current(key, channel, language).version,
        preview=shown,
        **_names(),
    )
