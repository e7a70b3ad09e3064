"""What staff pages show of times and codes (issue 10, item 6): every time in the reader's own
time zone, with the zone named, and words, never stored codes, on every main staff page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from intake.extensions import db, encryption
from intake.messaging.sends import schedule_send
from intake.models import EligibilityResult, LeadEvent, RoutingRule, Send, Team
from tests.conftest import page
from tests.factories import NOW, make_inquiry, make_lead

# A stored code: lowercase words joined by underscores ("consult_scheduled", "round_robin").
CODE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")
SHOWN_CODES = {
    "patient_group", "consult_scheduled", "someone_else", "not_sure", "needs_review",
    "round_robin", "call_back_requested", "status_changed", "follow_up_emails",
}  # fmt: skip


def visible_text(response) -> str:
    """The words a reader sees: no markup, scripts or <code> (which shows code on purpose)."""
    soup = page(response)
    for hidden in soup(["script", "style", "code", "title"]):
        hidden.decompose()
    return " ".join(soup.get_text(" ").split())


@pytest.fixture
def coded_lead(app, make_staff):
    """A lead whose every field and timeline entry is a code that has a label."""
    owner = make_staff("coordinator", team="South")
    with app.app_context():
        team = db.session.scalar(select(Team).where(Team.name == "South"))
        team.strategy = "round_robin"
        db.session.add(RoutingRule(name="South", priority=1, team_id=team.id,
                                   conditions={"eligibility_outcome": ["needs_review"],
                                               "source": ["patient_group"]}))  # fmt: skip
        lead = make_lead(
            filled_by="someone_else", source="patient_group", status="consult_scheduled",
            preferred_contact_method="phone", preferred_contact_time="any",
            time_zone_source="phone", ms_type="not_sure", eligibility_outcome="needs_review",
            owner_id=owner, team_id=team.id, first_contacted_at=NOW, consult_at=NOW,
        )  # fmt: skip
        inquiry = make_inquiry(lead, status="complete")
        result = EligibilityResult(inquiry_id=inquiry.id, lead_id=lead.id, outcome="needs_review",
                                   ruleset_id="ms-eligibility", ruleset_version="2026.11.1",
                                   patient_message="review")  # fmt: skip
        result.triggered_sealed = encryption.keyring.seal_json(
            [{"id": "not_diagnosed", "outcome": "needs_review", "reason": "Not sure.",
              "category": "Diagnosis not confirmed"}], context=result.triggered_context,
        )  # fmt: skip
        db.session.add(result)
        for kind, data in (
            ("call", {"outcome": "call_back_requested"}),
            ("status_changed", {"from": "contacted", "to": "consult_scheduled"}),
            ("consult_scheduled", {"at": NOW.isoformat()}),
        ):
            db.session.add(LeadEvent(lead_id=lead.id, kind=kind, at=NOW, data=data))
        schedule_send(key=f"{lead.id}:nurture:1", cadence="nurture", template="nurture", step=1,
                      due_at=NOW + timedelta(days=1), now=NOW, lead_id=lead.id)  # fmt: skip
        db.session.add(Send(key=f"{lead.id}:sla", lead_id=lead.id, cadence="sla_reminder",
                            template="sla_reminder", status="dead", due_at=NOW, attempts=6,
                            finished_reason="gave_up"))  # fmt: skip
        db.session.commit()
        return lead.id


def test_staff_pages_show_words_never_stored_codes(app, staff_client, coded_lead):
    admin = staff_client("admin")
    pages = [
        f"/staff/leads/{coded_lead}", "/staff/?view=all", "/staff/?view=all&status=new",
        "/staff/dashboard", "/staff/account", "/staff/admin/", "/staff/admin/staff",
        "/staff/admin/teams", "/staff/admin/rules", "/staff/admin/cadences",
        "/staff/admin/mail/dead", "/staff/admin/retention", "/staff/admin/audit",
        "/staff/admin/questionnaire",
    ]  # fmt: skip
    lead_page = visible_text(admin.get(pages[0]))

    for url in pages:
        response = admin.get(url)
        assert response.status_code == 200, url
        assert CODE.findall(visible_text(response)) == [], url
    for words in ("An MS patient group", "Consult scheduled", "Someone else, for the patient",
                  "Phone call, any time", "from their phone number", "Call: call back requested",
                  "Needs clinical review"):  # fmt: skip
        assert words in lead_page, words
    assert not SHOWN_CODES & set(lead_page.split())


def test_select_options_read_as_words_too(staff_client, coded_lead):
    html = page(staff_client("admin").get("/staff/?view=all"))

    options = [option.get_text(strip=True) for option in html.find_all("option")]
    options += [label.get_text(strip=True) for label in html.select(".status-choice label")]
    assert [text for text in options if CODE.search(text)] == []
    assert "Consult scheduled" in options and "Needs clinical review" in options


@pytest.mark.parametrize(
    ("zone", "shown"),
    [
        ("America/Los_Angeles", "Tue 3 Mar 2026, 06:00 PST"),
        ("Europe/Paris", "Tue 3 Mar 2026, 15:00 CET"),
        ("Asia/Tokyo", "Tue 3 Mar 2026, 23:00 JST"),
    ],
)
def test_each_reader_sees_the_leads_times_in_their_own_zone_named(app, staff_client, zone, shown):
    with app.app_context():
        lead = make_lead(first_contacted_at=NOW, status="contacted")
        make_inquiry(lead, status="complete")
        db.session.commit()
        lead_id = lead.id
    client = staff_client("coordinator", time_zone=zone)

    response = client.get(f"/staff/leads/{lead_id}")
    lead_page, times = visible_text(response), page(response).select(".lead-timeline time")
    queue = visible_text(client.get("/staff/?view=all"))

    assert f"made {shown}" in lead_page  # first contact
    assert f"Times are in your time zone ({zone})" in lead_page
    assert shown in {time.get_text() for time in times}  # the inquiry, the first contact
    assert all(time.get_text().endswith(shown[-4:]) for time in times)  # every one zone-named
    assert shown in queue  # created
    assert zone in visible_text(client.get("/staff/account"))


def test_no_staff_template_writes_a_time_by_hand():
    # One format: every staff template writes times through local_time / local_date.
    from pathlib import Path

    templates = Path(__file__).parents[2] / "templates" / "staff"
    by_hand = [
        str(path.relative_to(templates))
        for path in templates.rglob("*.html")
        if "strftime" in path.read_text() or "astimezone" in path.read_text()
    ]
    assert by_hand == []
