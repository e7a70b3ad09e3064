"""The staff calendar and the private calendar feed.

The calendar shows the signed-in member's consults by their own days (23 or 25 hours long
across a daylight-saving change), or another member's or everyone's for an admin. The feed is
read with a secret address and no sign-in; it names the lead by number only, never the patient;
a revoked or replaced secret is a bare 404; and the secret never reaches the logs."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from intake.extensions import db
from intake.log import MaskTokens
from intake.models import CalendarFeed, Consult, ConsultType
from intake.staff.calendar import calendar_views, feed_views
from tests.factories import audit_count, last_audit, make_lead
from tests.staff.conftest import QueryCounter, csrf_token, page

# Sunday 8 March 2026: New York springs forward at 02:00 (a 23-hour day).
NOW = datetime(2026, 3, 8, 17, 0, tzinfo=UTC)  # 13:00 in New York
NEW_YORK = "America/New_York"


@pytest.fixture(autouse=True)
def _clock(monkeypatch):
    monkeypatch.setattr(calendar_views, "utcnow", lambda: NOW)
    monkeypatch.setattr(feed_views, "utcnow", lambda: NOW)


def make_consults(app, host: int, *starts: datetime, status="booked", minutes=30) -> list[int]:
    """A consult for a new lead at each start (a "Video consult" type, made once)."""
    with app.app_context():
        kind = db.session.scalar(select(ConsultType).where(ConsultType.name == "Video consult"))
        if kind is None:
            kind = ConsultType(name="Video consult", kind="video", duration_minutes=minutes)
            db.session.add(kind)
            db.session.flush()
        ids = []
        for number, start in enumerate(starts):
            lead = make_lead()
            consult = Consult(
                uid=f"consult-{host}-{start:%Y%m%d%H%M}-{number}@intake.test",
                lead_id=lead.id,
                consult_type_id=kind.id,
                staff_user_id=host,
                starts_at=start,
                ends_at=start + timedelta(minutes=minutes),
                status=status,
            )
            db.session.add(consult)
            db.session.flush()
            ids.append(consult.id)
        db.session.commit()
        return ids


def entries(response) -> dict[str, list[str]]:
    """Each day's heading and its entries' text, as the page lists them."""
    days = {}
    for section in page(response).select("section.calendar-day"):
        heading = section.find("h2").get_text(" ", strip=True)
        days[heading] = [
            " ".join(item.get_text(" ", strip=True).split())
            for item in section.select("li.calendar-entry")
        ]
    return days


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# The calendar -------------------------------------------------------------------------------


def test_the_day_view_holds_the_whole_23_hour_day_of_the_spring_change(app, make_staff, sign_in):
    me = make_staff("clinician", time_zone=NEW_YORK)
    lead_ids = make_consults(
        app,
        me,
        utc(2026, 3, 8, 4, 30),  # Saturday 23:30 EST: the day before
        utc(2026, 3, 8, 5, 0),  # Sunday 00:00 EST
        utc(2026, 3, 9, 3, 30),  # Sunday 23:30 EDT
        utc(2026, 3, 9, 4, 0),  # Monday 00:00 EDT: the day after
    )
    with app.app_context():
        lead_of = dict(db.session.execute(select(Consult.id, Consult.lead_id)).all())
    client = sign_in(app.test_client(), me)
    response = client.get("/staff/calendar?day=2026-03-08")
    assert response.status_code == 200
    first, second = lead_of[lead_ids[1]], lead_of[lead_ids[2]]
    assert entries(response) == {
        "Sun 8 Mar 2026 today": [
            f"00:00 – 00:30 (30 min), Video consult: Consult, lead {first} booked",
            f"23:30 – 00:00 (30 min), Video consult: Consult, lead {second} booked",
        ]
    }
    link = page(response).find("a", string=f"Consult, lead {first}")
    assert link["href"] == f"/staff/leads/{first}"
    assert "Ada" not in response.get_data(as_text=True)


def test_the_day_view_holds_the_whole_25_hour_day_of_the_autumn_change(app, make_staff, sign_in):
    me = make_staff("clinician", time_zone=NEW_YORK)
    make_consults(app, me, utc(2026, 11, 1, 4, 0), utc(2026, 11, 2, 4, 30), utc(2026, 11, 2, 5, 0))
    client = sign_in(app.test_client(), me)
    shown = entries(client.get("/staff/calendar?day=2026-11-01"))
    assert [entry[:13] for entry in shown["Sun 1 Nov 2026"]] == ["00:00 – 00:30", "23:30 – 00:00"]


def test_the_week_view_lists_each_day_with_its_consults_and_their_status(app, make_staff, sign_in):
    me = make_staff("clinician", time_zone=NEW_YORK)
    make_consults(app, me, utc(2026, 3, 2, 14, 0))  # Monday 09:00 EST
    make_consults(app, me, utc(2026, 3, 4, 14, 0), status="done")
    make_consults(app, me, utc(2026, 3, 6, 14, 0), status="no_show")
    make_consults(app, me, utc(2026, 3, 8, 13, 0), status="cancelled")  # Sunday 09:00 EDT
    make_consults(app, make_staff("clinician"), utc(2026, 3, 3, 14, 0))  # someone else's
    client = sign_in(app.test_client(), me)
    response = client.get("/staff/calendar/week")  # this week: Monday 2 to Sunday 8 March
    shown = entries(response)
    assert list(shown) == [
        "Mon 2 Mar 2026", "Tue 3 Mar 2026", "Wed 4 Mar 2026", "Thu 5 Mar 2026",
        "Fri 6 Mar 2026", "Sat 7 Mar 2026", "Sun 8 Mar 2026 today",
    ]  # fmt: skip
    assert [(day[:3], [e[:5] + " " + e.split()[-1] for e in items]) for day, items in shown.items()
            if items] == [
        ("Mon", ["09:00 booked"]), ("Wed", ["09:00 done"]), ("Fri", ["09:00 no-show"]),
        ("Sun", ["09:00 cancelled"]),
    ]  # fmt: skip
    links = {a.get_text(strip=True): a["href"] for a in page(response).select("nav.calendar-nav a")}
    assert links == {
        "Previous week": "/staff/calendar/week?week=2026-02-23",
        "This week": "/staff/calendar/week",
        "Next week": "/staff/calendar/week?week=2026-03-09",
        "Day view": "/staff/calendar?day=2026-03-02",
    }
    assert "Tue 3 Mar 2026" in entries(client.get("/staff/calendar/week?week=2026-03-04"))


def test_only_admins_see_another_members_or_everyones_consults(app, make_staff, sign_in):
    me = make_staff("clinician", time_zone=NEW_YORK)
    other = make_staff("coordinator", name="Ida Tarbell", time_zone=NEW_YORK)
    make_consults(app, other, utc(2026, 3, 8, 15, 0))
    admin = make_staff("admin", time_zone=NEW_YORK)
    as_admin = sign_in(app.test_client(), admin)
    assert entries(as_admin.get(f"/staff/calendar?staff={other}"))["Sun 8 Mar 2026 today"]
    everyone = entries(as_admin.get("/staff/calendar?staff=all"))["Sun 8 Mar 2026 today"]
    assert everyone[0].endswith("Ida Tarbell booked")
    as_member = sign_in(app.test_client(), me)
    mine = as_member.get(f"/staff/calendar?staff={other}")
    assert entries(mine) == {"Sun 8 Mar 2026 today": []}
    assert page(mine).find("select", {"name": "staff"}) is None


def test_each_calendar_view_runs_a_fixed_number_of_queries_and_writes_one_audit_row(
    app, make_staff, sign_in
):
    me = make_staff("admin", time_zone=NEW_YORK)
    make_consults(app, me, *(utc(2026, 3, day, 15, 0) for day in range(2, 9)))
    client = sign_in(app.test_client(), me)
    client.get("/staff/calendar")  # the session is settled
    counts = {}
    for url in ("/staff/calendar", "/staff/calendar/week", "/staff/calendar/week?staff=all"):
        before = audit_count(app)
        with QueryCounter(app) as queries:
            assert client.get(url).status_code == 200
        counts[url] = (queries.count, audit_count(app) - before)
    assert counts == {
        "/staff/calendar": (QUERIES_CALENDAR, 1),
        "/staff/calendar/week": (QUERIES_CALENDAR, 1),
        "/staff/calendar/week?staff=all": (QUERIES_CALENDAR, 1),
    }
    assert last_audit(app).action == "calendar.viewed"


QUERIES_CALENDAR = 6


# The private feed ---------------------------------------------------------------------------


def make_feed(client) -> str:
    """Make (or replace) the signed-in member's feed; its address as shown, this once."""
    response = client.post(
        "/staff/account/calendar-feed",
        data={"csrf_token": csrf_token(client, "/staff/account/calendar-feed")},
    )
    assert response.status_code == 200
    return page(response).find("input", id="feed-url")["value"]


def test_the_feed_lists_the_members_consults_by_lead_number_only(app, make_staff, sign_in):
    me = make_staff("clinician", time_zone=NEW_YORK)
    old, booked = make_consults(app, me, NOW - timedelta(days=31), NOW + timedelta(days=2))
    (cancelled,) = make_consults(app, me, NOW + timedelta(days=3), status="cancelled")
    (past,) = make_consults(app, me, NOW - timedelta(days=29), status="done")
    make_consults(app, me, NOW + timedelta(days=29))  # past the 28-day horizon
    make_consults(app, make_staff("clinician"), NOW + timedelta(days=1))  # someone else's
    client = sign_in(app.test_client(), me)
    url = make_feed(client)
    assert url.startswith("http") and "/staff/calendar/feed/" in url and url.endswith(".ics")
    path = url[url.index("/staff/") :]
    before = audit_count(app)
    response = app.test_client().get(path)  # a calendar app: no session
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    assert audit_count(app) == before + 1
    row = last_audit(app)
    assert (row.action, row.actor_id, row.target) == ("calendar_feed.viewed", me, f"staff:{me}")
    events = Calendar.from_ical(response.data).walk("VEVENT")
    with app.app_context():
        consults = {c.id: c for c in db.session.scalars(select(Consult))}
    assert [str(event["UID"]) for event in events] == [
        consults[past].uid,
        consults[booked].uid,
        consults[cancelled].uid,
    ]
    event = events[1]
    lead_id = consults[booked].lead_id
    assert str(event["SUMMARY"]) == f"Consult, lead {lead_id}"
    assert str(event["URL"]).endswith(f"/staff/leads/{lead_id}")
    assert event.decoded("DTSTART") == NOW + timedelta(days=2)
    assert event.decoded("DTSTART").utcoffset() == timedelta(0)
    assert event.decoded("DTEND") == NOW + timedelta(days=2, minutes=30)
    assert (int(event["SEQUENCE"]), str(event["STATUS"])) == (0, "CONFIRMED")
    assert str(events[2]["STATUS"]) == "CANCELLED"
    body = response.get_data(as_text=True)
    for private in ("Ada", "Byron", "@", "+1202", "2025550143"):
        assert private not in body.replace("@intake.test", ""), private
    assert old not in consults or consults[old].uid not in body


def test_a_revoked_or_replaced_secret_is_a_bare_404(app, make_staff, sign_in):
    me = make_staff("clinician")
    client = sign_in(app.test_client(), me)
    first = make_feed(client)
    first_path = first[first.index("/staff/") :]
    second = make_feed(client)  # replace
    second_path = second[second.index("/staff/") :]
    assert first != second
    feeds = app.test_client()
    assert feeds.get(second_path).status_code == 200
    gone = feeds.get(first_path)
    assert (gone.status_code, gone.data) == (404, b"")
    assert feeds.get("/staff/calendar/feed/guessed.ics").status_code == 404
    response = client.post(
        "/staff/account/calendar-feed/revoke",
        data={"csrf_token": csrf_token(client, "/staff/account/calendar-feed")},
    )
    assert response.status_code == 303
    assert feeds.get(second_path).status_code == 404
    with app.app_context():
        rows = db.session.scalars(select(CalendarFeed)).all()
        assert len(rows) == 2 and all(row.revoked_at is not None for row in rows)
        secret = second_path.rsplit("/", 1)[1].removesuffix(".ics")
        assert all(secret not in row.token_hash for row in rows)
    shown = page(client.get("/staff/account/calendar-feed"))
    assert shown.find("input", id="feed-url") is None  # shown once, never again
    assert "You have no calendar feed." in shown.get_text(" ", strip=True)


def test_a_disabled_members_feed_is_a_404(app, make_staff, sign_in):
    from intake.models import StaffUser

    me = make_staff("clinician")
    url = make_feed(sign_in(app.test_client(), me))
    with app.app_context():
        db.session.get(StaffUser, me).active = False
        db.session.commit()
    assert app.test_client().get(url[url.index("/staff/") :]).status_code == 404


def test_the_feed_runs_a_fixed_number_of_queries(app, make_staff, sign_in):
    me = make_staff("clinician")
    make_consults(app, me, *(NOW + timedelta(days=day) for day in range(1, 6)))
    url = make_feed(sign_in(app.test_client(), me))
    with QueryCounter(app) as queries:
        assert app.test_client().get(url[url.index("/staff/") :]).status_code == 200
    assert queries.count == QUERIES_FEED


QUERIES_FEED = 4


def test_the_feed_secret_is_masked_in_the_access_log():
    record = logging.LogRecord(
        "gunicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s "%s"',
        ("127.0.0.1", "GET /staff/calendar/feed/s3cr3t-Token_x.ics HTTP/1.1"),
        None,
    )
    MaskTokens().filter(record)
    assert record.getMessage() == '127.0.0.1 "GET /staff/calendar/feed/<token> HTTP/1.1"'


def test_every_member_reaches_their_calendar_from_the_staff_menu(app, staff_client):
    for role in ("admin", "coordinator", "clinician"):
        menu = page(staff_client(role).get("/staff/account")).find("nav", {"aria-label": "Staff"})
        assert menu.find("a", string="Calendar")["href"] == "/staff/calendar/week", role
