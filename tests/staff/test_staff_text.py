"""Staff text is marked for translation (the ``staff`` catalogue) but staff pages stay English
(issue 12): a Spanish-speaking browser still gets the English page; text kept in forms,
constants and the messages services raise reaches the page escaped exactly as plain text would
(and reads as written outside any request); staff subjects and the staff word lists are in the
staff catalogue, never the patients'."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from markupsafe import Markup, escape

from intake.display import LABELS
from intake.leads.pipeline import TransitionError, check_transition
from intake.messaging.staff_subjects import ALERT_SUBJECTS, STAFF_SUBJECTS
from tests.conftest import page
from tests.factories import seeded_lead
from tests.staff.leads.conftest import post_action

TRANSLATIONS = Path(__file__).resolve().parents[2] / "intake" / "translations"


def test_staff_pages_stay_english_for_a_browser_that_asked_for_spanish(app, staff_client):
    client = staff_client("admin")
    with client.session_transaction() as session:
        session["lang"] = "es"  # chosen earlier on a patient page in this browser

    response = client.get("/staff/admin/", headers={"Accept-Language": "es-MX,es;q=0.9"})

    assert response.status_code == 200
    soup = page(response)
    assert soup.html["lang"] == "en"
    assert soup.title.get_text().startswith("Administration – Staff – ")
    assert soup.h1.get_text() == "Administration"
    assert "Staff accounts" in soup.find("ul", class_="admin-links").get_text()


def test_a_form_message_with_an_apostrophe_is_escaped_on_the_page(app, staff_client):
    lead_id = seeded_lead(app)
    client = staff_client("coordinator")

    response = post_action(client, lead_id, "do-not-contact", {})

    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "Tick the box to confirm the patient&#39;s request." in body
    assert "the patient's request" not in body


def test_a_service_message_reads_as_written_outside_any_request_and_escapes_on_a_page():
    # No app context at all: the messages services raise are lazy staff text, and read as
    # written wherever no language is chosen (a worker, the command line).
    with pytest.raises(TransitionError) as raised:
        check_transition("new", "not_eligible")

    assert str(raised.value) == "Give a reason for closing the lead as 'Not eligible'."
    assert escape(raised.value.args[0]) == Markup(
        "Give a reason for closing the lead as &#39;Not eligible&#39;."
    )


def test_staff_subjects_and_word_lists_are_in_the_staff_catalogue_and_never_the_patients():
    def msgids(name: str) -> set[str]:
        with (TRANSLATIONS / name).open("rb") as handle:
            return {message.id for message in read_po(handle) if message.id}

    staff, patient = msgids("staff.pot"), msgids("messages.pot")
    subjects = {*STAFF_SUBJECTS.values(), *ALERT_SUBJECTS.values()}
    words = {w for kind, texts in LABELS.items() if kind != "language" for w in texts.values()}

    assert subjects | words <= staff
    assert not subjects & patient
