"""Cadence settings with email previews, and questionnaire versions with re-evaluation."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from sqlalchemy import func, select

from intake.demo.seed import add_demo_leads
from intake.extensions import db
from intake.models import AuditEvent, EligibilityResult, Lead
from intake.models.types import utcnow
from intake.questionnaire.definition import Rule
from tests.factories import audit_count
from tests.staff.conftest import csrf_token, page

SANDBOX = (
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def test_the_cadence_page_documents_each_cadence_and_previews_every_email(app, staff_client):
    client = staff_client("admin")
    before = audit_count(app)
    response = client.get("/staff/admin/cadences")
    assert response.status_code == 200 and audit_count(app) == before + 1
    html = page(response)
    table = html.find("table").get_text(" ", strip=True)
    for words in (
        "Confirmation email",
        "Resume reminder email",
        "Nurture email",
        "1 h, 1 day, 3 days",
        "follow-up emails",
        "the lead is closed",
        "08:00–20:00",
    ):
        assert words in table
    texts = [pre.get_text() for pre in html.select("pre.mail-text")]
    # confirmation, 2 resume emails, 4 nurture, 5 consult emails, 9 to staff (tasks included)
    assert len(texts) == 1 + 1 + 1 + 4 + 5 + 9
    assert all("Sample" in text for text in texts)
    assert "SAMPLE-TOKEN" in texts[1]  # the resume link is made up too
    headings = [h3.get_text(" ", strip=True) for h3 in html.select("section.panel h3")]
    for heading in ("Consult confirmation email", "Consult new-time email",
                    "Consult cancellation email", "Consult reminder email",
                    "Invitation to book again", "Consult booking notice to the owner"):  # fmt: skip
        assert heading in headings
    links = [a["href"] for a in html.find_all("a", href=True) if a["href"].endswith(".html")]
    assert "/staff/admin/cadences/preview/nurture/3.html" in links
    assert not html.find("iframe")


def test_the_html_preview_is_served_on_its_own_inside_a_sandbox(app, staff_client):
    client = staff_client("admin")
    before = audit_count(app)
    response = client.get("/staff/admin/cadences/preview/resume_reminder/1.html")
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == SANDBOX
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_data(as_text=True)
    assert "Hello Sample" in body and "https://clinic.example/inquiry/resume/SAMPLE-TOKEN" in body
    assert audit_count(app) == before + 1
    assert client.get("/staff/admin/cadences/preview/unknown/1.html").status_code == 404
    assert client.get("/staff/admin/cadences/preview/nurture/9.html").status_code == 404


def test_a_patient_email_is_previewed_in_spanish_when_asked_and_a_staff_email_stays_english(
    staff_client,
):
    client = staff_client("admin")
    english = page(client.get("/staff/admin/cadences/preview/confirmation/1.html"))
    spanish = page(client.get("/staff/admin/cadences/preview/confirmation/1.html?lang=es"))
    staff = page(client.get("/staff/admin/cadences/preview/sla_reminder/1.html?lang=es"))

    assert english.html["lang"] == "en" and english.p.get_text() == "Hello Sample,"
    assert spanish.html["lang"] == "es" and spanish.p.get_text() == "Hola, Sample:"
    assert spanish.title.get_text() == "Hemos recibido su solicitud"
    assert staff.html["lang"] == "en" and "Hola" not in staff.get_text()
    cadences = page(client.get("/staff/admin/cadences"))
    spanish_links = {a["href"] for a in cadences.select('a[hreflang="es"]')}
    assert "/staff/admin/cadences/preview/confirmation/1.html?lang=es" in spanish_links
    assert not any("sla_reminder" in href for href in spanish_links)  # staff emails: English


def test_the_consult_emails_are_previewed_with_a_made_up_consult_in_english_and_spanish(
    staff_client,
):
    """Each consult email, filled in by the worker's own code from a made-up video call with
    "Sample Host": when, how long, the video link, and the made-up link to move or cancel it (or,
    after a cancellation or a missed consult, to choose a new time); the .ics is not shown."""
    client = staff_client("admin")
    url = "/staff/admin/cadences/preview/{}/1.html"
    shown = {}
    for template in ("consult_confirmation", "consult_update", "consult_cancellation",
                     "consult_reminder", "consult_rebook"):  # fmt: skip
        english = client.get(url.format(template))
        spanish = client.get(url.format(template) + "?lang=es")
        assert english.status_code == 200 and spanish.status_code == 200, template
        # the words as read, and the page's markup (links are in the anchors' targets)
        words = page(english).get_text(" ") + english.get_data(as_text=True)
        shown[template] = (words, page(spanish))
    confirmation = shown["consult_confirmation"][0]
    assert "Hello Sample," in confirmation
    assert "Tuesday, March 10, 2026 at 11:00" in confirmation  # 15:00 UTC in New York
    assert "30 minutes" in confirmation and "You will talk with Sample." in confirmation
    assert "https://clinic.example/video/SAMPLE-ROOM" in confirmation
    assert "https://clinic.example/consult/SAMPLE-TOKEN?lang=en" in confirmation
    for template in ("consult_update", "consult_reminder"):
        assert "consult/SAMPLE-TOKEN?lang=en" in shown[template][0]
    assert "cancelled" in shown["consult_cancellation"][0]
    assert "choose a new time" in shown["consult_rebook"][0]
    assert "consult/SAMPLE-TOKEN?lang=en" in shown["consult_rebook"][0]
    spanish = shown["consult_confirmation"][1]
    assert spanish.html["lang"] == "es" and spanish.p.get_text() == "Hola, Sample:"
    assert "martes, 10 de marzo de 2026" in spanish.get_text(" ")
    assert "consult/SAMPLE-TOKEN?lang=es" in str(spanish)
    notice = page(client.get(url.format("staff_consult") + "?lang=es"))
    assert notice.html["lang"] == "en" and "https://clinic.example/staff/leads/0" in str(notice)


def seed_completed_inquiries(app, now) -> list[int]:
    with app.app_context():
        add_demo_leads(now=now, count=8)
        db.session.commit()
        return list(
            db.session.scalars(
                select(EligibilityResult.lead_id).order_by(EligibilityResult.lead_id)
            )
        )


def test_the_questionnaire_page_counts_results_per_rule_set_version(app, staff_client):
    client = staff_client("admin")
    lead_ids = seed_completed_inquiries(app, utcnow() - timedelta(days=1))
    assert lead_ids  # the demo completes most of its inquiries
    html = page(client.get("/staff/admin/questionnaire"))
    ruleset = app.extensions["intake.definition"].ruleset
    assert html.find(id="ruleset-version").get_text() == ruleset.version
    row = html.find(
        "th", string=lambda text: text and text.startswith(ruleset.version)
    ).find_parent("tr")
    assert row.find_all("td")[-1].get_text() == str(len(lead_ids))
    assert html.find(id="outdated-count").get_text() == "0"


def test_re_evaluation_applies_changed_rules_to_older_results(app, staff_client):
    client = staff_client("admin")
    lead_ids = seed_completed_inquiries(app, utcnow() - timedelta(days=1))
    definition = app.extensions["intake.definition"]
    everyone = Rule(
        id="travel_review",
        when={"question": "able_to_travel", "operator": "=", "answer": "yes"},
        outcome="needs_review",
        reason="Review every traveller.",
        patient_message="review",
        category="health_review",
    )
    app.extensions["intake.definition"] = dataclasses.replace(
        definition,
        ruleset=dataclasses.replace(definition.ruleset, version="test-2", rules=(everyone,)),
    )
    assert page(client.get("/staff/admin/questionnaire")).find(
        id="outdated-count"
    ).get_text() == str(len(lead_ids))
    token = csrf_token(client)
    before = audit_count(app)
    response = client.post("/staff/admin/questionnaire/reevaluate", data={"csrf_token": token})
    assert response.status_code == 302
    assert audit_count(app) == before + 1
    with app.app_context():
        row = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
        assert row.action == "eligibility.reevaluated"
        assert row.detail["count"] == len(lead_ids) and row.detail["remaining"] == 0
        assert row.lead_ids == sorted(lead_ids)
        outcomes = db.session.scalars(select(Lead.eligibility_outcome).where(Lead.id.in_(lead_ids)))
        assert set(outcomes) == {"needs_review"}
        versions = dict(
            db.session.execute(
                select(EligibilityResult.ruleset_version, func.count()).group_by(
                    EligibilityResult.ruleset_version
                )
            ).all()
        )
        done = len(lead_ids)
        assert versions == {definition.ruleset.version: done, "test-2": done}  # old ones: history
    # Nothing is left to do: a second press changes nothing.
    client.post("/staff/admin/questionnaire/reevaluate", data={"csrf_token": token})
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(EligibilityResult)) == 2 * done


def test_an_admin_changes_a_cadence_and_the_next_plans_follow_it(app, staff_client):
    from intake.messaging.cadence_settings import effective_cadences

    admin = staff_client("admin")
    response = admin.post(
        "/staff/admin/cadences/nurture",
        data={
            "nurture-csrf_token": csrf_token(admin, "/staff/admin/cadences"),
            "nurture-steps": "2d, 6d",
            "nurture-quiet_hours": "y",
        },
    )
    assert response.status_code == 303
    with app.app_context():
        nurture = effective_cadences()["nurture"]
        assert (nurture.enabled, nurture.step_texts) == (False, ("2d", "6d"))
    shown = page(admin.get("/staff/admin/cadences"))
    row = shown.find("th", string="Nurture email").parent
    assert "switched off" in row.get_text()
    assert audit_count(app, action="cadence.saved", outcome="ok") == 1


def test_a_cadence_change_that_cannot_work_is_explained_next_to_the_field_and_kept(
    app, staff_client
):
    admin = staff_client("admin")
    response = admin.post(
        "/staff/admin/cadences/resume_reminder",
        data={
            "resume_reminder-csrf_token": csrf_token(admin, "/staff/admin/cadences"),
            "resume_reminder-enabled": "y",
            "resume_reminder-steps": "24h, 1h",
        },
    )
    assert response.status_code == 422
    field = page(response).find(id="resume_reminder-steps")
    assert field["value"] == "24h, 1h"
    assert "resume_reminder-steps-error" in field["aria-describedby"]
    error = page(response).find(id="resume_reminder-steps-error").get_text()
    assert "increasing order" in error
    assert audit_count(app, action="cadence.saved", outcome="failed") == 1

    reset = admin.post(
        "/staff/admin/cadences/resume_reminder/reset",
        data={"csrf_token": csrf_token(admin, "/staff/admin/cadences")},
    )
    assert reset.status_code == 303
    assert audit_count(app, action="cadence.reset") == 1
