"""The message template pages: the list, one template's page with its preview (with and without
script), saving a version, a refused health placeholder that keeps what was typed, the versions,
and Spanish; every view, preview and save audited once."""

from __future__ import annotations

from sqlalchemy import func, select

from intake.conversations.templates import current
from intake.extensions import db
from intake.models import AuditEvent, MessageTemplate
from tests.factories import audit_count, last_audit
from tests.staff.conftest import csrf_token, page

EDIT = "/staff/admin/templates/first_reply/email/en"
TEXT = "/staff/admin/templates/could_not_reach/text/es"
TYPED = "Hello {{ first_name }}, this is {{ staff_first_name }}. Call us back?"


def versions(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(MessageTemplate.id)))


def post(client, url, **data):
    return client.post(url, data={"csrf_token": csrf_token(client, EDIT), **data})


def test_the_list_shows_every_template_with_its_version_and_who_changed_it(app, staff_client):
    client = staff_client("admin", name="Grace Hopper")
    before = audit_count(app)
    html = page(client.get("/staff/admin/templates"))
    assert audit_count(app) == before + 1
    rows = html.select("table.data tbody tr")
    assert len(rows) == 5 * 2 * 2  # keys × channels × languages
    assert "/staff/admin/templates/consult_invitation/text/es" in {
        a["href"] for a in html.select("tbody a")
    }
    assert all("0 (built-in)" in row.get_text() for row in rows)
    post(client, EDIT, action="save", subject="Hello from {{ clinic_name }}", body=TYPED)
    row = page(client.get("/staff/admin/templates")).select("table.data tbody tr")[0]
    cells = [cell.get_text(" ", strip=True) for cell in row.find_all(["th", "td"])]
    assert cells[0].startswith("First reply") and cells[1:4] == ["Email", "English", "1"]
    assert cells[5] == "Grace Hopper"


def test_the_page_shows_the_words_in_force_and_what_the_patient_receives(app, staff_client):
    client = staff_client("admin")
    before = audit_count(app)
    response = client.get(EDIT)
    assert response.status_code == 200 and audit_count(app) == before + 1
    html = page(response)
    assert (
        html.find("textarea", {"name": "body"})
        .get_text()
        .lstrip()
        .startswith("Hello {{ first_name }},")
    )
    assert html.find("input", {"name": "subject"})["value"] == "Thank you for your inquiry"
    assert html.find(id="preview-subject").get_text() == "Thank you for your inquiry"
    body = html.find(id="preview-body").get_text()
    assert body.startswith("Hello Sample,") and "My name is Sample" in body
    assert "http://127.0.0.1:5000/privacy?lang=en" in body
    (script,) = html.find_all("script")
    assert script["src"] == "/static/template_preview.js" and not script.string
    assert html.find("form", id="template-form")["data-preview-url"] == f"{EDIT}/preview"
    assert [row.th.get_text(" ", strip=True) for row in html.select("table.data tbody tr")] == [
        "Version 0 (in use) (built-in)"
    ]


def test_the_preview_button_shows_what_was_typed_and_saves_nothing(app, staff_client):
    client = staff_client("admin")
    before = audit_count(app, action="template.previewed")
    response = post(client, EDIT, action="preview", subject="Hi {{ first_name }}", body=TYPED)
    assert response.status_code == 200 and versions(app) == 0
    assert audit_count(app, action="template.previewed") == before + 1
    html = page(response)
    assert html.find("textarea", {"name": "body"}).get_text().strip() == TYPED
    assert html.find(id="preview-subject").get_text() == "Hi Sample"
    assert html.find(id="preview-body").get_text() == (
        "Hello Sample, this is Sample. Call us back?\n"
    )
    assert not html.select(".error-message")


def test_the_live_preview_answers_the_preview_alone_and_saves_nothing(app, staff_client):
    client = staff_client("admin")
    before = audit_count(app, action="template.previewed")
    response = post(client, f"{TEXT}/preview", body="Hola, {{ first_name }}. ¿Cuándo le llamo?")
    assert response.status_code == 200 and versions(app) == 0
    assert audit_count(app, action="template.previewed") == before + 1
    html = page(response)
    assert not html.find("html") and not html.find("form")
    assert html.find(id="preview-body").get_text() == "Hola, Sample. ¿Cuándo le llamo?"
    assert html.find(id="preview-body")["lang"] == "es"
    assert html.find(id="preview-segments").get_text() == "1 part (31 characters, UCS-2)"
    refused = page(post(client, f"{TEXT}/preview", body="{{ edss }}"))
    assert refused.find(id="preview-body") is None
    assert "No preview until every placeholder can be filled in" in refused.get_text()


def test_saving_adds_a_version_in_force_and_one_audit_row(app, staff_client):
    client = staff_client("admin")
    before = audit_count(app)
    response = post(client, EDIT, action="save", subject="Hello from {{ clinic_name }}", body=TYPED)
    assert response.status_code == 303 and response.headers["Location"].endswith(EDIT)
    assert audit_count(app) == before + 2  # the page the token came from, then the save
    saved = last_audit(app)
    assert (saved.action, saved.target, saved.detail, saved.outcome) == (
        "template.saved",
        "message_template:first_reply/email/en",
        {"version": 1},
        "ok",
    )
    with app.app_context():
        in_force = current("first_reply", "email", "en")
    assert (in_force.version, in_force.subject, in_force.body) == (
        1,
        "Hello from {{ clinic_name }}",
        TYPED + "\n",
    )
    html = page(client.get(EDIT))
    assert "Version 1 is saved and in use from now on." in html.get_text()
    assert "Version 1 is in use." in html.get_text()
    assert len(html.select("table.data tbody tr")) == 2


def test_a_health_placeholder_is_refused_next_to_its_field_keeping_what_was_typed(
    app, staff_client
):
    client = staff_client("admin")
    typed = "Hello {{ first_name }}, about your {{ ms_type }}:\nwe will call."
    response = post(client, EDIT, action="save", subject="Your {{ mobility }}", body=typed)
    assert response.status_code == 422 and versions(app) == 0
    failed = last_audit(app)
    assert (failed.action, failed.outcome) == ("template.saved", "failed")
    html = page(response)
    assert html.find("textarea", {"name": "body"}).get_text().strip() == typed
    assert html.find("input", {"name": "subject"})["value"] == "Your {{ mobility }}"
    assert html.find(id="body-error").get_text(" ", strip=True) == (
        "Error: {{ ms_type }} is a health answer. Templates cannot include health information."
    )
    assert "{{ mobility }} is a health answer." in html.find(id="subject-error").get_text()
    assert html.find("textarea")["aria-invalid"] == "true"
    assert html.select_one(".error-summary a")["href"] == "#subject"
    assert html.title.get_text().startswith("Error:")


def test_a_spanish_text_is_edited_and_saved_in_spanish(app, staff_client):
    client = staff_client("admin")
    html = page(client.get(TEXT))
    assert html.find("input", {"name": "subject"}) is None  # a text has no subject
    assert html.find("textarea")["lang"] == "es"
    assert html.find("textarea").get_text().strip().startswith("Hola, {{ first_name }}. Soy")
    assert "2 parts" in html.find(id="preview-segments").get_text()
    body = "Hola, {{ first_name }}. Le he llamado. ¿Le llamo mañana? Responda aquí."
    assert post(client, TEXT, action="save", body=body).status_code == 303
    with app.app_context():
        assert current("could_not_reach", "text", "es").body == body
        assert current("could_not_reach", "text", "en").version == 0


def test_each_version_can_be_read_and_a_new_one_started_from_it(app, staff_client):
    client = staff_client("admin")
    post(client, EDIT, action="save", subject="Hi", body=TYPED)
    before = audit_count(app, action="admin.viewed")
    old = page(client.get(f"{EDIT}/versions/0"))
    assert audit_count(app, action="admin.viewed") == before + 1
    assert "Thank you for getting in touch" in old.select("pre.mail-text")[0].get_text()
    assert old.find(id="preview-body").get_text().startswith("Hello Sample,")
    restore = old.find("a", string="Start a new version from this one")["href"]
    assert restore == f"{EDIT}?from=0"
    form = page(client.get(restore))
    assert form.find("input", {"name": "subject"})["value"] == "Thank you for your inquiry"
    for nonsense in ("99", str(2**63), "-1", "x"):  # no such version: the one in use
        form = page(client.get(f"{EDIT}?from={nonsense}"))
        assert form.find("input", {"name": "subject"})["value"] == "Hi"
    new = page(client.get(f"{EDIT}/versions/1"))
    assert new.select("pre.mail-text")[0].get_text() == TYPED + "\n"
    assert new.find("a", string="Start a new version from this one") is None  # in use
    assert client.get(f"{EDIT}/versions/7").status_code == 404
    assert client.get("/staff/admin/templates/nonsense/email/en").status_code == 404
    assert client.get("/staff/admin/templates/first_reply/fax/en").status_code == 404
    with app.app_context():
        denied = db.session.scalar(
            select(func.count(AuditEvent.seq)).where(AuditEvent.action == "access.denied")
        )
    assert denied == 2  # the unknown key and the missing version; "fax" matches no route


def test_a_coordinator_cannot_open_or_change_templates(app, staff_client):
    client = staff_client("coordinator")
    assert client.get("/staff/admin/templates").status_code == 403
    token = csrf_token(client, "/staff/")
    response = client.post(EDIT, data={"csrf_token": token, "action": "save", "body": TYPED})
    assert response.status_code == 403 and versions(app) == 0
