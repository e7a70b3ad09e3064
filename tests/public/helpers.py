"""Driving the inquiry like a browser would: read the page's form, fill it in, send it."""

from __future__ import annotations

from datetime import date

from bs4 import BeautifulSoup
from werkzeug.datastructures import MultiDict

CONTACT = {
    "filled_by": "self",
    "first_name": "Ada",
    "last_name": "Byron",
    "email": "Ada.Byron@Example.org",
    "phone": "(202) 555-0143",
    "preferred_contact_method": "email",
    "preferred_contact_time": "morning",
    "country": "US",
    "region": "Virginia",
    "postal_code": "22201",
    "heard_about": "article",
}
ABOUT_MS = {
    "diagnosed": "yes",
    "ms_type": "RRMS",
    "diagnosis_year": "2015",
    "mobility": "cane",
    "edss_known": "yes",
    "edss": "4.5",
    "on_dmt": "yes",
    "dmt_name": "Ocrevus",
    "relapse_12m": "no",
    "symptoms": ["fatigue", "vision"],
    "prior_stem_cell": "no",
}
HEALTH = {
    "date_of_birth": date(1980, 4, 2),
    "cancer_5y": "no",
    "pregnancy": "no",
    "active_infection": "no",
    "blood_thinners": "no",
    "organ_disease": "no",
    "able_to_travel": "yes",
}
CONSENT = {
    "privacy_notice": "y",
    "consent_email": "y",
    "consent_follow_up": "y",
    "not_medical_advice": "y",
}
STEPS = (
    ("/inquiry", CONTACT),
    ("/inquiry/about_ms", ABOUT_MS),
    ("/inquiry/health", HEALTH),
    ("/inquiry/consent", CONSENT),
)


def page(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def hidden_fields(response) -> dict[str, str]:
    form = page(response).find("form", method="post")
    return {
        field["name"]: field.get("value", "")
        for field in form.find_all("input", type="hidden")
        if field.get("name")
    }


def date_parts(name: str, value: date) -> dict[str, str]:
    """A date as a person types it in the day, month and year boxes."""
    return {
        f"{name}-day": str(value.day),
        f"{name}-month": str(value.month),
        f"{name}-year": str(value.year),
    }


def form_data(hidden: dict, answers: dict, action: str = "continue") -> MultiDict:
    """The posted form; a ``date`` answer is typed into its three boxes."""
    data = MultiDict(hidden)
    for key, value in answers.items():
        if isinstance(value, date):
            data.update(date_parts(key, value))
            continue
        for single in value if isinstance(value, list) else [value]:
            data.add(key, single)
    data["action"] = action
    return data


def send_step(client, url: str, answers: dict, action: str = "continue"):
    """GET the step, then POST its form with these answers, as a person would."""
    shown = client.get(url)
    assert shown.status_code == 200, shown.status_code
    return client.post(url, data=form_data(hidden_fields(shown), answers, action))


def complete_inquiry(client, **changes: dict):
    """All four steps; ``changes`` maps a step URL's last part to answers to override."""
    response = None
    for url, answers in STEPS:
        step = url.rsplit("/", 1)[-1]
        response = send_step(client, url, {**answers, **changes.get(step, {})})
        assert response.status_code in (302, 303), page(response).get_text()[:2000]
    return response


def shown_values(soup) -> MultiDict:
    """What the re-rendered form holds: text values, ticked boxes, checked radios, selections."""
    form = soup.find("form", method="post")
    shown = MultiDict()
    for field in form.find_all("input"):
        name, kind = field.get("name"), field.get("type", "text")
        if not name or kind in ("submit", "button", "hidden"):
            continue
        if kind in ("radio", "checkbox"):
            if field.has_attr("checked"):
                shown.add(name, field.get("value", "on"))
        else:
            shown.add(name, field.get("value", ""))
    for area in form.find_all("textarea"):
        shown.add(area["name"], area.get_text().removeprefix("\r\n").removeprefix("\n"))
    for choice in form.find_all("select"):
        for option in choice.find_all("option", selected=True):
            shown.add(choice["name"], option.get("value", ""))
    return shown
