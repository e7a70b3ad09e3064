"""Inquiries through the API: the public form's validation (same fields, same messages), its
eligibility, dedupe and outbox events; and Idempotency-Key (same answer, different body
refused, 20 parallel requests with one key make one lead on PostgreSQL)."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from intake.extensions import db
from intake.models import Consent, Inquiry, Lead, OutboxEvent
from tests.api.conftest import bearer, inquiry_body
from tests.conftest import ABOUT_MS, CONTACT, page, send_step

URL = "/api/v1/inquiries"


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def _form_errors(response) -> dict[str, str]:
    """The message under each wrong field of a form page, as the patient reads it."""
    return {
        tag["id"].removesuffix("-error"): tag.get_text(" ", strip=True)
        .removeprefix("Error:")
        .strip()
        for tag in page(response).select(".error-message")
    }


def test_an_inquiry_is_validated_evaluated_and_announced_like_the_form(app, make_key):
    response = app.test_client().post(URL, json=inquiry_body(), headers=bearer(make_key()))
    assert response.status_code == 201, response.json
    assert set(response.json) == {"lead_id", "inquiry_id", "eligibility_outcome"}
    with app.app_context():
        lead = db.session.get(Lead, response.json["lead_id"])
        assert (lead.email, lead.phone, lead.incomplete) == (
            "ada.byron@example.org",
            "+12025550143",
            False,
        )
        assert lead.eligibility_outcome == response.json["eligibility_outcome"] is not None
        inquiry = db.session.scalar(select(Inquiry).where(Inquiry.lead_id == lead.id))
        assert (inquiry.status, inquiry.utm_source, inquiry.utm_campaign) == (
            "complete",
            "partner",
            "spring",
        )
        events = db.session.scalars(select(OutboxEvent)).all()
        topics = {event.topic for event in events if event.payload.get("lead_id") == lead.id}
        assert {"inquiry.started", "inquiry.completed"} <= topics
        rows = db.session.scalars(select(Consent)).all()
        consents = {c.purpose: c.granted for c in rows}
        assert {c.source for c in rows} == {"api"}
        assert consents["privacy_notice"] is True and consents["contact_email"] is True


def test_wrong_answers_get_the_forms_own_messages_field_by_field(app, make_key):
    bad_contact = {**CONTACT, "email": "not-an-address", "phone": "12"}
    bad_about = {k: v for k, v in ABOUT_MS.items() if k != "ms_type"} | {"diagnosis_year": "1800"}
    patient = app.test_client()
    form_contact = _form_errors(send_step(patient, "/inquiry", bad_contact))
    assert send_step(patient, "/inquiry", CONTACT).status_code == 302
    form_about = _form_errors(send_step(patient, "/inquiry/about_ms", bad_about))
    assert set(form_contact) == {"email", "phone"} and set(form_about) == {
        "ms_type",
        "diagnosis_year",
    }

    body = inquiry_body(contact=bad_contact, answers=bad_about)
    body["answers"].pop("ms_type")
    body["consents"].pop("privacy_notice")
    response = app.test_client().post(URL, json=body, headers=bearer(make_key()))
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    errors = response.json["errors"]
    for group, shown in (("contact", form_contact), ("answers", form_about)):
        for field, message in shown.items():
            assert errors[f"{group}.{field}"][0] == message
    assert errors["consents.privacy_notice"] == ["Tick this box to continue."]
    assert _count(app, Lead) == 1  # the patient's own draft only: the API made none


def test_unknown_questions_are_named(app, make_key):
    body = inquiry_body(answers={"favourite_colour": "blue"})
    response = app.test_client().post(URL, json=body, headers=bearer(make_key()))
    assert response.status_code == 422
    assert "answers.favourite_colour" in response.json["errors"]


def test_a_second_inquiry_never_overwrites_another_persons_lead(app, make_key):
    token, client = make_key(), app.test_client()
    first = client.post(URL, json=inquiry_body(), headers=bearer(token)).json
    again = client.post(URL, json=inquiry_body(), headers=bearer(token)).json
    other = inquiry_body(contact={"first_name": "Grace", "last_name": "Hopper"})
    stranger = client.post(URL, json=other, headers=bearer(token)).json
    assert again["lead_id"] == first["lead_id"]  # the same person joins their lead
    assert stranger["lead_id"] != first["lead_id"]
    with app.app_context():
        assert db.session.get(Lead, first["lead_id"]).first_name == "Ada"


def test_an_inquiry_that_fails_after_its_first_step_is_written_leaves_nothing(
    app, make_key, monkeypatch
):
    # The API's inquiry is one transaction, its first step's statement included (the form's
    # first step commits that statement on its own: it is the whole of that request).
    def broken(**_):
        raise RuntimeError("the submit failed after the lead and inquiry were written")

    monkeypatch.setattr("intake.api.v1.inquiries.complete_inquiry", broken)
    response = app.test_client().post(URL, json=inquiry_body(), headers=bearer(make_key()))
    assert response.status_code == 500
    assert (_count(app, Lead), _count(app, Inquiry), _count(app, OutboxEvent)) == (0, 0, 0)


def test_the_same_idempotency_key_gives_the_same_answer_and_one_lead(app, make_key):
    token, client = make_key(), app.test_client()
    headers = bearer(token, **{"Idempotency-Key": "order-1"})
    first = client.post(URL, json=inquiry_body(), headers=headers)
    second = client.post(URL, json=inquiry_body(), headers=headers)
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json == second.json and second.headers["Idempotent-Replayed"] == "true"
    assert _count(app, Inquiry) == 1
    changed = client.post(URL, json=inquiry_body(utm_source="elsewhere"), headers=headers)
    assert changed.status_code == 422 and "Idempotency-Key" in changed.json["errors"]
    assert _count(app, Inquiry) == 1


def test_a_failed_request_frees_its_idempotency_key(app, make_key):
    token, client = make_key(), app.test_client()
    headers = bearer(token, **{"Idempotency-Key": "retry-me"})
    bad = inquiry_body(contact={"email": "nope"})
    assert client.post(URL, json=bad, headers=headers).status_code == 422
    assert client.post(URL, json=inquiry_body(), headers=headers).status_code == 201


def test_r9_twenty_parallel_posts_with_one_key_make_one_lead(app, make_key):
    token = make_key()
    headers = bearer(token, **{"Idempotency-Key": "parallel-1"})
    start, answers = threading.Barrier(20), []

    def send():
        client = app.test_client()
        start.wait()
        response = client.post(URL, json=inquiry_body(), headers=headers)
        answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=send) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(status for status, _body in answers)
    assert all(status in (201, 409) for status in statuses), statuses
    created = {body["lead_id"] for status, body in answers if status == 201}
    assert len(created) == 1 and statuses.count(201) >= 1
    assert _count(app, Lead) == 1 and _count(app, Inquiry) == 1
    for status, body in answers:
        if status == 409:
            assert body["status"] == 409


def test_an_idempotency_key_is_forgotten_after_its_hours(app, make_key, monkeypatch):
    from datetime import timedelta

    from intake.api.v1 import idempotency
    from intake.models import ApiKey, IdempotencyRecord
    from tests.factories import NOW

    monkeypatch.setattr(idempotency, "utcnow", lambda: NOW)
    token, client = make_key(), app.test_client()
    hours = app.config["INTAKE_IDEMPOTENCY_HOURS"]
    with app.app_context():
        key = db.session.scalar(select(ApiKey))
        for name, age in (("old", hours + 1), ("recent", hours - 1)):
            db.session.add(IdempotencyRecord(api_key_id=key.id, idempotency_key=name,
                                             fingerprint="0", status=201, body={"lead_id": 1},
                                             created_at=NOW - timedelta(hours=age)))  # fmt: skip
        db.session.commit()
    old = client.post(URL, json=inquiry_body(), headers=bearer(token, **{"Idempotency-Key": "old"}))
    assert old.status_code == 201 and "Idempotent-Replayed" not in old.headers
    recent = client.post(URL, json=inquiry_body(),
                         headers=bearer(token, **{"Idempotency-Key": "recent"}))  # fmt: skip
    assert recent.status_code == 422  # still remembered, for another body
    assert _count(app, Inquiry) == 1
