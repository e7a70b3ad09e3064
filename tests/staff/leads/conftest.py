"""Helpers for the lead screens: reading the queue and the lead page, posting a lead page's
forms, searching, and starting inquiries through the real public form (S-identity)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from intake.extensions import db
from intake.models import DuplicatePair, Lead, Team
from tests.conftest import CONTACT, page, send_step
from tests.staff.conftest import csrf_token

PHONE = "(202) 555-0143"


@pytest.fixture
def team_id(app):
    """Look a team's id up by its name."""

    def find(name: str) -> int:
        with app.app_context():
            return db.session.scalar(select(Team.id).where(Team.name == name))

    return find


# Reading and using the screens --------------------------------------------------------------


def shown_ids(response) -> list[int]:
    """The lead ids in the table, in order (read from the row checkboxes or the name links)."""
    soup = page(response)
    return [int(link["href"].rstrip("/").split("/")[-1]) for link in soup.select("tbody th a")]


def search(client, term: str, **filters):
    """Search as the queue's form does: the term in the POST body, never in a URL."""
    token = csrf_token(client, "/staff/")
    return client.post("/staff/search", data={"term": term, "csrf_token": token, **filters})


def action_form(response, endpoint_path: str):
    """The hidden fields of the page's form posting to ``endpoint_path``."""
    form = page(response).find("form", action=lambda a: a and a.endswith(endpoint_path))
    assert form is not None, f"no form for {endpoint_path}"
    return {i["name"]: i.get("value", "") for i in form.find_all("input", type="hidden")}


def post_action(client, lead_id: int, path: str, data: dict):
    shown = client.get(f"/staff/leads/{lead_id}")
    hidden = action_form(shown, f"/leads/{lead_id}/{path}")
    return client.post(f"/staff/leads/{lead_id}/{path}", data={**hidden, **data})


# Leads made through the public form, and what became of them ------------------------------


def contact(first: str, last: str, email: str, phone: str = PHONE) -> dict:
    return {**CONTACT, "first_name": first, "last_name": last, "email": email, "phone": phone}


def start(app, first: str, last: str, email: str, phone: str = PHONE, language: str | None = None):
    """Step 1 of an inquiry from a new browser; in ``language`` when the patient came by that
    language's link (``/es/inquiry``)."""
    client = app.test_client()
    if language:
        client.get(f"/{language}/inquiry")
    response = send_step(client, "/inquiry", contact(first, last, email, phone))
    assert response.status_code == 302
    return response


def leads(app) -> list[Lead]:
    with app.app_context():
        return list(db.session.scalars(select(Lead).order_by(Lead.id)))


def pairs(app) -> list[tuple[int, int, str, str]]:
    with app.app_context():
        rows = db.session.scalars(select(DuplicatePair).order_by(DuplicatePair.id))
        return [(p.lead_id, p.other_id, p.reason, p.status) for p in rows]
