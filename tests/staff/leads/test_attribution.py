"""Attribution on the dashboard: leads by article, campaign and source (the patient's own "how
did you hear" answer where the link named no source, marked as such), the stages they reached
with rates, and a weekly trend; grouped by the database, in the user's lead scope."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from intake.extensions import db
from intake.models import ArticleLink, Consult, Team
from intake.staff.leads import dashboard_views
from intake.staff.queries.attribution import StageCounts, attribution_figures, week_starts
from tests.consults.factories import make_consult_type
from tests.factories import NOW, audit_count, make_inquiry, make_lead, make_staff
from tests.staff.conftest import QueryCounter, page

DAY = timedelta(days=1)
ARTICLE = {"utm_source": "website", "utm_medium": "article", "utm_campaign": "ms-msc",
           "utm_content": "what-is-ms"}  # fmt: skip
TRIALS = {"utm_source": "newsletter", "utm_campaign": "ms-msc", "utm_content": "msc-trials"}
CONTACTED = {"first_contacted_at": NOW - DAY / 2}


def lead(utm=None, *, inquiry="complete", created=NOW - DAY, team_id=None, **fields):
    """A lead whose first inquiry came through ``utm`` (a later one through another link)."""
    utm = utm or {}
    row = make_lead(created_at=created, utm_campaign=utm.get("utm_campaign"), team_id=team_id,
                    incomplete=inquiry != "complete", **fields)  # fmt: skip
    if inquiry is not None:
        make_inquiry(row, status=inquiry, **utm)
        make_inquiry(row, status="draft", utm_source="later", utm_content="later")
    return row


def seed(app, *, team: str | None = None) -> None:
    with app.app_context():
        team_id = None
        if team is not None:
            make_staff("coordinator", team=team)
            team_id = db.session.scalar(select(Team.id).where(Team.name == team))
        host = make_staff("clinician")
        kind = make_consult_type(hosts=[host.id])
        if db.session.scalar(select(ArticleLink.id)) is None:
            db.session.add(ArticleLink(title="What is MS?", utm_content="what-is-ms",
                                       utm_campaign="ms-msc"))  # fmt: skip
        at = {"team_id": team_id}
        lead(ARTICLE, status="consult_done", eligibility_outcome="no_exclusion_found",
             **CONTACTED, **at)  # fmt: skip
        lead(ARTICLE, status="not_eligible", eligibility_outcome="not_eligible", **at)
        lead(ARTICLE, inquiry="draft", created=NOW - 7 * DAY, **at)
        booked = lead(TRIALS, status="contacted", eligibility_outcome="needs_review", **at)
        starts = NOW + 2 * DAY
        db.session.add(Consult(uid=f"a{booked.id}@test", lead_id=booked.id, status="cancelled",
                               consult_type_id=kind.id, staff_user_id=host.id,
                               starts_at=starts, ends_at=starts + DAY / 48))  # fmt: skip
        lead(source="search", status="attempting_contact",
             eligibility_outcome="no_exclusion_found", **at)  # fmt: skip
        lead(inquiry=None, **at)  # no inquiry yet, no source given
        lead(ARTICLE, status="merged", **at)  # counted with the lead it joined
        lead(ARTICLE, created=NOW - 200 * DAY, **at)  # before the period
        db.session.commit()


def figures(app, days=90):
    with app.app_context():
        return attribution_figures(scope=db.true(), now=NOW, days=days, zone="America/New_York")


def by_key(rows):
    return {(row.key, row.heard_about): row for row in rows}


def test_leads_count_for_their_first_inquirys_article_campaign_and_source(app):
    seed(app)
    found = figures(app)

    articles = by_key(found.by_article)
    assert [row.key for row in found.by_article] == ["what-is-ms", None, "msc-trials"]
    assert articles["what-is-ms", False].title == "What is MS?"
    assert articles["what-is-ms", False].counts == StageCounts(3, 2, 1, 1, 1, 1)
    assert articles["msc-trials", False].counts == StageCounts(1, 1, 1, 1, 1, 0)
    assert articles[None, False].counts == StageCounts(2, 1, 1, 0, 0, 0)
    assert articles["what-is-ms", False].counts.rate("completed") == 66.7

    assert {key: row.counts.leads for key, row in by_key(found.by_campaign).items()} == {
        ("ms-msc", False): 4,
        (None, False): 2,
    }
    sources = by_key(found.by_source)
    assert {key: row.counts.leads for key, row in sources.items()} == {
        ("website", False): 3,
        ("newsletter", False): 1,
        ("search", True): 1,  # their own answer: the link named no source
        (None, False): 1,
    }
    assert found.by_source[0].counts == StageCounts(3, 2, 1, 1, 1, 1)
    assert figures(app, days=365).by_article[0].counts.leads == 4


def test_the_weekly_trend_counts_the_last_eight_weeks_from_monday_at_the_clinic(app):
    seed(app)
    weeks = figures(app).weeks
    assert [week.monday for week in weeks][-2:] == [date(2026, 2, 23), date(2026, 3, 2)]
    assert len(weeks) == 8 and weeks[0].monday == date(2026, 1, 12)
    assert weeks[-1].counts == StageCounts(5, 4, 3, 2, 2, 1)
    assert weeks[-2].counts == StageCounts(1, 0, 0, 0, 0, 0)
    assert sum(week.counts.leads for week in weeks[:-2]) == 0


def test_weeks_start_at_midnight_at_the_clinic_either_side_of_a_change_of_clocks():
    later = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # after New York moved to summer time
    starts = dict(week_starts(later, "America/New_York", weeks=2))
    assert starts[date(2026, 3, 2)] == datetime(2026, 3, 2, 5, 0, tzinfo=UTC)
    assert starts[date(2026, 3, 9)] == datetime(2026, 3, 9, 4, 0, tzinfo=UTC)


@pytest.fixture
def frozen(monkeypatch):
    monkeypatch.setattr(dashboard_views, "utcnow", lambda: NOW)


def test_the_page_shows_each_table_with_rates_and_writes_one_audit_row(app, staff_client, frozen):
    client = staff_client("admin")
    seed(app)
    before = audit_count(app)
    response = client.get("/staff/dashboard/attribution")
    assert response.status_code == 200
    assert audit_count(app) == before + 1
    assert audit_count(app, action="dashboard.attribution_viewed") == 1
    html = page(response)
    first = html.find(id="by-article").tbody.tr
    assert " ".join(first.th.get_text().split()) == "What is MS? (what-is-ms)"
    assert [td.get_text(" ", strip=True) for td in first("td")] == [
        "3", "2 (66.7 %)", "1 (33.3 %)", "1 (33.3 %)", "1 (33.3 %)", "1 (33.3 %)",
    ]  # fmt: skip
    heard = [row.th.get_text(" ", strip=True) for row in html.find(id="by-source").tbody("tr")]
    assert any(text.startswith("Searching online (their answer") for text in heard)
    trend = html.find(id="trend")
    assert trend.caption and len(trend.tbody("tr")) == 8
    assert [th["scope"] for th in trend.thead("th")] == ["col"] * 7
    assert not html.find("script")


def test_a_coordinator_sees_figures_for_their_own_scope_only(app, make_staff, sign_in, frozen):
    north = sign_in(app.test_client(), make_staff("coordinator", team="North"))
    seed(app, team="South")
    html = page(north.get("/staff/dashboard/attribution"))
    # Only the unassigned queue is theirs to see: nothing here is unassigned.
    assert "No leads in this period." in html.get_text()
    assert html.find(id="by-article") is None


def test_the_page_needs_the_same_few_queries_whatever_the_number_of_leads(
    app, staff_client, frozen
):
    client = staff_client("admin")
    seed(app)
    with QueryCounter(app) as few:
        client.get("/staff/dashboard/attribution")
    seed(app)
    seed(app)
    with QueryCounter(app) as many:
        client.get("/staff/dashboard/attribution")
    assert few.count == many.count == 8, many.statements
