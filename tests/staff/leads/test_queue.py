"""The lead queue: views by role, filters, search without the term in any URL, keyset pages,
the query budget, one audit row per page, and bulk actions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import insert, select

from intake.extensions import db
from intake.models import Lead, LeadContact, LeadEvent
from intake.models.types import utcnow
from tests.factories import LEAD, audit_count, last_audit
from tests.staff.conftest import QueryCounter, page
from tests.staff.conftest import csrf_token as staff_csrf_token
from tests.staff.leads.conftest import search, shown_ids

RECORDED_AT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

# Views by role ------------------------------------------------------------------------------


def test_a_coordinator_starts_on_their_own_leads_soonest_sla_first_and_no_deadline_last(
    app, make_staff, sign_in, seed
):
    me, other = make_staff("coordinator", team="East"), make_staff("coordinator", team="East")
    now = utcnow()
    later = seed(owner_id=me, sla_due_at=now + timedelta(hours=3), first_name="Later")
    none = seed(owner_id=me, sla_due_at=None, first_name="Nodeadline")
    soon = seed(owner_id=me, sla_due_at=now + timedelta(minutes=10), first_name="Soon")
    seed(owner_id=other, sla_due_at=now, first_name="Theirs")
    client = sign_in(app.test_client(), me)

    response = client.get("/staff/")

    assert response.status_code == 200
    assert shown_ids(response) == [soon, later, none]
    current = page(response).select_one('nav[aria-label="Lead views"] [aria-current="page"]')
    assert current.get_text() == "My leads"


def test_a_clinician_starts_on_leads_awaiting_a_clinical_decision(app, make_staff, sign_in, seed):
    clinician = make_staff("clinician")
    waiting = seed(eligibility_outcome="needs_review")
    seed(eligibility_outcome="needs_review", clinical_decision="candidate")
    seed(eligibility_outcome="no_exclusion_found")

    response = sign_in(app.test_client(), clinician).get("/staff/")

    assert shown_ids(response) == [waiting]


def test_an_admin_starts_on_all_leads(app, staff_client, seed):
    ids = {seed(), seed(), seed()}
    assert set(shown_ids(staff_client("admin").get("/staff/"))) == ids


def test_the_team_view_shows_the_leads_of_my_teams_and_unassigned_shows_ownerless_leads(
    app, make_staff, sign_in, seed, team_id
):
    me = make_staff("coordinator", team="East")
    make_staff("coordinator", team="West")
    east, west = team_id("East"), team_id("West")
    ours = seed(team_id=east, owner_id=None)
    seed(team_id=west)
    ownerless = seed(team_id=None, owner_id=None)
    client = sign_in(app.test_client(), me)

    assert shown_ids(client.get("/staff/?view=team")) == [ours]
    assert set(shown_ids(client.get("/staff/?view=unassigned"))) == {ours, ownerless}


# Filters ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "matching", "other"),
    [
        ("status=contacted&status=screening", {"status": "screening"}, {"status": "new"}),
        ("outcome=needs_review", {"eligibility_outcome": "needs_review"}, {}),
        ("ms_type=PPMS", {"ms_type": "PPMS"}, {"ms_type": "RRMS"}),
        ("source=doctor", {"source": "doctor"}, {"source": "article"}),
        ("incomplete=yes", {"incomplete": True}, {"incomplete": False}),
        ("incomplete=no", {"incomplete": False}, {"incomplete": True}),
        ("owner=none", {"owner_id": None}, {"owner_id": "STAFF"}),
        ("owner=STAFF", {"owner_id": "STAFF"}, {"owner_id": None}),
        ("team=TEAM", {"team_id": "TEAM"}, {"team_id": None}),
        ("team=none", {"team_id": None}, {"team_id": "TEAM"}),
        ("created_from=2026-03-02", {"created_at": "LATER"}, {"created_at": "EARLIER"}),
        ("created_to=2026-03-01", {"created_at": "EARLIER"}, {"created_at": "LATER"}),
        ("sla=breached", {"sla_due_at": "PAST"}, {"sla_due_at": "FAR"}),
        ("sla=due_soon", {"sla_due_at": "SOON"}, {"sla_due_at": "FAR"}),
        ("sla=on_track", {"sla_due_at": "FAR"}, {"sla_due_at": "SOON"}),
        ("sla=met", {"first_contacted_at": "PAST"}, {"sla_due_at": "FAR"}),
    ],
)
def test_each_filter_keeps_only_the_matching_leads(
    app, make_staff, staff_client, seed, team_id, query, matching, other
):
    staff = make_staff("coordinator", team="East")
    now = utcnow()
    values = {
        "STAFF": staff, "TEAM": team_id("East"), "PAST": now - timedelta(hours=1),
        "SOON": now + timedelta(minutes=10), "FAR": now + timedelta(hours=5),
        # The dates are the reader's days: the admin's time zone, America/New_York (UTC-5).
        "EARLIER": now.replace(2026, 3, 2, 4, 59), "LATER": now.replace(2026, 3, 2, 5, 0),
    }  # fmt: skip

    def resolve(fields):
        return {name: values.get(value, value) for name, value in fields.items()}

    wanted, unwanted = seed(**resolve(matching)), seed(**resolve(other))
    query = query.replace("STAFF", str(staff)).replace("TEAM", str(values["TEAM"]))

    shown = shown_ids(staff_client("admin").get(f"/staff/?view=all&{query}"))

    assert wanted in shown
    assert unwanted not in shown


def test_a_filter_value_that_is_not_an_option_is_reported_next_to_it_and_ignored(
    staff_client, seed
):
    lead = seed()
    response = staff_client("admin").get("/staff/?view=all&sla=sometime&created_from=tuesday")

    soup = page(response)
    assert response.status_code == 200
    assert soup.select_one("#sla-error").get_text(strip=True).endswith("list.")
    assert soup.select_one("#sla")["aria-describedby"] == "sla-error"
    assert "2026-03-01" in soup.select_one("#created_from-error").get_text()
    assert shown_ids(response) == [lead]


def test_sorting_by_newest_oldest_and_recently_updated(staff_client, seed):
    now = utcnow()
    first = seed(created_at=now - timedelta(days=2), updated_at=now)
    second = seed(created_at=now - timedelta(days=1), updated_at=now - timedelta(days=3))
    client = staff_client("admin")

    assert shown_ids(client.get("/staff/?sort=newest")) == [second, first]
    assert shown_ids(client.get("/staff/?sort=oldest")) == [first, second]
    assert shown_ids(client.get("/staff/?sort=updated")) == [first, second]


# Search -------------------------------------------------------------------------------------


def csrf_token(client) -> str:
    return staff_csrf_token(client, "/staff/")


def test_search_finds_a_lead_by_part_of_the_name_in_any_case(staff_client, seed):
    wanted = seed(first_name="Grace", last_name="Hopper-Smith")
    seed(first_name="Alan", last_name="Turing")
    client = staff_client("admin")

    response = search(client, "  per-SMI ")

    assert response.status_code == 302
    assert shown_ids(client.get(response.location)) == [wanted]
    assert shown_ids(client.get(search(client, "grace hop").location)) == [wanted]


@pytest.mark.parametrize(
    ("first", "last", "terms"),
    [
        ("José", "García Márquez", ("García", "Márquez", "garcía márquez", "José García")),
        ("María", "Muñoz Peña", ("Muñoz", "Peña", "MUÑOZ", "muñoz peña", "María Muñoz Peña")),
        ("Ángela", "Álvarez Núñez", ("Álvarez", "ÁLVAREZ", "Núñez", "ángela álvarez", "Ángela")),
    ],
)
def test_search_finds_a_spanish_name_with_two_surnames_by_each_surname_accents_and_all(
    staff_client, seed, first, last, terms
):
    wanted = seed(first_name=first, last_name=last)
    seed(first_name="Jose", last_name="Garcia")  # the same letters without accents
    seed(first_name="Ada", last_name="Byron")
    client = staff_client("admin")

    for term in terms:
        assert shown_ids(client.get(search(client, term).location)) == [wanted], term


def test_search_finds_a_lead_by_email_in_any_case(staff_client, seed):
    wanted = seed(email="grace.hopper@navy.example")
    seed(email="alan@example.org")
    client = staff_client("admin")

    for term in ("Grace.Hopper@Navy.example", "HOPPER@NAVY"):
        assert shown_ids(client.get(search(client, term).location)) == [wanted]


def test_search_finds_a_lead_by_phone_typed_in_a_local_format(staff_client, seed):
    wanted = seed(phone="+12025550199")
    seed(phone="+12025550143")
    client = staff_client("admin")

    for term in ("(202) 555-0199", "202.555.0199", "+1 202 555 0199", "555-0199"):
        assert shown_ids(client.get(search(client, term).location)) == [wanted], term


def test_a_whole_phone_number_finds_the_lead_by_its_caregivers_or_an_earlier_phone(
    app, staff_client, seed
):
    by_caregiver = seed(phone="+12025550101")
    by_earlier = seed(phone="+12025550102")
    seed(phone="+12025550103")
    with app.app_context():
        db.session.execute(
            insert(LeadContact),
            [
                {"lead_id": by_caregiver, "kind": "caregiver_phone", "value": "+12025550177",
                 "source": "inquiry", "recorded_at": RECORDED_AT},
                {"lead_id": by_earlier, "kind": "phone", "value": "+12025550188",
                 "source": "inquiry", "recorded_at": RECORDED_AT},
            ],
        )  # fmt: skip
        db.session.commit()
    client = staff_client("admin")

    # A whole number (looked up by equality) and a part of one (by LIKE) find the same leads.
    for term in ("(202) 555-0177", "+1 202 555 0177", "555-0177"):
        assert shown_ids(client.get(search(client, term).location)) == [by_caregiver], term
    for term in ("202-555-0188", "5550188"):
        assert shown_ids(client.get(search(client, term).location)) == [by_earlier], term


def test_search_treats_like_wildcards_as_plain_characters(staff_client, seed):
    seed(first_name="Ada", last_name="Byron")
    client = staff_client("admin")

    assert shown_ids(client.get(search(client, "%_%").location)) == []


def test_the_search_term_never_appears_in_any_url(staff_client, seed):
    seed(first_name="Grace", last_name="Hopper", email="grace@navy.example")
    client = staff_client("admin")

    for term in ("Hopper", "grace@navy.example", "(202) 555-0143"):
        response = search(client, term, status="new", sort="newest")
        assert response.status_code == 302
        target = urlsplit(response.location)
        assert term.lower() not in response.location.lower()
        assert "202" not in response.location and "hopper" not in response.location.lower()
        args = parse_qs(target.query)
        assert args["status"] == ["new"] and args["sort"] == ["newest"] and args["search"]
        soup = page(client.get(response.location))
        for link in soup.select("a[href], form[action]"):
            url = (link.get("href") or link.get("action")).lower()
            assert "hopper" not in url and "navy" not in url and "555" not in url


def test_a_too_short_search_is_reported_next_to_the_field_keeping_what_was_typed(
    staff_client,
):
    response = search(staff_client("admin"), "a")

    soup = page(response)
    assert response.status_code == 200
    assert "at least 2 characters" in soup.select_one("#term-error").get_text()
    assert soup.select_one("#term")["value"] == "a"
    assert "term-error" in soup.select_one("#term")["aria-describedby"]


def test_an_unknown_search_id_shows_the_queue_unsearched_with_a_message(staff_client, seed):
    lead = seed()
    response = staff_client("admin").get("/staff/?search=forged")

    assert shown_ids(response) == [lead]
    assert "no longer available" in response.get_data(as_text=True)


def test_only_the_last_five_searches_are_kept(staff_client, seed):
    seed()
    client = staff_client("admin")
    locations = [search(client, f"name{number}").location for number in range(6)]

    assert "no longer available" in client.get(locations[0]).get_data(as_text=True)
    assert "no longer available" not in client.get(locations[1]).get_data(as_text=True)


# Keyset pages -------------------------------------------------------------------------------


def walk(client, url: str) -> list[int]:
    seen = []
    while url:
        response = client.get(url)
        assert response.status_code == 200
        seen += shown_ids(response)
        link = page(response).select_one('a[rel="next"]')
        url = link["href"] if link else None
    return seen


@pytest.mark.parametrize("sort", ["sla", "newest", "oldest", "updated"])
def test_walking_every_page_returns_each_lead_once_in_order_even_with_equal_sort_values(
    app_factory, make_staff, sign_in, sort
):
    app = app_factory(INTAKE_QUEUE_PAGE_SIZE=3)
    now = utcnow()
    with app.app_context():
        rows = [
            dict(LEAD, created_at=now - timedelta(hours=n % 3),
                 updated_at=now - timedelta(hours=n % 2),
                 sla_due_at=None if n % 4 == 0 else now + timedelta(hours=n % 3))
            for n in range(14)
        ]  # fmt: skip
        db.session.execute(insert(Lead), rows)
        db.session.commit()
        leads = db.session.execute(
            select(Lead.id, Lead.created_at, Lead.updated_at, Lead.sla_due_at)
        ).all()
    client = sign_in(app.test_client(), make_staff("admin"))

    seen = walk(client, f"/staff/?view=all&sort={sort}")

    far = now + timedelta(days=3650)
    key = {
        "sla": lambda r: (r.sla_due_at or far, r.id),
        "oldest": lambda r: (r.created_at, r.id),
        "newest": lambda r: (-r.created_at.timestamp(), -r.id),
        "updated": lambda r: (-r.updated_at.timestamp(), -r.id),
    }[sort]
    assert seen == [row.id for row in sorted(leads, key=key)]


def test_a_tampered_page_cursor_shows_the_first_page_with_a_message(
    app_factory, make_staff, sign_in
):
    app = app_factory(INTAKE_QUEUE_PAGE_SIZE=2)
    with app.app_context():
        db.session.execute(insert(Lead), [dict(LEAD) for _ in range(5)])
        db.session.commit()
    client = sign_in(app.test_client(), make_staff("admin"))
    first = client.get("/staff/?view=all")
    next_url = page(first).select_one('a[rel="next"]')["href"]
    token = parse_qs(urlsplit(next_url).query)["after"][0]

    for bad in (token[:-2] + "xx", "garbage", token.replace(".", "")):
        response = client.get(f"/staff/?view=all&after={bad}")
        assert response.status_code == 200
        assert shown_ids(response) == shown_ids(first)
        assert "first page" in response.get_data(as_text=True)
    second = client.get(next_url)
    assert page(second).select_one("a[href]", string="First page") is not None


def test_a_cursor_made_for_another_sort_shows_the_first_page(app_factory, make_staff, sign_in):
    app = app_factory(INTAKE_QUEUE_PAGE_SIZE=2)
    with app.app_context():
        db.session.execute(insert(Lead), [dict(LEAD) for _ in range(5)])
        db.session.commit()
    client = sign_in(app.test_client(), make_staff("admin"))
    next_url = page(client.get("/staff/?view=all&sort=sla")).select_one('a[rel="next"]')["href"]

    response = client.get(next_url.replace("sort=sla", "sort=newest"))

    assert response.status_code == 200
    assert "first page" in response.get_data(as_text=True)


def test_the_count_is_exact_up_to_a_thousand_and_then_says_1000_plus(app, staff_client):
    client = staff_client("admin")
    with app.app_context():
        db.session.execute(insert(Lead), [dict(LEAD) for _ in range(1000)])
        db.session.commit()
    assert page(client.get("/staff/")).select_one(".queue-count").get_text(strip=True) == (
        "1,000 leads"
    )
    with app.app_context():
        db.session.execute(insert(Lead), [dict(LEAD)])
        db.session.commit()
    assert page(client.get("/staff/")).select_one(".queue-count").get_text(strip=True) == (
        "1,000+ leads"
    )


# Scope --------------------------------------------------------------------------------------


def test_a_coordinator_never_sees_another_teams_lead_in_any_view_or_page_or_search(
    app_factory, make_staff, sign_in, team_id
):
    app = app_factory(INTAKE_QUEUE_PAGE_SIZE=2)
    me = make_staff("coordinator", team="East")
    them = make_staff("coordinator", team="West")
    with app.app_context():
        east, west = team_id("East"), team_id("West")
        rows = [dict(LEAD, team_id=east, owner_id=me, eligibility_outcome="needs_review")] * 3
        rows += [dict(LEAD, team_id=west, owner_id=them, eligibility_outcome="needs_review")] * 3
        rows += [dict(LEAD, team_id=None, owner_id=None)] * 2
        db.session.execute(insert(Lead), rows)
        db.session.commit()
        foreign = set(db.session.scalars(select(Lead.id).where(Lead.team_id == west)))
    client = sign_in(app.test_client(), me)

    for view in ("mine", "team", "all", "review", "unassigned"):
        for sort in ("sla", "newest"):
            seen = walk(client, f"/staff/?view={view}&sort={sort}")
            assert not foreign & set(seen), view
    seen = walk(client, search(client, "ada byron").location)
    assert len(seen) == 5 and not foreign & set(seen)


# Query budget and audit ---------------------------------------------------------------------


FILTERED = "/staff/?view=mine&status=new&incomplete=no&sort=newest&created_from=2020-01-01"


@pytest.mark.parametrize("url", ["/staff/", FILTERED, "SEARCH"])
def test_a_queue_page_costs_exactly_five_sql_statements(app, make_staff, sign_in, seed, url):
    me = make_staff("coordinator", team="East")
    for _ in range(3):
        seed(owner_id=me)
    client = sign_in(app.test_client(), me)
    if url == "SEARCH":
        url = search(client, "byron").location
    client.get(url)  # the session was just opened; a later touch is at most once a minute

    with QueryCounter(app) as counter:
        response = client.get(url)

    assert response.status_code == 200
    assert len(shown_ids(response)) == 3
    assert counter.count == 5, "\n\n".join(counter.statements)


def test_each_queue_page_writes_one_audit_row_with_the_lead_ids_shown(
    app, make_staff, sign_in, seed
):
    me = make_staff("coordinator")
    mine = [seed(owner_id=me) for _ in range(2)]
    seed()
    client = sign_in(app.test_client(), me)
    before = audit_count(app)

    client.get("/staff/?view=mine&status=new&created_from=2026-01-01")

    assert audit_count(app) == before + 1
    row = last_audit(app)
    assert row.action == "leads.listed" and row.actor_id == me
    assert sorted(row.lead_ids) == sorted(mine)
    assert row.detail["view"] == "mine"
    assert row.detail["filters"] == {"status": ["new"], "created_from": "2026-01-01"}


def test_a_search_is_audited_once_with_its_id_and_the_ids_found_but_never_the_term(
    app, staff_client, seed
):
    wanted = seed(first_name="Grace", last_name="Hopper")
    seed(first_name="Alan", last_name="Turing")
    client = staff_client("admin")
    location = search(client, "Hopper").location
    before = audit_count(app)

    client.get(location)

    assert audit_count(app) == before + 1
    row = last_audit(app)
    assert row.action == "leads.searched" and row.lead_ids == [wanted]
    assert row.detail["search"] == parse_qs(urlsplit(location).query)["search"][0]
    assert row.detail["search_kind"] == "name"
    assert "hopper" not in str(row.detail).lower() and "hopper" not in str(row.target).lower()


# Bulk actions -------------------------------------------------------------------------------


def bulk(client, lead_ids, **data):
    return client.post(
        "/staff/leads/bulk",
        data={"csrf_token": csrf_token(client), "lead_id": [str(i) for i in lead_ids],
              "return_to": "/staff/?view=all&sort=newest", **data},
    )  # fmt: skip


def test_bulk_assign_gives_every_selected_lead_to_the_owner_with_one_audit_row(
    app, make_staff, sign_in, seed
):
    me, colleague = make_staff("coordinator"), make_staff("coordinator")
    leads = [seed(), seed()]
    client = sign_in(app.test_client(), me)
    before = audit_count(app, action="leads.bulk_assigned")

    response = bulk(client, leads, action="assign", owner=str(colleague))

    assert response.status_code == 302
    assert parse_qs(urlsplit(response.location).query) == {"view": ["all"], "sort": ["newest"]}
    with app.app_context():
        owners = db.session.scalars(select(Lead.owner_id).where(Lead.id.in_(leads))).all()
        assert owners == [colleague, colleague]
        assert db.session.query(LeadEvent).filter_by(kind="assigned").count() == 2
    assert audit_count(app, action="leads.bulk_assigned") == before + 1
    row = last_audit(app)
    assert sorted(row.lead_ids) == sorted(leads) and row.detail["owner_id"] == colleague
    assert "Assigned 2 leads." in client.get(response.location).get_data(as_text=True)


def test_bulk_status_change_moves_what_it_can_and_reports_refusals_by_lead_id(
    app, make_staff, staff_client, seed
):
    movable = seed(status="new")
    stuck = seed(status="do_not_contact")
    client = staff_client("admin")

    response = bulk(client, [movable, stuck], action="status", status="attempting_contact")

    row = last_audit(app)
    assert row.action == "leads.bulk_status_changed"
    assert sorted(row.lead_ids) == sorted([movable, stuck])
    assert row.detail["changed"] == [movable] and row.detail["refused"] == [stuck]
    with app.app_context():
        assert db.session.get(Lead, movable).status == "attempting_contact"
        assert db.session.get(Lead, stuck).status == "do_not_contact"
    text = client.get(response.location).get_data(as_text=True)
    assert f"Lead {stuck} was not changed" in text


def test_bulk_actions_refuse_leads_outside_the_coordinators_scope(
    app, make_staff, sign_in, seed, team_id
):
    me = make_staff("coordinator", team="East")
    make_staff("coordinator", team="West")
    foreign = seed(team_id=team_id("West"), status="new")
    client = sign_in(app.test_client(), me)

    response = bulk(client, [foreign], action="status", status="attempting_contact")

    with app.app_context():
        assert db.session.get(Lead, foreign).status == "new"
    assert f"Lead {foreign} was not changed" in client.get(response.location).get_data(as_text=True)


def test_bulk_without_a_selection_or_a_choice_explains_what_is_missing(staff_client, seed):
    seed()
    client = staff_client("admin")

    soup = page(bulk(client, [], action="assign", owner=""))

    assert "Select at least one lead." in soup.select_one("#bulk-action-error").get_text()
    assert "Choose who gets the leads." in soup.select_one("#bulk-owner-error").get_text()


def test_a_clinician_cannot_use_bulk_actions(app, make_staff, sign_in, seed):
    lead = seed(eligibility_outcome="needs_review")
    client = sign_in(app.test_client(), make_staff("clinician"))
    queue = page(client.get("/staff/"))
    assert queue.select_one('form[action="/staff/leads/bulk"]') is None

    csrf = queue.select_one('input[name="csrf_token"]')["value"]
    response = client.post(
        "/staff/leads/bulk",
        data={"csrf_token": csrf, "lead_id": [str(lead)], "action": "status",
              "status": "attempting_contact"},
    )  # fmt: skip

    assert response.status_code == 403
    with app.app_context():
        assert db.session.get(Lead, lead).status == "new"


def test_every_row_has_a_labelled_checkbox_and_the_table_has_header_cells(staff_client, seed):
    seed()
    soup = page(staff_client("admin").get("/staff/"))

    box = soup.select_one("tbody input.pick")
    assert soup.select_one(f'label[for="{box["id"]}"]').get_text(strip=True) == "Select Ada Byron"
    assert all(th.get("scope") for th in soup.select("table th"))


def test_bulk_ignores_lead_ids_that_are_not_numbers_or_too_large(staff_client, seed):
    seed()
    client = staff_client("admin")

    response = bulk(client, ["99999999999999999999", "x1"], action="status", status="contacted")

    assert response.status_code == 200
    assert "Select at least one lead." in response.get_data(as_text=True)
