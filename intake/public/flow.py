"""Request-side helpers for the inquiry: which draft this browser is working on, the signed
hidden fields, attribution capture and building forms."""

from __future__ import annotations

import re
import secrets

from flask import current_app, request, session
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer

from intake import i18n
from intake.formats import long_date
from intake.inquiries.service import Attribution, all_answers, find_inquiry
from intake.models import Inquiry
from intake.models.types import utcnow
from intake.public.countries import country_name
from intake.public.forms import ContactForm, StepForm, step_form_class
from intake.questionnaire.definition import Definition, Step
from intake.text import clean_text

ATTRIBUTION_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


def definition() -> Definition:
    """The questionnaire and rules in the language of this page."""
    return current_app.extensions["intake.definitions"][i18n.current_language()]


def _signer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=salt)


def draft_reference(inquiry: Inquiry) -> str:
    """A signed reference to the draft, carried in each step's form so that an expired
    session cannot separate a patient from their answers."""
    return _signer("inquiry-draft").dumps(inquiry.public_id)


def _draft_max_age() -> int:
    """A page's draft reference lasts as long as a resume link: an open page left for a day
    (the cookie gone, the CSRF token expired) still keeps every answer (QUALITY.md A6)."""
    return current_app.config["INTAKE_RESUME_DAYS"] * 24 * 3600


def current_draft() -> Inquiry | None:
    """The inquiry this browser is filling in: from the posted form, else the session."""
    reference = request.form.get("draft", "") if request.method == "POST" else ""
    if reference:
        try:
            public_id = _signer("inquiry-draft").loads(reference, max_age=_draft_max_age())
        except BadSignature:
            public_id = None
    else:
        public_id = session.get("inquiry")
    return find_inquiry(public_id) if isinstance(public_id, str) else None


def remember_draft(public_id: str) -> None:
    session.permanent = True
    session["inquiry"] = public_id


def remember_sent(public_id: str) -> None:
    session.pop("inquiry", None)
    session["completed"] = public_id


def reference(inquiry: Inquiry | None) -> str | None:
    """A short code the patient can quote on the phone (not the database id)."""
    if inquiry is None:
        return None
    code = inquiry.public_id[:8].upper()
    return f"{code[:4]}-{code[4:]}"


def capture_attribution() -> None:
    """Keep where the visitor came from, once, from the first page they open."""
    if "attribution" in session:
        return
    given = {key: clean_text(request.args.get(key, ""))[:200] for key in ATTRIBUTION_KEYS}
    session["attribution"] = {
        **{key: value for key, value in given.items() if value},
        "referrer": clean_text(request.referrer or "")[:500],
        "landing_page": clean_text(request.full_path.rstrip("?"))[:500],
    }


def attribution() -> Attribution:
    return Attribution.from_mapping(session.get("attribution") or {})


def build_form(step: Step, inquiry: Inquiry | None) -> StepForm:
    """The step's form: posted data when there is some, else the saved answers."""
    questionnaire = definition().questionnaire
    stored = all_answers(inquiry, questionnaire) if inquiry else {}
    form_class = step_form_class(questionnaire, step.id)
    kwargs = {"context": stored, "today": utcnow().date()}
    if request.method == "POST":
        form = form_class(**kwargs)
    else:
        form = form_class(formdata=None, data=form_class.data_from_answers(stored), **kwargs)
    if inquiry is not None:
        form.draft.data = draft_reference(inquiry)
    if isinstance(form, ContactForm) and request.method == "GET":
        form.submission_key.data = secrets.token_urlsafe(24)
        form.rendered_at.data = _signer("inquiry-form-time").dumps(int(utcnow().timestamp()))
    return form


def looks_automated(form: ContactForm) -> bool:
    """The honeypot is filled in, or the form came back faster than a person types."""
    if form.leave_blank.data:
        return True
    minimum = current_app.config["INTAKE_MIN_FILL_SECONDS"]
    try:
        started = _signer("inquiry-form-time").loads(form.rendered_at.data or "")
    except BadSignature:
        return minimum > 0
    return utcnow().timestamp() - int(started) < minimum


SUBMISSION_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")


def fresh_submission_key(form: ContactForm) -> None:
    """Keep the key this page was given; replace anything not of the form we issue."""
    if not SUBMISSION_KEY.fullmatch(form.submission_key.data or ""):
        form.submission_key.data = secrets.token_urlsafe(24)


def _display(item, value) -> str:
    """An answer as the patient reads it on the review, in the page's language."""
    if item.type == "multi_choice":
        return ", ".join(item.display_for(code) for code in value)
    if item.type == "country":
        return country_name(value, i18n.current_language())
    if item.type == "boolean":
        return _("Yes") if value else _("No")
    if item.type == "date":
        return long_date(value)
    return item.display_for(str(value)) if item.options else str(value)


def review(form: StepForm) -> list[tuple[Step, list[tuple[str, str]]]]:
    """The answers so far, step by step, for the patient to check before sending."""
    questionnaire, answers = definition().questionnaire, form.context
    return [
        (
            step,
            [
                (item.text, _display(item, answers[item.link_id]))
                for item in step.items
                if item.link_id in answers
            ],
        )
        for step in questionnaire.steps[:-1]
    ]
