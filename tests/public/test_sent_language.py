"""The confirmation speaks the patient's language: the eligibility message of the Spanish rule
set reaches the page when the inquiry was filled in in Spanish."""

from __future__ import annotations

from datetime import date

import pytest

from tests.conftest import complete_inquiry, page

CLINIC = "Clínica Sol"


def confirmation(client) -> str:
    return page(client.get("/inquiry/sent")).get_text(" ", strip=True)


@pytest.fixture
def app(app_factory):
    return app_factory(INTAKE_CLINIC_NAME=CLINIC)


@pytest.mark.parametrize(
    ("changes", "spanish", "english"),
    [
        (
            {},
            f"Un coordinador de pacientes de {CLINIC} se pondrá en contacto",
            "A patient coordinator from",
        ),
        (
            {"health": {"blood_thinners": "yes"}},
            "Un miembro de nuestro equipo clínico revisará sus respuestas",
            "clinical team will look",
        ),
        (
            {"health": {"cancer_5y": "yes"}},
            "es posible que el tratamiento que ofrecemos no sea adecuado para usted",
            "may not be suitable",
        ),
        (
            {"health": {"pregnancy": "yes"}},
            "no ofrecemos nuestro tratamiento durante el embarazo o la lactancia",
            "not offered during pregnancy",
        ),
        (
            {"health": {"date_of_birth": date(2012, 5, 1)}},
            f"Lo sentimos: {CLINIC} solo puede tratar a personas adultas de 18 años o más",
            "can only treat adults",
        ),
    ],
    ids=["next-step", "review", "not-suitable", "pregnancy", "under-18"],
)
def test_an_inquiry_sent_in_spanish_is_confirmed_with_the_spanish_message(
    client, changes, spanish, english
):
    assert client.get("/inquiry?lang=es").status_code == 200
    complete_inquiry(client, **changes)

    text = confirmation(client)

    assert spanish in text
    assert english not in text
    assert "{" not in text


def test_a_spanish_browser_is_confirmed_in_spanish_and_an_english_one_in_english(app):
    spanish, english = app.test_client(), app.test_client()
    spanish.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es-MX,es;q=0.9,en;q=0.5"
    english.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-US,en;q=0.9"
    complete_inquiry(spanish)
    complete_inquiry(english)

    assert "Enviar este formulario no le compromete a nada." in confirmation(spanish)
    assert "Sending this form does not commit you to anything." in confirmation(english)


def test_the_promised_response_time_is_in_spanish_too(client):
    client.get("/inquiry?lang=es")
    complete_inquiry(client)

    text = confirmation(client)

    assert "se pondrá en contacto con usted en un día laborable" in text
    assert "within one working day" not in text


def test_a_clinics_own_name_keeps_its_capitals_in_every_language(client):
    """The name in the header and the title as the clinic wrote it ("Clínica Sol", not "sol")."""
    for link in ("/inquiry?lang=es", "/inquiry?lang=en"):
        shown = page(client.get(link))
        assert shown.select_one(".site-name").get_text(strip=True) == CLINIC
        assert shown.title.get_text().endswith(f"– {CLINIC}")
