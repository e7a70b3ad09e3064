"""The embeddable start of the inquiry (/embed/inquiry, /es/embed/inquiry): a small panel that
only INTAKE_EMBED_ORIGINS may frame, collecting nothing, whose button opens the full form in
the top window carrying the UTM fields and nothing else."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from intake.config import ConfigError, load_config
from intake.extensions import db
from intake.models import Inquiry, Lead
from tests.conftest import complete_inquiry, page
from tests.security.test_headers import parse_csp

UTM = {
    "utm_source": "website",
    "utm_medium": "article",
    "utm_campaign": "ms-msc-trials",
    "utm_content": "what-is-ms",
}
ORIGINS = ("https://www.clinic.example", "http://127.0.0.1:8001")


def start_link(response):
    return page(response).find("a", class_="embed-start")


def stored(app):
    with app.app_context():
        inquiry = db.session.scalars(db.select(Inquiry)).one()
        lead = db.session.get(Lead, inquiry.lead_id)
        return inquiry, lead


def test_the_panel_hands_over_to_the_full_form_in_the_top_window_with_the_utm_fields_only(client):
    query = {**UTM, "first_name": "Ada", "email": "ada@example.org", "other": "x"}
    response = client.get("/embed/inquiry", query_string=query)

    assert response.status_code == 200
    html = page(response)
    assert html.html["lang"] == "en" and html.h1.get_text()
    assert html.find("form") is None and html.find("input") is None  # it collects nothing
    link = start_link(response)
    assert link.get_text(strip=True) == "Start your inquiry" and link["target"] == "_top"
    href = urlsplit(link["href"])
    assert href.path == "/en/inquiry"
    assert parse_qs(href.query) == {key: [value] for key, value in UTM.items()}
    assert "Set-Cookie" not in response.headers  # a frame on another site keeps no session


def test_the_spanish_panel_speaks_spanish_and_switches_language_keeping_the_fields(client):
    response = client.get("/es/embed/inquiry", query_string=UTM)

    html = page(response)
    assert html.html["lang"] == "es"
    assert start_link(response).get_text(strip=True) == "Empezar su solicitud"
    assert urlsplit(start_link(response)["href"]).path == "/es/inquiry"
    switch = html.find("nav", class_="embed-language").a
    assert switch["lang"] == "en" and switch.get("target") is None  # stays in the frame
    english = urlsplit(switch["href"])
    assert english.path == "/en/embed/inquiry"
    assert parse_qs(english.query) == {key: [value] for key, value in UTM.items()}
    assert page(client.get(switch["href"])).html["lang"] == "en"


def test_a_clean_panel_without_fields_links_to_the_plain_form(client):
    link = start_link(client.get("/embed/inquiry", query_string={"utm_source": " \x00 "}))
    assert link["href"] == "/en/inquiry"


@pytest.mark.parametrize("start", ["/embed/inquiry", "/es/embed/inquiry"])
def test_the_hand_over_is_captured_on_the_inquiry_the_patient_completes(app, client, start):
    href = start_link(client.get(start, query_string=UTM))["href"]
    landed = client.get(href)  # the top window, on our own site: the session works there
    assert landed.status_code == 302
    client.get(landed.headers["Location"])
    complete_inquiry(client)

    inquiry, lead = stored(app)
    assert inquiry.status == "complete"
    assert {key: getattr(inquiry, key) for key in UTM} == UTM
    assert lead.utm_campaign == "ms-msc-trials"
    assert inquiry.language == ("es" if start.startswith("/es") else "en")


def test_without_embed_origins_no_page_may_frame_the_panel(client):
    response = client.get("/embed/inquiry")
    assert parse_csp(response.headers["Content-Security-Policy"])["frame-ancestors"] == ["'none'"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_embed_origins_may_frame_the_panel_and_nothing_else(app_factory):
    client = app_factory(INTAKE_EMBED_ORIGINS=ORIGINS).test_client()
    for url in ("/embed/inquiry", "/es/embed/inquiry", "/en/embed/inquiry?utm_source=x"):
        response = client.get(url)
        policy = parse_csp(response.headers["Content-Security-Policy"])
        assert policy["frame-ancestors"] == list(ORIGINS), url
        assert policy["script-src"] == ["'self'"] and policy["object-src"] == ["'none'"]
        assert "X-Frame-Options" not in response.headers, url
    for url in ("/inquiry", "/privacy", "/staff/login", "/embed/nothing"):
        response = client.get(url)
        policy = parse_csp(response.headers["Content-Security-Policy"])
        assert policy["frame-ancestors"] == ["'none'"], url
        assert response.headers["X-Frame-Options"] == "DENY", url


def test_embed_origins_are_read_as_origins(monkeypatch, tmp_path):
    monkeypatch.setenv("INTAKE_EMBED_ORIGINS", "https://WWW.Clinic.example, http://127.0.0.1:8001")
    config = load_config(tmp_path, "testing")
    assert config["INTAKE_EMBED_ORIGINS"] == ("https://www.clinic.example", "http://127.0.0.1:8001")


@pytest.mark.parametrize(
    "entry",
    [
        "www.clinic.example",
        "https://www.clinic.example/",
        "https://www.clinic.example/articles",
        "https://*.clinic.example",
        "ftp://clinic.example",
        "https://user@clinic.example",
        "https://clinic.example:99999",
        "'self'",
    ],
)
def test_a_setting_that_is_not_an_origin_stops_the_app_naming_it(monkeypatch, tmp_path, entry):
    monkeypatch.setenv("INTAKE_EMBED_ORIGINS", f"https://ok.example {entry}")
    with pytest.raises(ConfigError, match="INTAKE_EMBED_ORIGINS") as error:
        load_config(tmp_path, "testing")
    assert repr(entry) in str(error.value)
