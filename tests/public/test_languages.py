"""The patient pages in Spanish: how the language is chosen (link, session, browser, setting),
the switch on a step that keeps every typed answer, the language kept on the inquiry and the lead
and on resume from another device, every page state in Spanish, and staff pages in English."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from intake.extensions import db
from intake.http import ERROR_TEXT, render_error
from intake.messaging.unsubscribe import unsubscribe_token
from intake.models import Inquiry, Lead
from intake.questionnaire.definition import DEFINITIONS, definition_paths
from tests.conftest import (
    ABOUT_MS,
    CONSENT,
    CONTACT,
    STEPS,
    form_data,
    hidden_fields,
    page,
    send_step,
    shown_values,
    text_of,
)

SPANISH = {"Accept-Language": "es-MX,es;q=0.9"}
ENGLISH = {"Accept-Language": "en-US,en;q=0.9"}


def language_of(response) -> str:
    return page(response).html["lang"]


def assert_spanish(response, *words: str) -> str:
    """The page says it is Spanish and reads in Spanish: the chrome, and ``words``."""
    text = text_of(response)
    assert language_of(response) == "es", text[:300]
    assert "Saltar al contenido principal" in text and "Skip to main content" not in text
    for word in words:
        assert word in text, f"{word!r} not in {text[:1500]!r}"
    return text


def assert_english(response) -> None:
    assert language_of(response) == "en"
    assert "Skip to main content" in text_of(response)


def in_spanish(client) -> None:
    """This browser chose Spanish, from a link of the clinic's Spanish articles."""
    assert_spanish(client.get("/inquiry?lang=es"), "Paso 1 de 4")


def rows(app, model):
    with app.app_context():
        return db.session.scalars(db.select(model).order_by(model.id)).all()


# (a) Choosing the language ----------------------------------------------------------------


def test_a_lang_link_speaks_spanish_and_the_choice_is_kept_on_the_next_pages(client):
    assert_spanish(client.get("/inquiry?lang=es"), "Paso 1 de 4", "Guardar y continuar")
    assert_spanish(client.get("/inquiry"), "Guardar y terminar más tarde")


def test_the_es_address_leads_to_the_inquiry_in_spanish_keeping_the_campaign(app, client):
    response = client.get("/es/inquiry?utm_source=newsletter&utm_campaign=spring")

    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/inquiry"
    assert parse_qs(location.query) == {"utm_source": ["newsletter"], "utm_campaign": ["spring"]}
    assert_spanish(client.get(response.headers["Location"]), "Paso 1 de 4")
    send_step(client, "/inquiry", CONTACT)
    [inquiry] = rows(app, Inquiry)
    assert (inquiry.utm_source, inquiry.utm_campaign) == ("newsletter", "spring")


def test_a_browser_asking_for_spanish_gets_spanish(client):
    assert_spanish(client.get("/inquiry", headers=SPANISH), "Paso 1 de 4")


def test_a_browser_asking_for_a_language_we_do_not_speak_gets_the_default(client):
    response = client.get("/inquiry", headers={"Accept-Language": "fr-FR,de;q=0.8"})

    assert_english(response)
    assert "Step 1 of 4" in text_of(response)


def test_the_choice_made_in_this_browser_beats_its_accept_language(client):
    client.get("/inquiry?lang=es")
    assert_spanish(client.get("/inquiry", headers=ENGLISH), "Paso 1 de 4")

    client.get("/inquiry?lang=en")
    assert_english(client.get("/inquiry", headers=SPANISH))


def test_the_clinic_can_make_spanish_its_default_language(app_factory):
    client = app_factory(INTAKE_DEFAULT_LANGUAGE="es").test_client()

    assert_spanish(client.get("/inquiry"), "Paso 1 de 4")
    assert_spanish(client.get("/inquiry", headers={"Accept-Language": "fr"}), "Paso 1 de 4")
    assert_english(client.get("/inquiry", headers=ENGLISH))


# (b) The switch on a step -----------------------------------------------------------------


def switch(client, url: str, answers: dict, to: str = "es"):
    shown = client.get(url)
    return client.post(url, data=form_data(hidden_fields(shown), answers, action=f"lang:{to}"))


def assert_kept(response, answers: dict) -> None:
    shown = shown_values(page(response))
    for name, value in form_data({}, answers).items(multi=True):
        if name != "action":
            assert value in shown.getlist(name), f"{name}: shown {shown.getlist(name)!r}"


def test_switching_on_step_one_keeps_every_typed_answer_unsaved_and_shows_no_errors(app, client):
    typed = {**CONTACT, "first_name": "", "email": "not-an-email"}  # not yet valid: no matter

    response = switch(client, "/inquiry", typed)

    assert response.status_code == 200
    assert_spanish(response, "Paso 1 de 4", "Guardar y continuar")
    assert_kept(response, typed)
    html = page(response)
    assert html.select(".error-summary, .error-message, [aria-invalid]") == []
    assert not html.title.get_text().startswith("Error")
    assert rows(app, Lead) == [] and rows(app, Inquiry) == []  # nothing saved by a switch


def test_switching_on_a_later_step_keeps_the_answers_and_back_to_english_too(app, client):
    send_step(client, "/inquiry", CONTACT)
    typed = {**ABOUT_MS, "dmt_name": "Ocrevus (600 mg)"}

    spanish = switch(client, "/inquiry/about_ms", typed)
    assert_spanish(spanish, "Paso 2 de 4", "Volver al paso anterior")
    assert_kept(spanish, typed)
    english = client.post(
        "/inquiry/about_ms", data=form_data(hidden_fields(spanish), typed, "lang:en")
    )
    assert_english(english)
    assert_kept(english, typed)
    assert page(english).select(".error-summary, .error-message") == []
    [inquiry] = rows(app, Inquiry)
    assert inquiry.steps_saved == 1  # the switch saved nothing of this step


# (c) The language on the inquiry and the lead, and on resume --------------------------------


def test_a_spanish_draft_keeps_spanish_on_the_lead_and_on_resume_from_another_device(app, client):
    in_spanish(client)
    send_step(client, "/inquiry", CONTACT)
    saved = send_step(client, "/inquiry/about_ms", ABOUT_MS, action="save_later")
    assert_spanish(saved, "Sus respuestas están guardadas", "Funciona durante 14 días")

    [inquiry], [lead] = rows(app, Inquiry), rows(app, Lead)
    assert (inquiry.language, lead.language) == ("es", "es")
    link = urlsplit(page(saved).select_one("#resume-link a")["href"]).path
    device = app.test_client()  # another device: no session, a browser set to English
    landing = device.get(link, headers=ENGLISH)
    assert landing.headers["Location"].endswith("/inquiry/health")
    welcome = assert_spanish(device.get("/inquiry/health", headers=ENGLISH), "Paso 3 de 4")
    assert "Hola de nuevo, Ada. Había terminado el paso 2 de 4:" in welcome


def test_an_english_draft_keeps_english_on_the_lead(app, client):
    send_step(client, "/inquiry", CONTACT)

    [inquiry], [lead] = rows(app, Inquiry), rows(app, Lead)
    assert (inquiry.language, lead.language) == ("en", "en")


# (d) Every patient page state in Spanish --------------------------------------------------


def test_each_step_reads_in_spanish(client):
    in_spanish(client)
    for number, (url, answers) in enumerate(STEPS, start=1):
        response = client.get(url)
        button = "Enviar mi solicitud" if number == len(STEPS) else "Guardar y continuar"
        text = assert_spanish(response, f"Paso {number} de 4", button, "Aviso de privacidad")
        assert page(response).title.get_text().startswith(f"{page(response).h1.get_text()} (paso")
        assert ("Volver al paso anterior" in text) == (number > 1)
        assert page(response).select_one("ol.steps")["aria-label"] == "Pasos de la solicitud"
        assert send_step(client, url, answers).status_code in (302, 303)


def test_the_error_summary_reads_in_spanish_in_the_singular_and_the_plural(client):
    in_spanish(client)
    one = send_step(client, "/inquiry", {**CONTACT, "first_name": ""})
    two = send_step(client, "/inquiry", {**CONTACT, "first_name": "", "last_name": ""})

    assert one.status_code == two.status_code == 422
    assert page(one).select_one("#error-summary-title").get_text() == "Revise esta respuesta"
    assert page(two).select_one("#error-summary-title").get_text() == "Revise estas respuestas"
    assert page(one).title.get_text().startswith("Error: ")
    assert page(one).select_one("#first_name-error .visually-hidden").get_text() == "Error:"


def test_the_review_and_the_consent_step_read_in_spanish(client):
    in_spanish(client)
    for url, answers in STEPS[:-1]:
        send_step(client, url, answers)

    review = client.get("/inquiry/consent")
    assert_spanish(
        review,
        "Sus respuestas",
        "Cómo podemos contactarle",
        "Lea nuestro aviso de privacidad antes de marcar la casilla.",
        "Leer el aviso de privacidad",
    )
    assert "1980" in page(review).select_one(".review").get_text()
    unticked = send_step(client, "/inquiry/consent", {**CONSENT, "not_medical_advice": ""})
    assert unticked.status_code == 422
    assert_spanish(unticked, "Revise esta respuesta", "(hace falta para enviar el formulario)")


def test_the_confirmation_reads_in_spanish_with_the_spanish_response_time(client):
    in_spanish(client)
    for url, answers in STEPS:
        send_step(client, url, answers)

    text = assert_spanish(
        client.get("/inquiry/sent"),
        "Gracias, su solicitud se ha enviado",
        "Qué pasa ahora",
        "Nos pondremos en contacto con usted por correo electrónico, por la mañana si es posible.",
        "Le enviaremos una breve confirmación a su correo electrónico.",
        "en un día laborable",  # INTAKE_RESPONSE_TIME_ES, in the rule set's message
    )
    assert "Su referencia:" in text and "within one working day" not in text
    _questionnaire, rules = definition_paths("ms_inquiry", DEFINITIONS, "es")
    if rules.exists():  # the rule set's translation: the eligibility message itself in Spanish
        assert "will contact you" not in text


def test_the_contact_phrase_follows_the_method_and_time_chosen(client):
    in_spanish(client)
    changes = {"preferred_contact_method": "phone", "preferred_contact_time": "any"}
    for url, answers in STEPS:
        send_step(client, url, {**answers, **(changes if url == "/inquiry" else {})})

    text = assert_spanish(client.get("/inquiry/sent"))
    assert "Nos pondremos en contacto con usted por teléfono." in text


def test_the_saved_page_counts_its_days_in_spanish(app_factory):
    client = app_factory(INTAKE_RESUME_DAYS=1).test_client()
    in_spanish(client)
    send_step(client, "/inquiry", CONTACT)
    saved = send_step(client, "/inquiry/about_ms", ABOUT_MS, action="save_later")

    assert_spanish(saved, "Funciona durante 1 día, o hasta que envíe su solicitud.")
    button = page(saved).select_one("button[data-copy]")
    assert button.get_text() == "Copiar el enlace"
    assert button["data-copied"].startswith("Enlace copiado.")


def test_the_forgotten_page_reads_in_spanish_and_the_browser_keeps_nothing(client):
    in_spanish(client)
    send_step(client, "/inquiry", CONTACT)
    forgotten = client.post("/inquiry/forget")

    assert_spanish(forgotten, "Este navegador ya no guarda sus respuestas")
    assert client.get_cookie("intake_session") is None


def test_an_expired_resume_link_reads_in_spanish(client):
    in_spanish(client)
    expired = client.get("/inquiry/resume/not-a-token")

    assert expired.status_code == 410
    assert_spanish(expired, "Este enlace ya no funciona", "Empezar la solicitud")


@pytest.mark.parametrize(
    ("url", "title"), [("/privacy", "Aviso de privacidad"), ("/terms", "Condiciones de uso")]
)
def test_the_notices_read_in_spanish_with_the_spanish_settings(app_factory, url, title):
    client = app_factory(INTAKE_PRIVACY_CONTACT_ES="privacidad@clinica.example").test_client()
    response = client.get(f"{url}?lang=es")

    text = assert_spanish(response, "Versión 2026.12.1", "privacidad@clinica.example")
    assert page(response).h1.get_text() == title
    assert "the contact address" not in text and "Privacy notice" not in text


def test_the_spanish_privacy_notice_names_the_clinic_in_spanish_by_default(client):
    text = assert_spanish(client.get("/privacy?lang=es"), "Este formulario lo gestiona la clínica.")
    assert "la dirección de contacto de nuestro sitio web" in text
    assert page(client.get("/privacy?lang=es")).title.get_text().endswith("– La clínica")


def test_the_unsubscribe_pages_speak_the_leads_language(app, client):
    in_spanish(client)
    for url, answers in STEPS:
        send_step(client, url, answers)
    with app.app_context():
        token = unsubscribe_token(db.session.scalar(db.select(Lead.id)))
    reader = app.test_client()  # the link opened from the email, in a browser set to English

    asked = reader.get(f"/unsubscribe/{token}", headers=ENGLISH)
    assert_spanish(
        asked,
        "Dejar de recibir correos sobre su solicitud",
        "Ya no le vamos a enviar más correos sobre su solicitud",
    )
    done = reader.post(f"/unsubscribe/{token}", data=hidden_fields(asked), headers=ENGLISH)
    assert_spanish(done, "Ya no recibirá más correos sobre su solicitud")
    assert_english(app.test_client().get(f"/unsubscribe/{token}?lang=en"))


def test_error_pages_follow_the_patients_language(app, client):
    missing = client.get("/no-such-page", headers=SPANISH)

    assert missing.status_code == 404
    assert_spanish(missing, "No encontramos esta página", "Ir al formulario de solicitud")
    switch_link = page(missing).select_one(".language-switch a")
    assert switch_link["href"] == "/inquiry?lang=en"
    with app.test_request_context("/", headers=SPANISH):
        body, status = render_error(410)
    assert status == 410 and "Este enlace ya no es válido" in body
    with app.test_request_context("/", headers=SPANISH):
        spanish = {code: render_error(code)[0] for code in ERROR_TEXT}
    for code, (title, _advice) in ERROR_TEXT.items():
        assert f"<h1>{title}</h1>" not in spanish[code], code  # every one translated


# (e) Staff pages stay English ---------------------------------------------------------------


def test_staff_pages_and_their_errors_stay_english_whatever_the_browser_asks(staff_client):
    client = staff_client("coordinator")

    queue = client.get("/staff/?lang=es", headers=SPANISH)
    assert queue.status_code == 200 and language_of(queue) == "en"
    missing = client.get("/staff/no-such-page", headers=SPANISH)
    assert missing.status_code == 404 and language_of(missing) == "en"
    assert page(missing).h1.get_text() == "Page not found"
    assert page(missing).select(".language-switch") == []
    assert_english(client.get("/staff/no-such-page?lang=es", headers=SPANISH))
