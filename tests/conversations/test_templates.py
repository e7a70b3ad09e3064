"""Message templates: the built-in words, the version in force, saving a version (and what is
refused), the values a message to a lead is filled with, and the template a decision offers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from intake.conversations import templates
from intake.conversations.templates import (
    DECISION_TEMPLATES,
    KEYS,
    TemplateError,
    TemplateText,
    choices,
    current,
    render,
    save_version,
    values_for,
)
from intake.extensions import db
from intake.i18n import LANGUAGES
from intake.messaging.texts import measure
from intake.models import MessageTemplate
from intake.models.conversation import CHANNELS
from tests.factories import NOW, make_lead, make_staff
from tests.staff.conftest import QueryCounter

BODY = "Hello {{ first_name }}, this is {{ staff_first_name }} from {{ clinic_name }}."


def save(actor, *, key="first_reply", channel="text", language="en", subject=None, body=BODY,
         now=NOW):  # fmt: skip
    return save_version(key=key, channel=channel, language=language, subject=subject, body=body,
                        actor=actor, now=now)  # fmt: skip


def test_every_template_has_built_in_words_in_every_language_that_may_be_sent(ctx):
    for key in KEYS:
        for channel in CHANNELS:
            for language in LANGUAGES:
                text = templates.defaults()[key, channel, language]
                assert text.version == 0 and text.body.strip()
                assert (text.subject is None) == (channel == "text")
                found = templates.problems(
                    channel=channel, language=language, subject=text.subject, body=text.body
                )
                assert found == {}, (key, channel, language, found)
                if channel == "text":  # one or two parts, with the sample values
                    filled = templates.fill(text.body, templates.sample_values(language))
                    assert measure(filled).count <= 2, (key, language, filled)
    spanish = templates.defaults()["first_reply", "email", "es"]
    assert spanish.body.startswith("Hola, {{ first_name }}:") and "usted" in spanish.body


def test_each_clinical_decision_offers_its_template_and_every_key_has_a_label(ctx):
    assert DECISION_TEMPLATES["candidate"] == "consult_invitation"
    assert set(DECISION_TEMPLATES.values()) <= set(KEYS)
    for channel in CHANNELS:
        keys = [key for key, _label in choices(channel)]
        assert keys == list(KEYS)
    assert dict(choices("text"))["not_candidate"] == "Not a candidate at this time"
    with pytest.raises(LookupError):
        choices("fax")


def test_the_newest_saved_version_is_in_force_found_in_one_query(app, ctx):
    admin = make_staff("admin")
    assert current("first_reply", "text", "en").version == 0
    first = save(admin)
    second = save(admin, body=BODY + " Reply any time.", now=NOW + timedelta(minutes=1))
    save(admin, language="es", body="Hola, {{ first_name }}.")
    assert (first.version, second.version) == (1, 2)
    assert second.created_by_id == admin.id and second.created_at == NOW + timedelta(minutes=1)
    with QueryCounter(app) as queries:
        found = current("first_reply", "text", "en")
    assert queries.count == 1
    assert found == TemplateText("first_reply", "text", "en", 2, None, BODY + " Reply any time.")
    assert current("first_reply", "text", "es").body == "Hola, {{ first_name }}."
    assert current("first_reply", "email", "en").version == 0  # each channel its own
    with pytest.raises(LookupError):
        current("first_reply", "text", "fr")


def test_a_saved_email_keeps_its_subject_and_one_kind_of_line_end(ctx):
    admin = make_staff("admin")
    row = save(admin, channel="email", subject="  About {{ clinic_name }} ",
               body="Hello {{ first_name }},\r\n\r\nSee you soon.   \r\n")  # fmt: skip
    assert row.subject == "About {{ clinic_name }}"
    assert row.body == "Hello {{ first_name }},\n\nSee you soon.\n"


@pytest.mark.parametrize(
    ("channel", "subject", "body", "field", "words"),
    [
        ("text", None, "About {{ ms_type }}", "body", "{{ ms_type }} is a health answer."),
        ("email", "About {{ eligibility_outcome }}", BODY, "subject", "is a health answer."),
        ("text", "A subject", BODY, "subject", "A text message has no subject."),
        ("email", "", BODY, "subject", "Write a subject: an email needs one."),
        ("email", "Hi", "   ", "body", "Write the message."),
        ("text", None, "", "body", "Write the message."),
        ("text", None, "Hola " + "á" * 300, "body", "would be sent in 5 parts"),
        ("text", None, "a" * 1001, "body", "Keep it under 1000 characters (it has 1001)."),
        ("email", "Hi", "a" * 5001, "body", "Keep it under 5000 characters"),
        ("email", "x" * 151, BODY, "subject", "Keep the subject under 150 characters."),
        ("email", "Hi", "Hello {first_name}", "body", "is not a placeholder we can read"),
    ],
)
def test_words_that_may_not_be_sent_are_refused_naming_the_input(
    ctx, channel, subject, body, field, words
):
    admin = make_staff("admin")
    with pytest.raises(TemplateError) as refused:
        save(admin, channel=channel, subject=subject, body=body)
    assert isinstance(refused.value, ValueError)
    assert refused.value.field == field
    assert any(words in message for message in refused.value.errors[field]), refused.value.errors
    assert db.session.scalar(select(func.count(MessageTemplate.id))) == 0


def test_saving_the_words_already_in_force_adds_no_version(ctx):
    admin = make_staff("admin")
    built_in = templates.defaults()["could_not_reach", "email", "es"]
    with pytest.raises(TemplateError, match="version in force already"):
        save(admin, key="could_not_reach", channel="email", language="es",
             subject=built_in.subject, body=built_in.body.replace("\n", "\r\n"))  # fmt: skip


def test_a_message_greets_the_patient_or_the_caregiver_whose_address_it_goes_to(ctx):
    staff = make_staff("coordinator", name="María José Pérez")
    patient = make_lead(first_name="Ada")
    for_her = make_lead(first_name="Ada", email=None, phone=None, filled_by="someone_else",
                        caregiver_first_name="Ben", caregiver_email="ben@example.org",
                        caregiver_phone="+12025550188")  # fmt: skip
    values = values_for(lead=patient, staff=staff, language="en", now=NOW)
    assert values == {
        "first_name": "Ada",
        "staff_first_name": "María",
        "clinic_name": "the clinic",
        "privacy_link": "http://127.0.0.1:5000/privacy?lang=en",
        "inquiry_link": "http://127.0.0.1:5000/inquiry?lang=en",
    }
    assert values_for(lead=for_her, staff=staff, language="en", now=NOW)["first_name"] == "Ben"
    by_text = values_for(lead=for_her, staff=staff, language="en", now=NOW, channel="text")
    assert by_text["first_name"] == "Ben"
    assert values_for(lead=patient, staff=None, language="en", now=NOW)["staff_first_name"] == ""


def test_render_fills_the_template_in_force_in_the_patients_language(ctx):
    staff = make_staff("coordinator", name="Grace Hopper")
    lead = make_lead(first_name="Lucía", language="es")
    values = values_for(lead=lead, staff=staff, language="es", now=NOW)
    assert values["clinic_name"] == "la clínica"
    assert values["inquiry_link"].endswith("/inquiry?lang=es")
    subject, body = render("not_candidate", "email", "es", values)
    assert subject == "Sobre su solicitud"
    assert body.startswith("Hola, Lucía:") and "Grace\nla clínica" in body
    assert "http://127.0.0.1:5000/inquiry?lang=es" in body and "{{" not in body
    subject, body = render("first_reply", "text", "es", values)
    assert subject is None and body.startswith("Hola, Lucía. Soy Grace, de la clínica.")
