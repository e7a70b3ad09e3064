"""Links for the clinic's articles: admins keep the list, coordinators and admins copy each
article's links (English, Spanish) and embed snippets from read-only boxes, and a patient who
follows a link leaves an inquiry carrying the article's UTM fields."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup

from intake.extensions import db
from intake.models import ArticleLink, Inquiry, Lead
from intake.staff.admin import article_views
from tests.conftest import complete_inquiry
from tests.factories import audit_count, last_audit
from tests.staff.conftest import QueryCounter, csrf_token, page

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
BASE = "https://inquiry.clinic.example"
UTM = {
    "utm_source": "website",
    "utm_medium": "article",
    "utm_campaign": "ms-msc-trials",
    "utm_content": "what-is-ms",
}


@pytest.fixture(autouse=True)
def _clock(monkeypatch):
    monkeypatch.setattr(article_views, "utcnow", lambda: NOW)


@pytest.fixture
def app(app_factory):
    return app_factory(INTAKE_BASE_URL=BASE)


def article_form(**changes) -> dict:
    return {
        "title": "What is MS?",
        "page_url": "https://www.clinic.example/articles/what-is-ms",
        "utm_content": "what-is-ms",
        "utm_campaign": "ms-msc-trials",
        "utm_source": "website",
        "utm_medium": "article",
        "active": "y",
        **changes,
    }


def add_article(client, **changes):
    token = csrf_token(client, "/staff/admin/articles/new")
    return client.post("/staff/admin/articles/new", data={"csrf_token": token,
                                                           **article_form(**changes)})  # fmt: skip


def boxes(response) -> dict[str, str]:
    """The read-only boxes on the links page: label -> text."""
    html = page(response)
    found = {}
    for box in html.find_all("textarea"):
        assert box.has_attr("readonly")
        found[html.find("label", attrs={"for": box["id"]}).get_text(strip=True)] = box.get_text()
    return found


def test_an_admin_adds_an_article_and_its_links_are_ready_to_copy(app, staff_client):
    admin = staff_client("admin")
    form = page(admin.get("/staff/admin/articles/new"))
    assert form.find(id="utm_source")["value"] == "website"  # the defaults
    assert form.find(id="utm_medium")["value"] == "article"
    token = csrf_token(admin, "/staff/admin/articles/new")
    before = audit_count(app)
    response = admin.post("/staff/admin/articles/new", data={"csrf_token": token,
                          **article_form(utm_content="What-Is-MS ")})  # fmt: skip
    assert response.status_code == 302 and response.headers["Location"] == "/staff/articles"
    assert audit_count(app) == before + 1 and last_audit(app).action == "articles.saved"
    with app.app_context():
        article = db.session.scalars(db.select(ArticleLink)).one()
        assert (article.utm_content, article.updated_at) == ("what-is-ms", NOW)

    shown = boxes(admin.get("/staff/articles"))
    english = urlsplit(shown["Link to the inquiry in English"])
    assert f"{english.scheme}://{english.netloc}{english.path}" == f"{BASE}/inquiry"
    assert parse_qs(english.query) == {key: [value] for key, value in UTM.items()}
    spanish = urlsplit(shown["Link to the inquiry in Spanish"])
    assert spanish.path == "/es/inquiry" and parse_qs(spanish.query) == parse_qs(english.query)
    for key, path, title in (("English", "/embed/inquiry", "Start your inquiry"),
                             ("Spanish", "/es/embed/inquiry", "Empezar su solicitud")):  # fmt: skip
        frame = BeautifulSoup(shown[f"Embed snippet, {key}"], "html.parser").iframe
        source = urlsplit(frame["src"])
        assert (source.netloc, source.path) == ("inquiry.clinic.example", path)
        assert parse_qs(source.query) == parse_qs(english.query)
        assert frame["title"] == title and int(frame["height"]) >= 300
        assert frame.get("width") is None  # "100%" is no valid width attribute: the style sets it


def test_the_links_page_reads_in_the_same_queries_and_one_audit_row_whatever_the_articles(
    app, staff_client
):
    admin = staff_client("admin")
    add_article(admin)
    with QueryCounter(app) as one:
        admin.get("/staff/articles")
    for number in range(3):
        add_article(admin, utm_content=f"article-{number}", title=f"Article {number}")
    before = audit_count(app)
    with QueryCounter(app) as four:
        response = admin.get("/staff/articles")
    assert len(page(response).find_all("textarea")) == 16
    assert audit_count(app) == before + 1 and last_audit(app).action == "articles.viewed"
    assert one.count == four.count == 4, four.statements


def test_a_coordinator_copies_links_but_cannot_change_articles(app, staff_client):
    add_article(staff_client("admin"))
    coordinator = staff_client("coordinator")
    html = page(coordinator.get("/staff/articles"))
    assert len(html.find_all("textarea")) == 4
    assert html.find("a", string="Add an article") is None
    assert not html.select('a[href^="/staff/admin/articles/"]')
    assert coordinator.get("/staff/admin/articles/new").status_code == 403


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"utm_content": "what is ms"}, "utm_content", "lower-case letters"),
        ({"utm_campaign": "ms/msc"}, "utm_campaign", "lower-case letters"),
        ({"utm_content": ""}, "utm_content", "Enter a value"),
        ({"title": ""}, "title", "Enter a title"),
        ({"page_url": "clinic page"}, "page_url", "full link"),
        ({"page_url": "javascript://clinic.example/%0Aalert(1)"}, "page_url", "full link"),
    ],
)
def test_mistakes_are_shown_beside_the_field_and_nothing_is_saved(
    app, staff_client, changes, field, message
):
    response = add_article(staff_client("admin"), **changes)
    assert response.status_code == 422
    assert message in page(response).find(id=f"{field}-error").get_text()
    assert last_audit(app).outcome == "failed"
    with app.app_context():
        assert db.session.scalars(db.select(ArticleLink)).all() == []


def test_two_articles_cannot_share_a_utm_content_and_editing_keeps_its_own(app, staff_client):
    admin = staff_client("admin")
    add_article(admin)
    response = add_article(admin, title="Another")
    assert response.status_code == 422
    assert "Another article" in page(response).find(id="utm_content-error").get_text()
    with app.app_context():
        article_id = db.session.scalars(db.select(ArticleLink.id)).one()
    url = f"/staff/admin/articles/{article_id}"
    token = csrf_token(admin, url)
    changed = article_form(title="What is MS? (2026)", active="")
    response = admin.post(url, data={"csrf_token": token, **changed})
    assert response.status_code == 302
    html = page(admin.get("/staff/articles"))
    assert "not in use" in html.h2.get_text() and html.find("textarea") is None
    assert admin.get("/staff/admin/articles/999999").status_code == 404


@pytest.mark.parametrize(
    "box", ["Link to the inquiry in English", "Link to the inquiry in Spanish"]
)
def test_a_patient_following_a_copied_link_leaves_an_inquiry_with_its_utm_fields(
    app, staff_client, box
):
    admin = staff_client("admin")
    add_article(admin)
    link = urlsplit(boxes(admin.get("/staff/articles"))[box])
    patient = app.test_client()
    response = patient.get(f"{link.path}?{link.query}")
    if response.status_code == 302:  # the Spanish address keeps the language, then the form
        response = patient.get(response.headers["Location"])
    assert response.status_code == 200
    complete_inquiry(patient)
    with app.app_context():
        inquiry = db.session.scalars(db.select(Inquiry)).one()
        lead = db.session.get(Lead, inquiry.lead_id)
        assert inquiry.status == "complete"
        assert {key: getattr(inquiry, key) for key in UTM} == UTM
        assert lead.utm_campaign == UTM["utm_campaign"]
