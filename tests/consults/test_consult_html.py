"""The Nu HTML checker on the lead page's consult states: free times, a clash (the message
beside the list), a booked consult with its move list, and done / no-show once it has begun."""

from __future__ import annotations

from datetime import timedelta

from tests.browser.test_html_validity import check, html
from tests.consults.test_lead_consult import FIRST, book, booked_elsewhere
from tests.factories import seeded_lead


def test_the_consult_states_of_the_lead_page_are_valid_html(
    app,
    clock,
    offered,
    staff_client,
    tmp_path,  # noqa: F811
):
    type_id, _ = offered
    client = staff_client("coordinator")
    lead_id = seeded_lead(app, status="contacted")
    url = f"/staff/leads/{lead_id}"
    pages = {"free times": html(client.get(url))}
    booked_elsewhere(app, type_id, FIRST)
    pages["a clash"] = html(book(client, lead_id), 422)
    assert book(client, lead_id, FIRST + timedelta(minutes=30)).status_code == 303
    pages["booked, with the move list"] = html(client.get(url))
    clock.now = FIRST + timedelta(hours=1)
    pages["done or no-show"] = html(client.get(url))

    found = check(pages, tmp_path)

    assert not any(found.values()), found
