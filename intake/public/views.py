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
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from intake import i18n, jobs
from intake.config import for_language
from intake.extensions import csrf, db, limiter
from intake.inquiries.consents import has_consent
from intake.inquiries.resume import redeem_resume_token
from intake.inquiries.service import (
    IncompleteInquiry,
    Started,
    all_answers,
    complete_inquiry,
    find_inquiry,
    find_inquiry_by_submission,
    first_incomplete_step,
    keep_language,
    latest_eligibility,
    save_contact,
    save_step,
)
from intake.inquiries.starting import start_inquiry
from intake.log import add_ids
from intake.models.types import utcnow
from intake.public import bp, flow, later
from intake.public.forms import ContactForm, StepForm
from intake.public.notices import detour_wanted, notice, render_detour

bp.before_request(i18n.remember_asked)
csrf.exempt(bp)  # each step form checks its own token, so an expired one can keep the answers


def _post_limit() -> str:
    return current_app.config["INTAKE_INQUIRY_RATE_LIMIT"]


def _csrf_failed(form: StepForm) -> bool:
    csrf = getattr(form, "csrf_token", None)  # absent when CSRF checks are off (tests)
    return csrf is not None and bool(csrf.errors)


def _render_step(form: StepForm, status: int = 200, message: str | None = None, welcome=None):
    questionnaire = flow.definition().questionnaire
    if _csrf_failed(form):
        message = _(
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
        notice=message,
        privacy=notice("privacy"),
        welcome=welcome,
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


@bp.get("/<any(es, en):language>/")
@bp.get("/<any(es, en):language>/inquiry")
def in_language(language: str):
    """A link from the clinic's articles in one language: the inquiry, in that language."""
    i18n.remember(language)
    return redirect(url_for(".contact", **request.args))


@bp.get("/inquiry")
def contact():
    """Step 1: who is filling in and how to reach them."""
    flow.capture_attribution()
    inquiry = flow.current_draft()
    form = flow.build_form(flow.definition().questionnaire.steps[0], inquiry)
    return _render_step(form, welcome=later.welcome_back(inquiry))


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
    wanted = detour_wanted()
    if wanted:
        return render_detour(wanted, back_url=url_for(".contact"), step_title=form.step.title)
    if _redisplay_wanted():
        return _render_step(form)
    if not form.validate():
        return _render_step(form, 422)
    if flow.looks_automated(form):
        return _render_step(
            form, 422, message=_("Please check your answers, then press the button again.")
        )
    inquiry = _save_contact(form, inquiry)
    return _after_save(inquiry, questionnaire.steps[0].id)


def _save_contact(form: ContactForm, inquiry) -> Started:
    config, now, language = current_app.config, utcnow(), i18n.current_language()
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
            keep_language(inquiry, language)
            saved = Started.of(inquiry)
        else:
            saved = start_inquiry(
                **common,
                attribution=flow.attribution(),
                submission_key=form.submission_key.data,
                dedupe_window=timedelta(days=config["INTAKE_DEDUPE_DAYS"]),
                language=language,
                alone=True,
            )
        if db.session().in_transaction():  # none where start_inquiry's one statement was all
            db.session.commit()
        jobs.relay_soon()
    except IntegrityError:  # the same submission arrived twice; the first one made the inquiry
        db.session.rollback()
        existing = find_inquiry_by_submission(form.submission_key.data)
        if existing is None:
            raise
        saved = Started.of(existing)
    return saved


def _after_save(saved: Started, step_id: str):
    flow.remember_draft(saved.public_id)
    add_ids(lead_id=saved.lead_id, inquiry_id=saved.id)
    if request.form.get("action") == "save_later":
        return later.render_saved(find_inquiry(saved.public_id))
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
        return _render_step(
            form,
            message=_("Some questions here still need an answer.")
            if request.args.get("incomplete")
            else None,
            welcome=later.welcome_back(inquiry),
        )
    return _step_post(form, inquiry)


def _step_post(form: StepForm, inquiry):
    """Save a step: the next one, the saved page, a notice, or the submit (the last step)."""
    action, detour = request.form.get("action"), detour_wanted()
    if _redisplay_wanted():
        return _render_step(form)
    keeping = action == "save_later" or detour is not None  # keep what is valid, and go on
    sending = _is_last(form.step.id) and not keeping
    if not form.validate() and (not keeping or _csrf_failed(form)):
        return _render_step(form, 422)
    if sending and not _privacy_still_current():
        return _render_step(form, 422, message=_privacy_changed())
    save_step(
        inquiry=inquiry,
        questionnaire=flow.definition().questionnaire,
        step=form.step,
        answers=form.answers(only_valid=keeping),
        now=utcnow(),
    )
    keep_language(inquiry, i18n.current_language())
    if sending:
        return _submit(inquiry)
    saved = Started.of(inquiry)
    db.session.commit()
    if detour:
        return render_detour(detour, back_url=request.path, step_title=form.step.title)
    return _after_save(saved, form.step.id)


def _privacy_changed() -> str:
    return _(
        "We updated our privacy notice while you were filling in the form. Please read it again "
        "before you send your inquiry. Your answers are still here."
    )


def _redisplay_wanted() -> bool:
    """Back from a notice opened mid-step, or a switch of language: the step as it was left,
    every typed answer in place, nothing checked or saved yet."""
    action = request.form.get("action", "")
    return action == "back" or action.startswith(i18n.SWITCH_ACTION)


def _is_last(step_id: str) -> bool:
    return step_id == flow.definition().questionnaire.steps[-1].id


def _privacy_still_current() -> bool:
    """The privacy notice this page linked to is the one in force (when the page says which)."""
    shown = request.form.get("privacy_version")
    return shown is None or shown == notice("privacy").consent_version


def _submit(inquiry):
    try:
        privacy = notice("privacy")
        complete_inquiry(
            inquiry=inquiry,
            definition=flow.definition(),
            consent_texts={"privacy_notice": (privacy.consent_version, privacy.text_hash)},
            now=utcnow(),
        )
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


@bp.get("/inquiry/sent")
def sent():
    """The confirmation: what happens next, never a promise of treatment."""
    inquiry = find_inquiry(session.get("completed", ""))
    result = latest_eligibility(inquiry) if inquiry is not None else None
    key = result.patient_message if result else "next_step"
    config, language = current_app.config, i18n.current_language()
    message = (
        flow.definition()
        .ruleset.messages[key]
        .format(
            clinic=for_language(config, "INTAKE_CLINIC_NAME", language),
            response_time=for_language(config, "INTAKE_RESPONSE_TIME", language),
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
    i18n.remember(inquiry.language)  # another device: the language the inquiry was begun in
    later.greet_on_return()
    questionnaire = flow.definition().questionnaire
    upcoming = first_incomplete_step(
        questionnaire, all_answers(inquiry, questionnaire), today=utcnow().date()
    )
    if upcoming == questionnaire_first_step():
        return redirect(url_for(".contact"))
    return redirect(url_for(".step", step_id=upcoming or questionnaire.steps[-1].id))
