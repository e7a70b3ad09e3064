"""The inquiry: four steps, each saved when sent, then an honest confirmation."""

from __future__ import annotations

from datetime import timedelta

from flask import (
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from sqlalchemy.exc import IntegrityError

from intake import jobs
from intake.extensions import csrf, db, limiter
from intake.log import add_ids
from intake.models.types import utcnow
from intake.public import bp, flow
from intake.public.forms import ContactForm, StepForm
from intake.services.consents import has_consent
from intake.services.inquiries import (
    IncompleteInquiry,
    all_answers,
    complete_inquiry,
    find_inquiry,
    find_inquiry_by_submission,
    first_incomplete_step,
    latest_eligibility,
    save_contact,
    save_step,
    start_inquiry,
)
from intake.services.resume import issue_resume_token, redeem_resume_token

csrf.exempt(bp)  # each step form checks its own token, so an expired one can keep the answers


def _post_limit() -> str:
    return current_app.config["INTAKE_INQUIRY_RATE_LIMIT"]


def _render_step(form: StepForm, status: int = 200, notice: str | None = None):
    questionnaire = flow.definition().questionnaire
    csrf = getattr(form, "csrf_token", None)  # absent when CSRF checks are off (tests)
    if csrf is not None and csrf.errors:
        notice = (
            "This page was open for a while, so for your security please check your "
            "answers and press the button again. Everything you typed is still here."
        )
    review = flow.review(form) if form.step.id == questionnaire.steps[-1].id else None
    return render_template(
        "public/step.html",
        form=form,
        step=form.step,
        review=review,
        questionnaire=questionnaire,
        notice=notice,
    ), status


FAVICON_MAX_AGE = 7 * 24 * 3600  # it rarely changes; a week spares a request on every page


@bp.get("/favicon.ico")
def favicon():
    """The site's icon, at the address browsers ask for whatever the page says."""
    return send_from_directory(
        current_app.static_folder or "",
        "favicon.ico",
        mimetype="image/vnd.microsoft.icon",
        max_age=FAVICON_MAX_AGE,
    )


@bp.get("/")
def home():
    """The site root leads to the inquiry."""
    return redirect(url_for(".contact"))


@bp.get("/inquiry")
def contact():
    """Step 1: who is filling in and how to reach them."""
    flow.capture_attribution()
    inquiry = flow.current_draft()
    return _render_step(flow.build_form(flow.definition().questionnaire.steps[0], inquiry))


@bp.post("/inquiry")
@limiter.limit(_post_limit)
def contact_post():
    """Save step 1; the lead exists from here, marked incomplete."""
    questionnaire = flow.definition().questionnaire
    inquiry = flow.current_draft()
    if inquiry is not None and inquiry.status == "complete":
        return _sent(inquiry)
    form: ContactForm = flow.build_form(questionnaire.steps[0], inquiry)  # type: ignore[assignment]
    flow.fresh_submission_key(form)
    if not form.validate():
        return _render_step(form, 422)
    if flow.looks_automated(form):
        return _render_step(
            form, 422, notice="Please check your answers, then press the button again."
        )
    inquiry = _save_contact(form, inquiry)
    return _after_save(inquiry, questionnaire.steps[0].id)


def _save_contact(form: ContactForm, inquiry):
    config, now = current_app.config, utcnow()
    common = {
        "questionnaire": flow.definition().questionnaire,
        "answers": form.answers(),
        "detected_time_zone": form.detected_time_zone.data,
        "clinic_time_zone": config["INTAKE_CLINIC_TIME_ZONE"],
        "now": now,
    }
    try:
        if inquiry is not None:
            save_contact(inquiry=inquiry, **common)
        else:
            inquiry = start_inquiry(
                **common,
                attribution=flow.attribution(),
                submission_key=form.submission_key.data,
                dedupe_window=timedelta(days=config["INTAKE_DEDUPE_DAYS"]),
            )
        db.session.commit()
        jobs.relay_soon()
    except IntegrityError:  # the same submission arrived twice at once; the other one won
        db.session.rollback()
        inquiry = find_inquiry_by_submission(form.submission_key.data)
        if inquiry is None:
            raise
    return inquiry


def _after_save(inquiry, step_id: str):
    flow.remember_draft(inquiry.public_id)
    add_ids(lead_id=inquiry.lead_id, inquiry_id=inquiry.id)
    if request.form.get("action") == "save_later":
        return _saved_for_later(inquiry)
    steps = flow.definition().questionnaire.steps
    following = [step.id for step in steps][[step.id for step in steps].index(step_id) + 1]
    return redirect(url_for(".step", step_id=following))


@bp.route("/inquiry/<step_id>", methods=["GET", "POST"])
@limiter.limit(_post_limit, methods=["POST"])
def step(step_id: str):
    """Steps 2 to 4: about your MS, health screening, consent and review."""
    questionnaire = flow.definition().questionnaire
    if step_id not in [step.id for step in questionnaire.steps[1:]]:
        abort(404)
    inquiry = flow.current_draft()
    if inquiry is None:
        return redirect(url_for(".contact"))
    if inquiry.status == "complete":
        return _sent(inquiry)
    form = flow.build_form(questionnaire.step(step_id), inquiry)
    if request.method == "GET":
        notice = (
            "Some questions here still need an answer." if request.args.get("incomplete") else None
        )
        return _render_step(form, notice=notice)
    saving_later = request.form.get("action") == "save_later"
    if not form.validate() and (not saving_later or form.csrf_token.errors):
        return _render_step(form, 422)
    save_step(
        inquiry=inquiry,
        questionnaire=questionnaire,
        step=form.step,
        answers=form.answers(only_valid=saving_later),
        now=utcnow(),
    )
    if step_id == questionnaire.steps[-1].id and not saving_later:
        return _submit(inquiry)
    db.session.commit()
    return _after_save(inquiry, step_id)


def _submit(inquiry):
    try:
        complete_inquiry(inquiry=inquiry, definition=flow.definition(), now=utcnow())
    except IncompleteInquiry as missing:
        db.session.commit()  # keep the consent answers just given
        if missing.step_id == questionnaire_first_step():
            return redirect(url_for(".contact"))
        return redirect(url_for(".step", step_id=missing.step_id, incomplete=1))
    response = _sent(inquiry)
    db.session.commit()
    jobs.relay_soon()
    return response


def questionnaire_first_step() -> str:
    return flow.definition().questionnaire.steps[0].id


def _sent(inquiry):
    flow.remember_sent(inquiry.public_id)
    add_ids(lead_id=inquiry.lead_id, inquiry_id=inquiry.id)
    return redirect(url_for(".sent"), 303)


def _saved_for_later(inquiry):
    token = issue_resume_token(
        inquiry=inquiry,
        now=utcnow(),
        valid_for=timedelta(days=current_app.config["INTAKE_RESUME_DAYS"]),
    )
    db.session.commit()
    link = url_for(".resume", token=token, _external=True)
    return render_template(
        "public/saved.html", link=link, days=current_app.config["INTAKE_RESUME_DAYS"]
    )


@bp.get("/inquiry/sent")
def sent():
    """The confirmation: what happens next, never a promise of treatment."""
    inquiry = find_inquiry(session.get("completed", ""))
    result = latest_eligibility(inquiry) if inquiry is not None else None
    key = result.patient_message if result else "next_step"
    message = (
        flow.definition()
        .ruleset.messages[key]
        .format(
            clinic=current_app.config["INTAKE_CLINIC_NAME"],
            response_time=current_app.config["INTAKE_RESPONSE_TIME"],
        )
    )
    lead = inquiry.lead if inquiry else None
    emailed = bool(lead and lead.email and has_consent(lead_id=lead.id, purpose="contact_email"))
    return render_template(
        "public/sent.html",
        message=message,
        lead=lead,
        emailed=emailed,
        closing=key.startswith("cannot_help"),
        reference=flow.reference(inquiry),
    )


@bp.get("/inquiry/resume/<token>")
def resume(token: str):
    """Open a saved inquiry from the emailed link, on any device."""
    inquiry = redeem_resume_token(token=token, now=utcnow())
    if inquiry is None:
        return render_template("public/resume_expired.html"), 410
    if inquiry.status == "complete":
        return _sent(inquiry)
    flow.remember_draft(inquiry.public_id)
    questionnaire = flow.definition().questionnaire
    upcoming = first_incomplete_step(
        questionnaire, all_answers(inquiry, questionnaire), today=utcnow().date()
    )
    if upcoming == questionnaire_first_step():
        return redirect(url_for(".contact"))
    return redirect(url_for(".step", step_id=upcoming or questionnaire.steps[-1].id))
