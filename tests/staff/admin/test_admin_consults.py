"""Consult types and staff hours: admins add and edit types and anyone's hours; each member
edits their own hours and nobody else's; mistakes are shown beside the field with nothing typed
lost; the saved hours are the ones bookings are offered from, across a daylight-saving change."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from intake.consults.availability import open_slots
from intake.extensions import db
from intake.models import (
    AvailabilityException,
    AvailabilityWindow,
    ConsultType,
    ConsultTypeHost,
)
from intake.staff.admin import hours_views
from tests.factories import audit_count, last_audit
from tests.staff.conftest import QueryCounter, csrf_token, page

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # Monday 2 March 2026, 10:00 in New York


@pytest.fixture(autouse=True)
def _clock(monkeypatch):
    monkeypatch.setattr(hours_views, "utcnow", lambda: NOW)


def make_consult_type(app, name="First consult", hosts=(), **fields) -> int:
    """A consult type (video, 30 minutes unless ``fields`` say otherwise) held by ``hosts``."""
    with app.app_context():
        row = ConsultType(name=name, **{"kind": "video", "video_url": "https://meet.example/x",
                                        **fields})  # fmt: skip
        db.session.add(row)
        db.session.flush()
        db.session.add_all(ConsultTypeHost(consult_type_id=row.id, staff_user_id=h) for h in hosts)
        db.session.commit()
        return row.id


def type_form(**changes) -> dict:
    return {
        "name": "First consult",
        "kind": "video",
        "duration_minutes": "45",
        "video_url": "https://meet.example/first",
        "location": "",
        "active": "y",
        **changes,
    }


def error_beside(response, field_id: str) -> str:
    found = page(response).find(id=f"{field_id}-error")
    return found.get_text(" ", strip=True) if found else ""


# Consult types -----------------------------------------------------------------------------


def test_an_admin_adds_a_consult_type_with_its_hosts_and_it_is_audited_once(
    app, staff_client, make_staff
):
    client = staff_client("admin")
    alice, bob = make_staff("clinician", name="Alice Ng"), make_staff("clinician")
    data = type_form(host_ids=[str(alice), str(bob)], csrf_token=csrf_token(client))
    before = audit_count(app)
    response = client.post("/staff/admin/consult-types/new", data=data)
    assert response.status_code == 302
    assert audit_count(app) == before + 1
    with app.app_context():
        row = db.session.scalar(select(ConsultType).where(ConsultType.name == "First consult"))
        assert (row.kind, row.duration_minutes, row.active) == ("video", 45, True)
        assert row.video_url == "https://meet.example/first"
        hosts = db.session.scalars(
            select(ConsultTypeHost.staff_user_id).where(ConsultTypeHost.consult_type_id == row.id)
        )
        assert sorted(hosts) == sorted([alice, bob])
    assert (last_audit(app).action, last_audit(app).detail) == (
        "consults.type_saved",
        {"id": row.id, "created": True},
    )
    listed = page(client.get("/staff/admin/consult-types")).get_text(" ", strip=True)
    assert "First consult" in listed and "45 min" in listed and "Alice Ng" in listed


def test_a_consult_type_is_deactivated_not_deleted_and_its_hosts_replaced(
    app, staff_client, make_staff
):
    client = staff_client("admin")
    alice, bob = make_staff("clinician"), make_staff("clinician")
    type_id = make_consult_type(app, hosts=(alice,))
    form = page(client.get(f"/staff/admin/consult-types/{type_id}"))
    assert form.find("input", {"name": "host_ids", "value": str(alice)}).has_attr("checked")
    data = type_form(active="", host_ids=[str(bob)], csrf_token=csrf_token(client))
    del data["active"]  # an unticked box is not sent
    assert client.post(f"/staff/admin/consult-types/{type_id}", data=data).status_code == 302
    with app.app_context():
        row = db.session.get(ConsultType, type_id)
        assert row.active is False
        hosts = db.session.scalars(
            select(ConsultTypeHost.staff_user_id).where(ConsultTypeHost.consult_type_id == type_id)
        )
        assert list(hosts) == [bob]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": ""}, "name", "Enter a name."),
        ({"duration_minutes": "0"}, "duration_minutes", "from 5 to 480 minutes"),
        ({"duration_minutes": "half an hour"}, "duration_minutes", ""),
        ({"video_url": ""}, "video_url", "Enter the meeting link for a video consult."),
        ({"video_url": "meet dot example"}, "video_url", "Enter a full link"),
        ({"kind": "in_person", "video_url": ""}, "location", "Enter the address"),
        ({"kind": "carrier pigeon"}, "kind", ""),
    ],
)
def test_a_wrong_consult_type_is_refused_beside_the_field_keeping_what_was_typed(
    app, staff_client, changes, field, message
):
    client = staff_client("admin")
    data = type_form(**{"name": "Second opinion", **changes}, csrf_token=csrf_token(client))
    response = client.post("/staff/admin/consult-types/new", data=data)
    assert response.status_code == 422
    assert message in error_beside(response, field)
    assert error_beside(response, field)
    kept = page(response).find("input", {"name": "location"})
    assert kept["value"] == data["location"]
    if field != "name":
        assert page(response).find("input", {"name": "name"})["value"] == "Second opinion"
    with app.app_context():
        assert db.session.scalar(select(ConsultType.id)) is None
    assert (last_audit(app).action, last_audit(app).outcome) == ("consults.type_saved", "failed")


def test_a_second_consult_type_with_the_same_name_is_refused(app, staff_client):
    client = staff_client("admin")
    make_consult_type(app)
    response = client.post(
        "/staff/admin/consult-types/new", data=type_form(csrf_token=csrf_token(client))
    )
    assert response.status_code == 422
    assert "already has this name" in error_beside(response, "name")


def test_a_disabled_member_cannot_be_made_a_host(app, staff_client, make_staff):
    client = staff_client("admin")
    gone = make_staff("clinician", active=False)
    data = type_form(host_ids=[str(gone)], csrf_token=csrf_token(client))
    response = client.post("/staff/admin/consult-types/new", data=data)
    assert response.status_code == 422  # not even offered as a choice
    assert error_beside(response, "host_ids")


def test_the_consult_type_pages_run_a_fixed_number_of_queries(app, staff_client, make_staff):
    client = staff_client("admin")
    hosts = [make_staff("clinician") for _ in range(3)]
    type_ids = [make_consult_type(app, name=f"Type {n}", hosts=hosts) for n in range(3)]
    counts = {}
    for url in ("/staff/admin/consult-types", f"/staff/admin/consult-types/{type_ids[0]}"):
        with QueryCounter(app) as queries:
            assert client.get(url).status_code == 200
        counts[url] = queries.count
    assert counts == {
        "/staff/admin/consult-types": QUERIES_LIST,
        f"/staff/admin/consult-types/{type_ids[0]}": QUERIES_FORM,
    }


QUERIES_LIST = 9
QUERIES_FORM = 7


# Weekly hours and day changes ---------------------------------------------------------------


def hours_form(client, url: str, **days) -> dict:
    return {"csrf_token": csrf_token(client, url), **{f"day{n}": "" for n in range(7)}, **days}


def windows_of(app, staff_id: int) -> list[tuple[int, str, str]]:
    with app.app_context():
        rows = db.session.scalars(
            select(AvailabilityWindow)
            .where(AvailabilityWindow.staff_user_id == staff_id)
            .order_by(AvailabilityWindow.weekday, AvailabilityWindow.start_time)
        )
        return [(row.weekday, row.start_time, row.end_time) for row in rows]


def test_a_member_sets_their_own_weekly_hours_in_their_own_zone(app, make_staff, sign_in):
    me = make_staff("clinician", time_zone="Europe/Madrid")
    client = sign_in(app.test_client(), me)
    shown = page(client.get("/staff/account/hours")).get_text(" ", strip=True)
    assert "Times are in Europe/Madrid." in shown
    data = hours_form(
        client, "/staff/account/hours", day0="13:00–17:00, 9:00-12:00", day4="08:30-10:00"
    )
    before = audit_count(app)
    response = client.post("/staff/account/hours", data=data)
    assert response.status_code == 303 and response.headers["Location"] == "/staff/account/hours"
    assert audit_count(app) == before + 1
    assert windows_of(app, me) == [
        (0, "09:00", "12:00"),
        (0, "13:00", "17:00"),
        (4, "08:30", "10:00"),
    ]
    again = page(client.get("/staff/account/hours"))
    assert again.find("input", {"name": "day0"})["value"] == "09:00–12:00, 13:00–17:00"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("09:00-12:00, 11:00-13:00", "must not overlap"),
        ("17:00-09:00", "start before it ends"),
        ("25:00-26:00", "Write each period as"),
        ("nine to five", "Write each period as"),
    ],
)
def test_wrong_hours_are_refused_beside_the_day_and_nothing_is_lost(
    app, make_staff, sign_in, text, message
):
    me = make_staff("clinician")
    client = sign_in(app.test_client(), me)
    data = hours_form(client, "/staff/account/hours", day1=text, day2="09:00-10:00")
    response = client.post("/staff/account/hours", data=data)
    assert response.status_code == 422
    assert message in error_beside(response, "day1")
    assert not error_beside(response, "day2")
    soup = page(response)
    assert soup.find("input", {"name": "day1"})["value"] == text
    assert soup.find("input", {"name": "day2"})["value"] == "09:00-10:00"
    assert soup.find(id="error-summary-title") is not None
    assert windows_of(app, me) == []


def test_a_member_adds_and_removes_their_own_day_changes(app, make_staff, sign_in):
    me = make_staff("clinician")
    client = sign_in(app.test_client(), me)
    token = csrf_token(client, "/staff/account/hours")
    for data in (
        {"day": "2026-03-10", "kind": "off"},
        {"day": "2026-03-11", "kind": "unavailable", "start": "12:00", "end": "13:30"},
        {"day": "2026-03-14", "kind": "extra", "start": "10:00", "end": "12:00"},
    ):
        response = client.post("/staff/account/day-changes", data={"csrf_token": token, **data})
        assert response.status_code == 303
    rows = page(client.get("/staff/account/hours")).select("#changes ~ table tbody tr")
    assert [[cell.get_text(" ", strip=True) for cell in row.find_all(["th", "td"])[:3]]
            for row in rows] == [
        ["Tue 10 Mar 2026", "Day off", "All day"],
        ["Wed 11 Mar 2026", "Unavailable from–to", "12:00–13:30"],
        ["Sat 14 Mar 2026", "Extra hours", "10:00–12:00"],
    ]  # fmt: skip
    with app.app_context():
        first = db.session.scalar(
            select(AvailabilityException.id).where(AvailabilityException.day == date(2026, 3, 10))
        )
    response = client.post(f"/staff/account/day-changes/{first}/remove", data={"csrf_token": token})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(AvailabilityException, first) is None


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"day": "2026-02-30", "kind": "off"}, "day", "Enter a real date"),
        ({"day": "", "kind": "off"}, "day", "Enter a real date"),
        (
            {"day": "2026-03-10", "kind": "extra", "start": "", "end": "12:00"},
            "start",
            "Enter a time",
        ),
        ({"day": "2026-03-10", "kind": "extra", "start": "14:00", "end": "12:00"}, "end", "after"),
        (
            {"day": "2026-03-10", "kind": "unavailable", "start": "9am", "end": "12:00"},
            "start",
            "Enter a time",
        ),
    ],
)
def test_a_wrong_day_change_is_refused_beside_the_field(
    app, make_staff, sign_in, data, field, message
):
    me = make_staff("clinician")
    client = sign_in(app.test_client(), me)
    token = csrf_token(client, "/staff/account/hours")
    response = client.post("/staff/account/day-changes", data={"csrf_token": token, **data})
    assert response.status_code == 422
    assert error_beside(response, field) and message in error_beside(response, field)
    shown = page(response).find("input", {"name": "day"})["value"]
    assert shown == ("" if data["day"] == "2026-02-30" else data["day"])  # a date input's rule
    assert page(response).find("input", {"name": "end"})["value"] == data.get("end", "")
    with app.app_context():
        assert db.session.scalar(select(AvailabilityException.id)) is None


def test_a_member_cannot_touch_another_members_hours(app, make_staff, sign_in):
    me, other = make_staff("clinician"), make_staff("coordinator")
    client = sign_in(app.test_client(), me)
    with app.app_context():
        change = AvailabilityException(staff_user_id=other, day=date(2026, 3, 10))
        db.session.add(change)
        db.session.commit()
        change_id = change.id
    token = csrf_token(client, "/staff/account/hours")
    assert client.get(f"/staff/admin/staff/{other}/hours").status_code == 403
    data = hours_form(client, "/staff/account/hours", day0="09:00-17:00")
    assert client.post(f"/staff/admin/staff/{other}/hours", data=data).status_code == 403
    response = client.post(
        f"/staff/account/day-changes/{change_id}/remove", data={"csrf_token": token}
    )
    assert response.status_code == 303  # "already removed": their own list has no such change
    with app.app_context():
        assert db.session.get(AvailabilityException, change_id) is not None
    assert windows_of(app, other) == []


def test_an_admin_edits_anyones_hours(app, staff_client, make_staff):
    client = staff_client("admin")
    other = make_staff("clinician", name="Rosalind Franklin", time_zone="America/Chicago")
    url = f"/staff/admin/staff/{other}/hours"
    shown = page(client.get(url)).get_text(" ", strip=True)
    assert "Consult hours: Rosalind Franklin" in shown and "America/Chicago" in shown
    response = client.post(url, data=hours_form(client, url, day2="10:00-11:00"))
    assert response.status_code == 303 and response.headers["Location"] == url
    assert windows_of(app, other) == [(2, "10:00", "11:00")]
    token = csrf_token(client, url)
    data = {"csrf_token": token, "day": "2026-03-12", "kind": "off"}
    assert client.post(f"{url[:-6]}/day-changes", data=data).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(AvailabilityException.staff_user_id)) == other


def test_the_hours_page_runs_a_fixed_number_of_queries(app, make_staff, sign_in):
    me = make_staff("clinician")
    client = sign_in(app.test_client(), me)
    client.post(
        "/staff/account/hours",
        data=hours_form(client, "/staff/account/hours", day0="09:00-12:00, 13:00-17:00"),
    )
    with QueryCounter(app) as queries:
        assert client.get("/staff/account/hours").status_code == 200
    assert queries.count == QUERIES_HOURS


QUERIES_HOURS = 5


def test_slots_follow_the_saved_hours_across_a_daylight_saving_change(
    app, staff_client, make_staff
):
    """New York springs forward on Sunday 8 March 2026: 09:00 is 14:00 UTC before, 13:00 after."""
    client = staff_client("admin")
    host = make_staff("clinician", time_zone="America/New_York")
    type_id = make_consult_type(app, hosts=(host,), duration_minutes=30)
    url = f"/staff/admin/staff/{host}/hours"
    every_day = {f"day{n}": "09:00-10:00" for n in range(7)}
    assert client.post(url, data=hours_form(client, url, **every_day)).status_code == 303
    data = {"csrf_token": csrf_token(client, url), "day": "2026-03-07", "kind": "off"}
    assert client.post(f"/staff/admin/staff/{host}/day-changes", data=data).status_code == 303
    with app.app_context():
        consult_type = db.session.get(ConsultType, type_id)
        slots = open_slots(
            consult_type,
            now=datetime(2026, 3, 5, 12, 0, tzinfo=UTC),
            end=datetime(2026, 3, 10, 0, 0, tzinfo=UTC),
        )
    starts = [slot.starts_at.astimezone(UTC).strftime("%d %H:%M") for slot in slots]
    assert starts == [
        "06 14:00", "06 14:30",  # Friday, EST (UTC-5); Saturday 7 is a day off
        "08 13:00", "08 13:30",  # Sunday, EDT (UTC-4) from 02:00 that morning
        "09 13:00", "09 13:30",
    ]  # fmt: skip


def test_a_refused_day_change_keeps_the_saved_weekly_hours_on_the_page(app, make_staff, sign_in):
    me = make_staff("clinician")
    client = sign_in(app.test_client(), me)
    client.post(
        "/staff/account/hours", data=hours_form(client, "/staff/account/hours", day3="09:00-11:00")
    )
    token = csrf_token(client, "/staff/account/hours")
    wrong = {"csrf_token": token, "day": "2026-03-10", "kind": "extra", "start": "14:00"}
    response = client.post("/staff/account/day-changes", data=wrong)
    assert response.status_code == 422
    soup = page(response)
    assert soup.find("input", {"name": "day3"})["value"] == "09:00–11:00"
    assert soup.find("input", {"name": "start"})["value"] == "14:00"
    assert not soup.find(id="day3-error")
