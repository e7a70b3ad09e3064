"""Cadences with email previews (``admin.cadences``), and questionnaire and rule-set versions
with re-evaluation (``admin.questionnaire``)."""

from __future__ import annotations

from flask import current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from intake.display import label
from intake.extensions import db
from intake.inquiries.reevaluation import count_outdated, reevaluate_outdated
from intake.messaging.cadence_settings import (
    CadenceSettingError,
    effective_cadences,
    reset_cadence_setting,
    save_cadence_setting,
)
from intake.messaging.previews import (
    cadences,
    describe_delay,
    is_previewable,
    previews,
    render_preview,
)
from intake.messaging.subjects import PATIENT_TEMPLATES
from intake.models.types import utcnow
from intake.staff import bp
from intake.staff.access import audit, deny, requires
from intake.staff.admin.forms import CadenceForm
from intake.staff.admin.home_views import audit_page_view
from intake.staff.queries.questionnaire import results_by_version

# The HTML preview is email markup, not a page of ours: no scripts, no requests, no framing;
# only the styles an email may carry inline.
PREVIEW_CSP = (
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def _cadence_forms(failed: str | None = None, form: CadenceForm | None = None) -> dict:
    forms = {}
    for name, cadence in effective_cadences().items():
        if name == failed:
            forms[name] = form
            continue
        forms[name] = CadenceForm(
            prefix=name,
            formdata=None,
            data={
                "enabled": cadence.enabled,
                "steps": ", ".join(cadence.step_texts),
                "quiet_hours": cadence.quiet_hours,
            },
        )
    return forms


def _cadences_page(forms: dict, status: int = 200):
    shown = [
        (preview, render_preview(template=preview.template, step=preview.step, kind="text"))
        for preview in previews()
    ]
    page = render_template(
        "staff/admin/cadences.html",
        cadences=list(effective_cadences().values()),
        defaults={cadence.name: cadence for cadence in cadences()},
        forms=forms,
        previews=shown,
        patient_templates=PATIENT_TEMPLATES,
        describe_delay=describe_delay,
    )
    return page, status


@bp.get("/admin/cadences")
@requires("admin.cadences")
def admin_cadences():
    """Each cadence's settings, a form to change them, and every email with sample data."""
    audit_page_view()
    return _cadences_page(_cadence_forms())


@bp.post("/admin/cadences/<name>")
@requires("admin.cadences")
def admin_cadence_save(name: str):
    """Switch a cadence on or off, change its delays or its quiet hours."""
    if name not in effective_cadences():
        deny(target=f"cadence:{name}", code=404)
    form = CadenceForm(prefix=name)
    if form.validate_on_submit():
        try:
            save_cadence_setting(
                name=name,
                enabled=form.enabled.data,
                steps_text=form.steps.data,
                quiet_hours=form.quiet_hours.data,
                actor=current_user,
                now=utcnow(),
            )
        except CadenceSettingError as error:
            form.steps.errors.append(str(error))
        else:
            audit("cadence.saved", target=f"cadence:{name}", detail={"enabled": form.enabled.data})
            db.session.commit()
            cadence = label(name, "cadence").lower()
            flash(_("The %(cadence)s settings are saved.", cadence=cadence), "info")
            return redirect(url_for("staff.admin_cadences", _anchor=f"cadence-{name}"), code=303)
    db.session.rollback()
    audit("cadence.saved", target=f"cadence:{name}", outcome="failed")
    db.session.commit()
    return _cadences_page(_cadence_forms(failed=name, form=form), 422)


@bp.post("/admin/cadences/<name>/reset")
@requires("admin.cadences")
def admin_cadence_reset(name: str):
    """Back to the settings in cadences.yaml."""
    if name not in effective_cadences():
        deny(target=f"cadence:{name}", code=404)
    reset = reset_cadence_setting(name=name)
    audit("cadence.reset", target=f"cadence:{name}", detail={"changed": reset})
    db.session.commit()
    cadence = label(name, "cadence").lower()
    flash(_("The %(cadence)s settings are back to the defaults.", cadence=cadence), "info")
    return redirect(url_for("staff.admin_cadences", _anchor=f"cadence-{name}"), code=303)


@bp.get("/admin/cadences/preview/<template>/<int:step>.html")
@requires("admin.cadences")
def admin_cadence_preview(template: str, step: int):
    """The HTML version of one email, sample data, in a sandbox of its own; in English, or a
    patient email in the language asked for (``?lang=es``)."""
    if not is_previewable(template, step):
        deny(target="cadence_preview", code=404)
    language = request.args.get("lang")
    response = make_response(
        render_preview(template=template, step=step, kind="html", language=language)
    )
    response.headers["Content-Security-Policy"] = PREVIEW_CSP
    audit_page_view(template=template, step=step)
    return response


def _definition():
    return current_app.extensions["intake.definition"]


@bp.get("/admin/questionnaire")
@requires("admin.questionnaire")
def admin_questionnaire():
    """The versions in force, stored results per rule-set version, and how many are outdated."""
    definition = _definition()
    counts = results_by_version()
    outdated = count_outdated(definition=definition)
    audit_page_view()
    return render_template(
        "staff/admin/questionnaire.html",
        definition=definition,
        counts=counts,
        outdated=outdated,
    )


@bp.post("/admin/questionnaire/reevaluate")
@requires("admin.questionnaire")
def admin_reevaluate():
    """Judge inquiries judged by older rules again, with the rules in force."""
    definition = _definition()
    done = reevaluate_outdated(definition=definition, now=utcnow())
    audit(
        "eligibility.reevaluated",
        lead_ids=done.lead_ids,
        detail={
            "count": done.count,
            "remaining": done.remaining,
            "ruleset_id": definition.ruleset.id,
            "ruleset_version": definition.ruleset.version,
        },
    )
    db.session.commit()
    message = _(
        "%(count)s inquiries were judged again with rule set %(version)s.",
        count=done.count,
        version=definition.ruleset.version,
    )
    if done.remaining:
        remain = _("%(count)s remain: press the button again to continue.", count=done.remaining)
        message = f"{message} {remain}"
    flash(message, "success")
    return redirect(url_for("staff.admin_questionnaire"))
