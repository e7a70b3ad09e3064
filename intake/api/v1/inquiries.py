"""Inquiries from another system (a call centre, a partner's site): the public form's questions,
its validation, its dedupe and identity rules, its consents and its outbox events."""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app, g
from flask_smorest import Blueprint, abort
from sqlalchemy import update

from intake.api.v1.answers import check_answers
from intake.api.v1.auth import requires_scope
from intake.api.v1.idempotency import idempotent
from intake.api.v1.schemas import InquiryCreatedSchema, InquiryInSchema
from intake.extensions import db
from intake.inquiries.service import (
    Attribution,
    IncompleteInquiry,
    complete_inquiry,
    save_step,
)
from intake.inquiries.starting import start_inquiry
from intake.models import Consent, Inquiry
from intake.models.types import utcnow

CONSENT_SOURCE = "api"
blp = Blueprint("api_v1_inquiries", __name__, description="Inquiries sent server to server.")


@blp.route("/inquiries", methods=["POST"])
@requires_scope("inquiries:create")
@idempotent
@blp.arguments(InquiryInSchema)
@blp.response(201, InquiryCreatedSchema)
def create_inquiry(body: dict):
    """Send a completed inquiry: contact (the form's first step), answers (the middle steps)
    and consents (the last step), by question id, checked by the same rules as the form, with
    the same messages. The person joins their recent lead by the same dedupe rules as the form
    (a new inquiry never overwrites another person's lead); eligibility is evaluated and the
    same emails follow. Wrong answers give 422 naming each field as group.question."""
    config, now = current_app.config, utcnow()
    language = body["language"]
    definition = current_app.extensions["intake.definitions"][language]
    questionnaire = definition.questionnaire
    typed, errors = check_answers(questionnaire, body, today=now.date())
    if errors:
        abort(422, errors=errors)
    steps = questionnaire.steps
    attribution = Attribution.from_mapping(body)
    started = start_inquiry(
        questionnaire=questionnaire,
        answers=typed[steps[0].id],
        attribution=attribution,
        submission_key=f"api-{secrets.token_urlsafe(24)}",
        detected_time_zone=None,
        clinic_time_zone=config["INTAKE_CLINIC_TIME_ZONE"],
        dedupe_window=timedelta(days=config["INTAKE_DEDUPE_DAYS"]),
        language=language,
        now=now,
    )
    inquiry = db.session.get(Inquiry, started.id)
    for step in steps[1:]:
        save_step(
            inquiry=inquiry, questionnaire=questionnaire, step=step, answers=typed[step.id], now=now
        )
    privacy = current_app.extensions["intake.notices.translated"][language]["privacy"]
    try:
        complete_inquiry(
            inquiry=inquiry,
            definition=definition,
            consent_texts={"privacy_notice": (privacy.consent_version, privacy.text_hash)},
            now=now,
        )
    except IncompleteInquiry as missing:  # the forms already require what the submit does
        abort(422, errors={missing.step_id: ["A required question is unanswered."]})
    # The consents were given through another system, not on our form: say so on each record.
    db.session.execute(
        update(Consent).where(Consent.inquiry_id == inquiry.id).values(source=CONSENT_SOURCE)
    )
    g.api_lead_ids = [inquiry.lead_id]
    return {
        "lead_id": inquiry.lead_id,
        "inquiry_id": inquiry.public_id,
        "eligibility_outcome": inquiry.lead.eligibility_outcome,
    }
