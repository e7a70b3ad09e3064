"""The inquiry in Spanish, in Chromium (issue 12): the whole inquiry with the keyboard alone on
a 320 px screen, axe on every Spanish page state, a switch of language in the middle of a step
that keeps every answer, and a resume link that reopens the inquiry in Spanish on another device.

Questions are found by their ids (the same in every language) and buttons and headings by their
Spanish words, so a page left in English fails."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from intake.extensions import db
from intake.messaging.unsubscribe import unsubscribe_token
from intake.models import Inquiry, Lead
from tests.browser.conftest import DESKTOP, Keyboard

pytestmark = pytest.mark.browser

STEPS = (
    "Sobre usted",
    "Sobre su esclerosis múltiple (EM)",
    "Preguntas sobre su salud",
    "Revisar y enviar",
)
CONTINUE, SEND, LATER = "Guardar y continuar", "Enviar mi solicitud", "Guardar y terminar más tarde"
SENT = "Gracias, su solicitud se ha enviado"
NARROW_KEYBOARD = {  # a 320 px window, as a patient with large text or a split screen has it
    "viewport": {"width": 320, "height": 640},
    "device_scale_factor": 1,
    "is_mobile": False,
    "has_touch": False,
}
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"


def in_spanish(page: Page) -> None:
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("link", name="Saltar al contenido principal")).to_be_attached()


def on_step(page: Page, number: int) -> None:
    in_spanish(page)
    title = STEPS[number - 1]
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.locator("#progress")).to_have_text(f"Paso {number} de 4")
    expect(page).to_have_title(re.compile(rf"^{re.escape(title)} \(paso {number} de 4\)"))


def answer(page: Page, answers: dict[str, str | int | list[int]]) -> None:
    """Answer by id: text for a box, a choice's position for radio buttons, positions in a list
    for checkboxes, ``select:<value>`` for a drop-down."""
    for name, value in answers.items():
        if isinstance(value, int):
            page.locator(f"#{name}-{value}").check()
        elif isinstance(value, list):
            for position in value:
                page.locator(f"#{name}-{position}").check()
        elif value.startswith("select:"):
            page.locator(f"#{name}").select_option(value.removeprefix("select:"))
        else:
            page.locator(f"#{name}").fill(value)


CONTACT = {
    "filled_by": 0,
    "first_name": "María José",
    "last_name": "García Muñoz",
    "email": "maria.garcia@example.org",
    "phone": "+34 612 345 678",
    "preferred_contact_method": 0,
    "preferred_contact_time": 1,
    "country": "select:ES",
    "region": "Andalucía",
    "postal_code": "41001",
}
ABOUT_MS = {"diagnosed": 0, "ms_type": 0, "diagnosis_year": "2015", "mobility": 1}
HEALTH = {
    "date_of_birth-day": "12",
    "date_of_birth-month": "marzo",
    "date_of_birth-year": "1984",
    "cancer_5y": 1,
    "pregnancy": 1,
    "active_infection": 1,
    "blood_thinners": 1,
    "organ_disease": 1,
    "able_to_travel": 0,
}


def stored_lead(app) -> tuple[Lead, Inquiry]:
    with app.app_context():
        lead = db.session.scalars(db.select(Lead)).one()
        inquiry = db.session.scalars(db.select(Inquiry)).one()
        db.session.expunge_all()
        return lead, inquiry


def test_the_whole_inquiry_in_spanish_with_the_keyboard_alone_at_320_px(
    app, live_server, new_context, script_errors
):
    """From the clinic's Spanish link to the thank-you page: keys only, every focus stop
    visible, and nothing scrolls sideways on a 320 px screen."""
    page = new_context(**NARROW_KEYBOARD).new_page()
    keys = Keyboard(page)
    page.goto(f"{live_server}/es/inquiry")
    on_step(page, 1)
    assert page.evaluate("innerWidth") == 320 and page.evaluate(NO_SIDEWAYS_SCROLL)

    keys.press("Tab")
    expect(page.get_by_role("link", name="Saltar al contenido principal")).to_be_focused()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    keys.choose("filled_by", 0)  # Tengo esclerosis múltiple (EM) y lo estoy llenando para mí
    keys.type_into("first_name", "María José")
    keys.type_into("last_name", "García Muñoz")
    keys.type_into("email", "maria.garcia@example.org")
    keys.type_into("phone", "+34 612 345 678")
    keys.choose("preferred_contact_method", 0)  # Correo electrónico
    keys.choose("preferred_contact_time", 1)  # Por la tarde
    keys.pick("country", "Espa")  # a closed list chooses by the first letters typed
    expect(page.locator("#country")).to_have_value("ES")
    keys.type_into("region", "Andalucía")
    keys.type_into("postal_code", "41001")
    keys.choose("heard_about", 1)  # Un artículo en nuestro sitio web
    keys.send(CONTINUE)

    on_step(page, 2)
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    keys.tab_to("diagnosed", most=4)  # past the skip link, the language switch, the back link
    page.keyboard.press("Space")  # Sí
    keys.choose("ms_type", 1)  # Secundaria progresiva
    keys.type_into("diagnosis_year", "2009")
    keys.choose("mobility", 0)
    keys.choose("edss_known", 1)  # No: no EDSS question
    keys.choose("on_dmt", 1)  # No: no "which one"
    keys.choose("relapse_12m", 1)
    keys.tick("symptoms-0")
    keys.tab_to("prior_stem_cell", most=10)
    keys.press("ArrowDown")  # No
    keys.send(CONTINUE)

    on_step(page, 3)
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    keys.type_into("date_of_birth-day", "12")
    keys.type_into("date_of_birth-month", "marzo")  # a Spanish month name, typed
    keys.type_into("date_of_birth-year", "1984")
    for group in ("cancer_5y", "pregnancy", "active_infection", "blood_thinners", "organ_disease"):
        keys.choose(group, 1)  # No
    keys.choose("able_to_travel", 0)  # Sí
    keys.send(CONTINUE)

    on_step(page, 4)
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    review = page.locator(".review")
    expect(review).to_contain_text("12 de marzo de 1984")
    expect(review).to_contain_text("España")
    expect(review).to_contain_text("García Muñoz")
    keys.tick("privacy_notice", most=8)  # past the switch, back link, 3 "Change" links, notice
    keys.tick("consent_email")
    keys.tick("not_medical_advice", most=4)
    keys.send(SEND)

    in_spanish(page)
    expect(page.get_by_role("heading", level=1)).to_have_text(SENT)
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    lead, inquiry = stored_lead(app)
    assert (lead.language, inquiry.language, inquiry.status) == ("es", "es", "complete")
    assert (lead.first_name, lead.last_name, lead.country) == ("María José", "García Muñoz", "ES")
    print(f"\nSpanish at 320 px: {keys.stops} keyboard focus stops, each visible")
    assert script_errors == []


def test_every_spanish_page_state_has_no_axe_violations(app, live_server, page, audit):
    """Each state a Spanish-speaking patient can meet, each with lang="es" (axe's
    html-lang-valid and valid-lang rules check it is a real language)."""

    def check(name: str) -> None:
        in_spanish(page)
        audit.check(page, name)

    page.goto(f"{live_server}/inquiry?lang=es")
    on_step(page, 1)
    check("paso 1, vacío")
    page.locator("#filled_by-1").check()  # someone else: the carer's questions appear
    answer(page, {"last_name": "García"})
    page.get_by_role("button", name=CONTINUE).click()
    expect(page.get_by_role("alert")).to_contain_text("Revise estas respuestas")
    check("paso 1, con errores (para otra persona)")

    answer(page, {**CONTACT, "filled_by": 0})
    page.get_by_role("button", name=CONTINUE).click()
    on_step(page, 2)
    check("paso 2, vacío")
    answer(page, {**ABOUT_MS, "edss_known": 0, "on_dmt": 0})  # the follow-up questions show
    check("paso 2, con las preguntas que siguen")
    answer(page, {"edss": "select:4.5", "dmt_name": "Ocrevus", "relapse_12m": 1})
    answer(page, {"symptoms": [0, 2], "prior_stem_cell": 1})
    page.get_by_role("button", name=CONTINUE).click()

    on_step(page, 3)
    answer(page, {**HEALTH, "date_of_birth-day": "31", "date_of_birth-month": "2"})
    page.get_by_role("button", name=CONTINUE).click()
    expect(page.get_by_role("alert")).to_be_visible()
    check("paso 3, una fecha que no existe")
    answer(page, HEALTH)
    page.get_by_role("button", name=CONTINUE).click()

    on_step(page, 4)
    check("paso 4, revisar y dar permisos")
    page.get_by_role("button", name=SEND).click()
    expect(page.get_by_role("alert")).to_be_visible()
    check("paso 4, enviado sin permisos")
    page.get_by_role("button", name="Leer el aviso de privacidad").click()
    expect(page.get_by_role("button", name=re.compile("^Volver a sus respuestas"))).to_have_count(2)
    check("aviso de privacidad, desde el paso 4")
    page.get_by_role("button", name=re.compile("^Volver a sus respuestas")).first.click()
    on_step(page, 4)
    for box in ("privacy_notice", "consent_email", "not_medical_advice"):
        page.locator(f"#{box}").check()
    page.get_by_role("button", name=SEND).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(SENT)
    check("confirmación")

    for path, heading in (
        ("/privacy", "Aviso de privacidad"),
        ("/terms", "Condiciones de uso"),
        ("/inquiry/resume/no-es-un-enlace", "Este enlace ya no funciona"),
        ("/no-existe", "No encontramos esta página"),
    ):
        page.goto(f"{live_server}{path}")
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        check(path)

    with app.app_context():
        token = unsubscribe_token(db.session.scalar(db.select(Lead.id)))
    page.goto(f"{live_server}/unsubscribe/{token}")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Dejar de recibir correos sobre su solicitud"
    )
    check("darse de baja")
    page.get_by_role("button", name="Dejar de recibir correos").click()
    expect(page.get_by_role("status")).to_be_visible()
    check("baja hecha")

    page.goto(f"{live_server}/inquiry")  # a new inquiry in the same browser, still Spanish
    answer(page, CONTACT)
    page.get_by_role("button", name=LATER).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sus respuestas están guardadas")
    check("respuestas guardadas")
    page.get_by_role("button", name=re.compile("aparato")).click()
    check("navegador olvidado")
    audit.assert_clean()


def test_switching_language_in_the_middle_of_a_step_keeps_every_answer(live_server, page, app):
    """Typed, not yet sent: the switch brings the same step back in the other language with
    every answer in place and no error shown, and back again."""
    page.goto(f"{live_server}/inquiry")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    answer(page, {**CONTACT, "filled_by": 1, "caregiver_first_name": "Lucía"})
    answer(page, {"caregiver_last_name": "Muñoz"})
    page.get_by_role("button", name="Español").click()
    on_step(page, 1)
    expect(page.locator(".error-summary")).to_have_count(0)
    for name in ("first_name", "last_name", "email", "region", "caregiver_first_name"):
        expect(page.locator(f"#{name}")).to_have_value(str(CONTACT.get(name, "Lucía")))
    for checked in ("filled_by-1", "preferred_contact_method-0", "preferred_contact_time-1"):
        expect(page.locator(f"#{checked}")).to_be_checked()
    expect(page.locator("#country")).to_have_value("ES")
    expect(page.locator("#country option:checked")).to_have_text("España")
    with app.app_context():  # only switched: nothing was saved
        assert db.session.scalar(db.select(db.func.count(Lead.id))) == 0

    page.locator("#postal_code").press("Enter")  # saves and goes on, not the header's switch
    on_step(page, 2)
    answer(page, {"diagnosed": 0, "diagnosis_year": "2015", "edss_known": 0})
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("About your MS")
    expect(page.locator("#diagnosis_year")).to_have_value("2015")
    expect(page.locator("#diagnosed-0")).to_be_checked()
    expect(page.locator("#edss")).to_be_visible()  # the follow-up question is still shown
    page.get_by_role("button", name="Save and continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("About your MS")  # errors left
    with app.app_context():
        assert db.session.scalars(db.select(Lead.language)).one() == "es"  # step 1 was Spanish


def test_a_resume_link_opens_the_inquiry_in_spanish_on_another_device(
    app, live_server, page, new_context
):
    page.goto(f"{live_server}/es/inquiry")
    answer(page, CONTACT)
    page.get_by_role("button", name=CONTINUE).click()
    on_step(page, 2)
    answer(page, {"diagnosed": 0, "diagnosis_year": "2015"})
    page.get_by_role("button", name=LATER).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sus respuestas están guardadas")
    link = page.locator(".resume-link a").get_attribute("href") or ""

    # Another device whose browser asks for English: the inquiry's own language wins.
    desktop = new_context(**DESKTOP, locale="en-US").new_page()
    desktop.goto(link)
    on_step(desktop, 2)
    expect(desktop.get_by_role("status")).to_contain_text("Hola de nuevo, María José.")
    expect(desktop.locator("#diagnosis_year")).to_have_value("2015")
    desktop.get_by_role("button", name=CONTINUE).click()  # what is missing, said in Spanish
    expect(desktop.get_by_role("alert")).to_contain_text("Revise")
    in_spanish(desktop)
    expect(desktop).to_have_title(re.compile(r"^Error: Sobre su esclerosis múltiple \(EM\)"))
