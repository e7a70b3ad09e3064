"""The form machinery in Spanish and in English: every validator's message, the date boxes (their
labels, hint, errors and Spanish month names), countries named and sorted in the page's
language, answers shown on the review in that language, and a Spanish name with two surnames
kept exactly, accents composed, through a real step 1."""

from __future__ import annotations

from datetime import date

import pytest
from bs4 import BeautifulSoup
from flask_babel import force_locale
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import InputRequired

from intake.extensions import db
from intake.inquiries.answers import read_answers
from intake.models import Inquiry, Lead
from intake.public.countries import countries, country_name, sort_key
from intake.public.fields import required_message
from intake.public.forms import step_form_class
from tests.conftest import ABOUT_MS, CONTACT, HEALTH, form_data, make_app, page, send_step
from tests.factories import NOW

TODAY = NOW.date()  # 3 March 2026
PARTS = ("day", "month", "year")


@pytest.fixture(scope="module")
def forms_app():
    """An app for checking forms alone: nothing here reads or writes the database."""
    return make_app("sqlite://")


def checked(app, language: str, step_id: str, answers: dict, *, context: dict | None = None):
    """The step's form in ``language``, given these answers and validated, on TODAY."""
    questionnaire = app.extensions["intake.definitions"][language].questionnaire
    form_class = step_form_class(questionnaire, step_id)
    with app.test_request_context(method="POST"), force_locale(language):
        form = form_class(
            formdata=form_data({}, answers),
            context=context or {},
            today=TODAY,
            meta={"csrf": False},
        )
        form.validate()
        summary = form.error_list
    return form, summary


def first_error(app, language: str, step_id: str, answers: dict, field: str) -> str:
    form, _ = checked(app, language, step_id, answers)
    assert form[field].errors, f"{field} has no error"
    return form[field].errors[0]


# Each validator's message, in both languages (the English ones as they always read).
STEP_ONE_MESSAGES = [
    (
        "required",
        {"first_name": ""},
        "first_name",
        "Please answer this question.",
        "Por favor, responda a esta pregunta.",
    ),
    (
        "too-long",
        {"last_name": "x" * 101},
        "last_name",
        "Please keep this to 100 characters or fewer.",
        "Por favor, no escriba más de 100 letras.",
    ),
    (
        "unknown-choice",
        {"preferred_contact_time": "midnight"},
        "preferred_contact_time",
        "Choose one of the answers shown.",
        "Elija una de las respuestas de la lista.",
    ),
    (
        "no-choice",
        {"filled_by": ""},
        "filled_by",
        "Choose one of the answers.",
        "Elija una de las respuestas.",
    ),
    (
        "unknown-country",
        {"country": "XX"},
        "country",
        "Choose your country from the list.",
        "Elija su país de la lista.",
    ),
    (
        "email",
        {"email": "ada.example.org"},
        "email",
        "Enter an email address like name@example.com.",
        "Escriba un correo como este: nombre@example.com.",
    ),
    (
        "phone-unreadable",
        {"phone": "call me"},
        "phone",
        "Enter a phone number with its area code, like +1 212 555 0100.",
        "Escriba un número de teléfono con su código de área, por ejemplo +1 212 555 0100.",
    ),
    (
        "phone-incomplete",
        {"phone": "202 555"},
        "phone",
        "That phone number does not look complete. Check it, including the area code.",
        "Ese número de teléfono no parece completo. Revíselo, también el código de área.",
    ),
    (
        "email-method-without-email",
        {"email": ""},
        "preferred_contact_method",
        "You chose this way to contact you, so please also give an email address.",
        "Eligió esta forma de contacto. Por favor, escriba también un correo electrónico.",
    ),
    (
        "phone-method-without-phone",
        {"preferred_contact_method": "phone", "phone": ""},
        "preferred_contact_method",
        "You chose this way to contact you, so please also give a phone number.",
        "Eligió esta forma de contacto. Por favor, escriba también un teléfono.",
    ),
]


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize(
    ("changes", "field", "english", "spanish"),
    [case[1:] for case in STEP_ONE_MESSAGES],
    ids=[case[0] for case in STEP_ONE_MESSAGES],
)
def test_each_step_one_check_speaks_the_pages_language(
    forms_app, language, changes, field, english, spanish
):
    message = first_error(forms_app, language, "contact", {**CONTACT, **changes}, field)
    assert message == {"en": english, "es": spanish}[language]


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Enter a year between 1950 and 2026, for example 2015."),
        ("es", "Escriba un año entre 1950 y 2026, por ejemplo 2015."),
    ],
)
def test_the_year_range_is_plain_numbers_in_both_languages(forms_app, language, expected):
    answers = {**ABOUT_MS, "diagnosis_year": "1850"}
    assert first_error(forms_app, language, "about_ms", answers, "diagnosis_year") == expected


REQUIRED = {  # a question of each type, and what it says when left unanswered
    "first_name": ("Please answer this question.", "Por favor, responda a esta pregunta."),
    "filled_by": ("Choose one of the answers.", "Elija una de las respuestas."),
    "country": ("Choose one of the answers.", "Elija una de las respuestas."),
    "symptoms": ("Choose at least one answer.", "Elija al menos una respuesta."),
    "date_of_birth": (
        "Enter the day, month and year. For example, 27 3 1975.",
        "Escriba el día, el mes y el año. Por ejemplo, 27 3 1975.",
    ),
    "not_medical_advice": ("Tick this box to continue.", "Marque esta casilla para seguir."),
}


@pytest.mark.parametrize("language", ["en", "es"])
def test_an_unanswered_question_of_each_type_is_explained_in_the_pages_language(
    forms_app, language
):
    items = forms_app.extensions["intake.definitions"][language].questionnaire.items
    with forms_app.test_request_context(), force_locale(language):
        said = {link_id: str(required_message(items[link_id])) for link_id in REQUIRED}
    index = {"en": 0, "es": 1}[language]
    assert said == {link_id: messages[index] for link_id, messages in REQUIRED.items()}


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "Tick this box to continue."), ("es", "Marque esta casilla para seguir.")],
)
def test_a_box_that_must_be_ticked_says_so_on_the_form(forms_app, language, expected):
    form, _ = checked(forms_app, language, "consent", {})
    assert form["privacy_notice"].errors == [expected]


@pytest.mark.parametrize(
    ("language", "label", "message"),
    [
        (
            "en",
            "Email address or phone number",
            "Give an email address or a phone number, so we can reply.",
        ),
        (
            "es",
            "Correo electrónico o teléfono",
            "Denos un correo electrónico o un teléfono para poder responderle.",
        ),
    ],
)
def test_no_way_to_reply_is_one_error_named_in_the_pages_language(
    forms_app, language, label, message
):
    form, summary = checked(forms_app, language, "contact", {**CONTACT, "email": "", "phone": ""})
    assert [row for row in summary if row[0] == "email"] == [("email", label, message)]
    assert form.reach_error == message


@pytest.mark.parametrize(
    ("language", "legend", "hint", "honeypot"),
    [
        (
            "en",
            "How can we reach the person with MS?",
            "Give an email address, a phone number or both.",
            "Leave this field blank",
        ),
        (
            "es",
            "¿Cómo podemos comunicarnos con la persona con EM?",
            "Escriba un correo electrónico, un teléfono o los dos.",
            "Deje este campo en blanco",
        ),
    ],
)
def test_the_contact_steps_own_words_in_the_pages_language(
    forms_app, language, legend, hint, honeypot
):
    form, _ = checked(forms_app, language, "contact", CONTACT)
    with forms_app.test_request_context(), force_locale(language):
        assert (str(form.REACH_LEGEND), str(form.REACH_HINT)) == (legend, hint)
        assert form.leave_blank.label.text == honeypot


@pytest.mark.parametrize(
    ("language", "prompt"), [("en", "Choose an answer"), ("es", "Elija una respuesta")]
)
def test_a_long_list_of_answers_starts_with_a_prompt_in_the_pages_language(
    forms_app, language, prompt
):
    form, _ = checked(forms_app, language, "about_ms", ABOUT_MS)
    with forms_app.test_request_context(), force_locale(language):
        rendered = BeautifulSoup(str(form["edss"]()), "html.parser")
    first = rendered.find("option")
    assert (first["value"], first.get_text()) == ("", prompt)


# The date boxes ---------------------------------------------------------------------------------

SPANISH_DATE_ERRORS = [
    (("", "", ""), "Escriba el día, el mes y el año. Por ejemplo, 27 3 1975.", PARTS),
    (("12", "", "1984"), "La fecha debe incluir el mes.", ("month",)),
    (("", "", "1984"), "La fecha debe incluir el día y el mes.", ("day", "month")),
    (("12", "marzo", ""), "La fecha debe incluir el año.", ("year",)),
    (("", "3", ""), "La fecha debe incluir el día y el año.", ("day", "year")),
    (("12", "", ""), "La fecha debe incluir el mes y el año.", ("month", "year")),
    (
        ("12", "3", "84"),
        "El año debe tener 4 números, por ejemplo 1975. Por ejemplo, 27 3 1975.",
        ("year",),
    ),
    (("31", "2", "1984"), "Esa fecha no existe. Por ejemplo, 27 3 1975.", ("day",)),
    (("12", "trece", "1984"), "Esa fecha no existe. Por ejemplo, 27 3 1975.", ("month",)),
    (("1", "1", "2999"), "La fecha debe ser hoy o un día pasado.", PARTS),
    (("31", "12", "1899"), "La fecha debe ser posterior al 1 de enero de 1900.", ("year",)),
]


def typed_date(day: str, month: str, year: str) -> dict:
    others = {name: value for name, value in HEALTH.items() if name != "date_of_birth"}
    return {**others, "date_of_birth-day": day, "date_of_birth-month": month} | {
        "date_of_birth-year": year
    }


@pytest.mark.parametrize(
    ("typed", "message", "wrong"),
    SPANISH_DATE_ERRORS,
    ids=[
        "empty",
        "no-month",
        "no-day-or-month",
        "no-year",
        "no-day-or-year",
        "no-month-or-year",
        "short-year",
        "31-february",
        "no-such-month",
        "future",
        "before-1900",
    ],
)
def test_a_wrong_date_is_explained_in_spanish_and_marks_the_boxes(forms_app, typed, message, wrong):
    form, _ = checked(forms_app, "es", "health", typed_date(*typed))
    field = form["date_of_birth"]
    assert field.errors == [message]
    assert field.wrong_parts == wrong or (not field.wrong_parts and wrong == PARTS)


def test_an_english_date_error_reads_as_before(forms_app):
    form, _ = checked(forms_app, "en", "health", typed_date("", "", "1984"))
    assert form["date_of_birth"].errors == ["The date must include a day and a month."]
    form, _ = checked(forms_app, "en", "health", typed_date("31", "12", "1899"))
    assert form["date_of_birth"].errors == ["The date must be after 1 January 1900."]


@pytest.mark.parametrize(
    ("month", "number"),
    [
        ("marzo", 3),
        ("Marzo", 3),
        ("MAR", 3),
        ("mar.", 3),
        ("sept", 9),
        ("septiembre", 9),
        ("setiembre", 9),
        ("ene", 1),
        ("abr", 4),
        ("ago", 8),
        ("dic", 12),
        ("diciembre", 12),
        ("March", 3),
        ("Dec", 12),
    ],
)
@pytest.mark.parametrize("language", ["en", "es"])
def test_a_month_may_be_typed_as_a_spanish_or_english_word(forms_app, language, month, number):
    form, _ = checked(forms_app, language, "health", typed_date("12", month, "1984"))
    assert form["date_of_birth"].errors == []
    assert form["date_of_birth"].data == date(1984, number, 12).isoformat()


def test_month_names_mean_the_same_month_in_every_language():
    from babel.dates import get_month_names

    from intake.i18n import LANGUAGES
    from intake.public.date_parts import _month_names

    meanings: dict[str, set[int]] = {}
    for language in LANGUAGES:
        for width in ("wide", "abbreviated"):
            for number, name in get_month_names(width, locale=language).items():
                meanings.setdefault(name.casefold(), set()).add(number)
    assert {name: numbers for name, numbers in meanings.items() if len(numbers) > 1} == {}
    assert {name: _month_names()[name] for name in meanings} == {
        name: numbers.pop() for name, numbers in meanings.items()
    }


def reach_health_step(client) -> None:
    client.get("/es/inquiry")
    for url, answers in (("/inquiry", CONTACT), ("/inquiry/about_ms", ABOUT_MS)):
        assert send_step(client, url, answers).status_code == 302


def test_the_spanish_date_boxes_are_labelled_and_hinted_in_spanish_and_take_marzo(app, client):
    reach_health_step(client)
    soup = page(client.get("/inquiry/health"))
    labels = [soup.find("label", attrs={"for": f"date_of_birth-{part}"}) for part in PARTS]
    assert [label.get_text() for label in labels] == ["Día", "Mes", "Año"]
    assert soup.find(id="date_of_birth-hint").get_text(strip=True) == "Por ejemplo, 27 3 1975"

    wrong = send_step(client, "/inquiry/health", typed_date("12", "", "1984"))
    assert wrong.status_code == 422
    assert "La fecha debe incluir el mes." in page(wrong).find(id="date_of_birth-error").get_text()

    sent = send_step(client, "/inquiry/health", typed_date("12", "marzo", "1984"))
    assert sent.status_code == 302
    with app.app_context():
        inquiry = db.session.scalars(db.select(Inquiry)).one()
        assert read_answers(inquiry)["date_of_birth"] == "1984-03-12"


# Countries --------------------------------------------------------------------------------------


def test_countries_are_named_in_spanish_and_sorted_as_a_spanish_reader_expects():
    names = [choice.label for choice in countries("es")]
    codes = {choice.value: choice.label for choice in countries("es")}
    assert (codes["ES"], codes["DE"], codes["PE"], codes["US"]) == (
        "España",
        "Alemania",
        "Perú",
        "Estados Unidos",
    )
    around = names.index("Perú")
    assert names[around - 1 : around + 2] == ["Paraguay", "Perú", "Polinesia Francesa"]
    assert names.index("Pakistán") < names.index("Panamá") < names.index("Paraguay")
    assert names.index("Eslovenia") < names.index("España") < names.index("Estados Unidos")
    assert names.index("Bélgica") < names.index("Belice") < names.index("Bermudas")
    assert names.index("Canadá") < names.index("Chad")
    assert names[-1] == "Zimbabue"


def test_an_accented_first_letter_sorts_with_its_letter_in_english_too():
    names = [choice.label for choice in countries("en")]
    assert names[:3] == ["Afghanistan", "Åland Islands", "Albania"]
    assert names.index("Côte d’Ivoire") < names.index("Croatia")
    assert names[-1] == "Zimbabwe"


def test_n_with_tilde_is_its_own_letter_after_n_in_spanish():
    words = ["oso", "ñandú", "nube", "Nácar", "Ñu", "níspero"]
    assert sorted(words, key=lambda word: sort_key(word, "es")) == [
        "Nácar",
        "níspero",
        "nube",
        "ñandú",
        "Ñu",
        "oso",
    ]
    assert sorted(["Österreich", "Oman", "Panama"], key=lambda w: sort_key(w, "en")) == [
        "Oman",
        "Österreich",
        "Panama",
    ]


def test_every_country_is_an_iso_code_pycountry_knows_in_both_languages():
    import pycountry

    known = {country.alpha_2 for country in pycountry.countries}
    for language in ("en", "es"):
        values = [choice.value for choice in countries(language)]
        assert sorted(values) == sorted(known)
    assert (country_name("ES", "es"), country_name("ES", "en")) == ("España", "Spain")
    assert country_name("XX", "es") == "XX"


def test_the_country_list_on_a_spanish_page_is_in_spanish_and_english_unchanged(client):
    select = page(client.get("/es/inquiry", follow_redirects=True)).find("select", id="country")
    options = select.find_all("option")
    assert (options[0]["value"], options[0].get_text()) == ("", "Elija un país")
    spanish = {option["value"]: option.get_text() for option in options[1:]}
    assert (spanish["ES"], spanish["MX"], len(spanish)) == ("España", "México", 249)

    select = page(client.get("/inquiry?lang=en")).find("select", id="country")
    options = select.find_all("option")
    assert options[0].get_text() == "Choose a country"
    english = {option["value"]: option.get_text() for option in options[1:]}
    assert (english["ES"], english["US"]) == ("Spain", "United States")


def test_the_spanish_review_shows_the_country_dates_and_ticks_in_spanish(app, client):
    client.get("/es/inquiry")
    # In Spain, with the box for a link to finish later ticked.
    contact = {**CONTACT, "country": "ES", "phone": "+34 612 345 678", "consent_resume": "y"}
    for url, answers in (
        ("/inquiry", contact),
        ("/inquiry/about_ms", ABOUT_MS),
        ("/inquiry/health", HEALTH),
    ):
        assert send_step(client, url, answers).status_code == 302

    review = page(client.get("/inquiry/consent"))
    shown = {row.dt.get_text(): row.dd.get_text() for row in review.select(".summary-row")}
    items = app.extensions["intake.definitions"]["es"].questionnaire.items
    assert shown[items["country"].text] == "España"
    assert shown[items["date_of_birth"].text] == "2 de abril de 1980"
    assert shown[items["consent_resume"].text] == "Sí"


# Names ------------------------------------------------------------------------------------------


def test_a_spanish_name_with_two_surnames_typed_on_a_mac_is_kept_composed(app, client):
    """A Mac may send "í" as "i" and a combining accent; the name kept is the composed one."""
    first, last = "María José", "García Márquez de la Peña"
    decomposed = {
        "first_name": "Mari\u0301a Jose\u0301",
        "last_name": "Garci\u0301a Ma\u0301rquez de la Pen\u0303a",
    }
    client.get("/es/inquiry")
    response = send_step(client, "/inquiry", {**CONTACT, **decomposed})

    assert response.status_code == 302, page(response).get_text()[:1000]
    with app.app_context():
        lead = db.session.scalars(db.select(Lead)).one()
        inquiry = db.session.scalars(db.select(Inquiry)).one()
        assert (lead.first_name, lead.last_name) == (first, last)
        answers = read_answers(inquiry)
        assert (answers["first_name"], answers["last_name"]) == (first, last)
        assert inquiry.language == "es"
    assert "ñ" in lead.last_name and "n\u0303" not in lead.last_name
    shown = page(client.get("/inquiry"))
    assert shown.find("input", id="last_name")["value"] == last


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "This field is required."), ("es", "Este campo es obligatorio.")],
)
def test_wtforms_own_messages_speak_the_pages_language(forms_app, language, expected):
    """A message of WTForms itself, not ours, comes from its own catalogue (through
    Flask-WTF and Flask-Babel) in the language of the page."""

    class Small(FlaskForm):
        name = StringField(validators=[InputRequired()])

    with forms_app.test_request_context(method="POST"), force_locale(language):
        form = Small(formdata=form_data({}, {}), meta={"csrf": False})
        assert not form.validate()
        assert form.name.errors == [expected]
