"""Staff text is marked for translation (the ``staff`` catalogue) but staff pages stay English
(issue 12): a Spanish-speaking browser still gets the English page, and text kept in forms and
constants reaches the page escaped exactly as plain text would."""

from __future__ import annotations

from tests.conftest import page
from tests.factories import seeded_lead
from tests.staff.leads.conftest import post_action


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
