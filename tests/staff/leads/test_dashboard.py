"""The dashboard: figures counted by the database for the leads the user may see, drawn as
server-side SVG charts beside tables of the same numbers."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from intake.extensions import db
from intake.models import Team
from intake.models.types import utcnow
from tests.factories import audit_count, make_lead
from tests.staff.conftest import QueryCounter, page


def seed(app, *, team: str | None = None) -> None:
    """Six recent leads and one too old to count; first contacts after 1, 2 and 4 hours."""
    now = utcnow()
    created = now - timedelta(days=5)
    hours = timedelta(hours=1)
    with app.app_context():
        team_id = db.session.scalar(select(Team.id).where(Team.name == team)) if team else None
        rows = [
            dict(status="new", source="article"),
            dict(
                status="attempting_contact",
                source="article",
                sla_due_at=now - hours,
                sla_breached_at=now - hours,
            ),
            dict(status="contacted", source="search", first_contacted_at=created + hours),
            dict(
                status="consult_scheduled",
                source="article",
                first_contacted_at=created + 2 * hours,
                consult_at=now + timedelta(days=3),
                sla_due_at=now - 2 * hours,
            ),
            dict(
                status="treated",
                source=None,
                first_contacted_at=created + 4 * hours,
                consult_at=now - timedelta(days=1),
            ),
            dict(
                status="not_interested",
                source="search",
                sla_due_at=now - 3 * hours,
                sla_breached_at=now - 3 * hours,
            ),
        ]
        for fields in rows:
            make_lead(created_at=created, team_id=team_id, **fields)
        make_lead(created_at=now - timedelta(days=200), status="treated", source="article")
        db.session.commit()


def cell(html, row_id: str, column: int = 0) -> str:
    return html.find(id=row_id).find_all("td")[column].get_text(strip=True)


def test_the_dashboard_counts_leads_by_status_source_and_funnel_stage(app, staff_client):
    client = staff_client("admin")
    seed(app)
    before = audit_count(app)
    response = client.get("/staff/dashboard")
    assert response.status_code == 200
    assert audit_count(app) == before + 1 and audit_count(app, action="dashboard.viewed") == 1
    html = page(response)
    assert html.find(id="new-leads").get_text() == "6"
    assert cell(html, "status-new") == "1" and cell(html, "status-treated") == "1"
    assert html.find(id="status-merged") is None
    sources = {
        row.th.get_text(): row.td.get_text()
        for row in html.find("caption", string=lambda s: s and "heard" in s)
        .find_parent("table")
        .tbody("tr")
    }
    # Sources read as the questionnaire's options, never as their codes.
    assert sources == {
        "An article on our website": "3",
        "Searching online": "2",
        "(not given)": "1",
    }
    funnel = {
        key: (cell(html, f"funnel-{key}"), cell(html, f"funnel-{key}", 1))
        for key in ("new_leads", "contacted", "consult_scheduled", "treated")
    }
    assert funnel == {
        "new_leads": ("6", "100.0 %"),
        "contacted": ("3", "50.0 %"),
        "consult_scheduled": ("2", "33.3 %"),
        "treated": ("1", "16.7 %"),
    }
    assert html.find(id="median-first-contact").get_text() == "2 h 0 min"
    assert html.find(id="sla-breaches").get_text() == "2 of 3 due"


def test_a_longer_period_counts_older_leads_too(app, staff_client):
    client = staff_client("admin")
    seed(app)
    html = page(client.get("/staff/dashboard", query_string={"days": 365}))
    assert html.find(id="new-leads").get_text() == "7"
    assert (
        page(client.get("/staff/dashboard", query_string={"days": 7})).find(
            "option", selected=True
        )["value"]
        == "90"
    )


def test_charts_are_svg_with_names_and_sized_by_attributes_only(app, staff_client):
    client = staff_client("admin")
    seed(app)
    html = page(client.get("/staff/dashboard"))
    charts = html.select("svg.bar-chart")
    assert len(charts) == 3
    for chart in charts:
        assert chart["role"] == "img"
        assert html.find(id=chart["aria-labelledby"]).name == "title"
    funnel = charts[0]
    widths = [int(rect["width"]) for rect in funnel.find_all("rect")]
    assert widths == [300, 150, 100, 50]  # scaled to the largest bar
    assert "Contacted 3" in funnel.title.get_text()
    assert not html.select("[style]") and not html.find("script")


def test_a_coordinator_sees_figures_for_their_own_scope_only(app, make_staff, sign_in):
    north = sign_in(app.test_client(), make_staff("coordinator", team="North"))
    south = sign_in(app.test_client(), make_staff("coordinator", team="South"))
    seed(app, team="South")
    assert page(south.get("/staff/dashboard")).find(id="new-leads").get_text() == "6"
    html = page(north.get("/staff/dashboard"))
    assert html.find(id="new-leads").get_text() == "0"
    assert "cover the leads you can see" in html.get_text()


def test_the_dashboard_needs_a_handful_of_queries_whatever_the_number_of_leads(app, staff_client):
    client = staff_client("admin")
    seed(app)
    with QueryCounter(app) as few:
        client.get("/staff/dashboard")
    seed(app)
    seed(app)
    with QueryCounter(app) as many:
        client.get("/staff/dashboard")
    assert few.count == many.count == 10, few.statements
