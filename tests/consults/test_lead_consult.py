"""The consult on the lead page: free times in the viewer's zone, booking, a clash answered with
the next free times, moving, cancelling, and done or no-show once its time has come. Each
request writes one audit row; the booking service underneath is the one patients use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from intake.consults import booking
from intake.extensions import db
from intake.models import AuditEvent, Consult, Lead, Send
from tests.conftest import page, text_of
from tests.consults.factories import make_consult_type
from tests.factories import NOW, make_staff, seeded_lead
from tests.leads.conftest import events, the_lead
from tests.staff.conftest import QueryCounter, csrf_token
from tests.staff.leads.conftest import post_action
from tests.staff.leads.test_lead_page import LEAD_PAGE_QUERIES

# NOW is Tue 3 Mar 2026, 09:00 in New York. The host works weekdays 09:00-12:00 New York time;
# with 12 hours' notice the first free time is Wed 4 Mar 09:00 EST (14:00 UTC).
FIRST = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)
HALF_HOUR = timedelta(minutes=30)


def radios(response, name: str = "consult-slot") -> list[tuple[str, str]]:
    soup = page(response)
    return [
        (radio["value"], soup.find("label", attrs={"for": radio["id"]}).get_text(" ", strip=True))
        for radio in soup.find_all("input", attrs={"type": "radio", "name": name})
    ]


def value(moment: datetime) -> str:
    return str(int(moment.timestamp()))


def consults(app, lead_id: int) -> list[Consult]:
    with app.app_context():
        return list(db.session.scalars(select(Consult).where(Consult.lead_id == lead_id)))


def audit_rows(app) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def book(client, lead_id: int, at: datetime = FIRST):
    return post_action(client, lead_id, "consult", {"consult-slot": value(at)})


def booked_elsewhere(app, type_id: int, at: datetime) -> None:
    """Another patient takes the time, as the public booking page would."""
    with app.app_context():
        from intake.models import ConsultType

        other = db.session.get(Lead, seeded_lead(app, email="grace@example.org"))
        booking.book(lead=other, consult_type=db.session.get(ConsultType, type_id),
                     starts_at=at, booked_by="patient", actor=None, now=NOW)  # fmt: skip
        db.session.commit()


def test_free_times_are_shown_in_the_viewers_zone_with_the_host_a_page_at_a_time(
    app, clock, offered, madrid
):
    lead_id = seeded_lead(app, status="contacted")

    shown = radios(madrid.get(f"/staff/leads/{lead_id}"))

    assert len(shown) == 12
    assert shown[0] == (value(FIRST), "Wed 4 Mar 2026, 15:00 CET, with Dr Rivera")
    assert shown[5][1].startswith("Wed 4 Mar 2026, 17:30 CET")
    assert shown[6][1].startswith("Thu 5 Mar 2026, 15:00 CET")  # the next morning in New York
    later = page(madrid.get(f"/staff/leads/{lead_id}")).find("a", string="Later free times")
    more = radios(madrid.get(later["href"]))
    assert more[0][1].startswith("Fri 6 Mar 2026, 15:00 CET")
    assert len(more) == 12 and not {v for v, _ in more} & {v for v, _ in shown}


def test_booking_a_free_time_confirms_it_and_moves_the_lead_on(app, clock, offered, madrid):
    type_id, host = offered
    lead_id = seeded_lead(app, status="contacted")

    response = book(madrid, lead_id)

    assert response.status_code == 303
    [consult] = consults(app, lead_id)
    assert (consult.starts_at, consult.staff_user_id, consult.consult_type_id) == (
        FIRST,
        host,
        type_id,
    )
    assert (consult.status, consult.booked_by) == ("booked", "staff")
    lead = the_lead(app, lead_id)
    assert (lead.status, lead.consult_at) == ("consult_scheduled", FIRST)
    assert [kind for kind, _ in events(app, lead_id)] == ["consult_scheduled", "status_changed"]
    with app.app_context():
        templates = set(db.session.scalars(select(Send.template).where(Send.lead_id == lead_id)))
    assert "consult_confirmation" in templates and "consult_reminder" in templates
    [row] = audit_rows(app)[-1:]
    assert (row.action, row.outcome, row.lead_ids) == ("lead.consult_booked", "ok", [lead_id])
    assert row.detail == {"consult_id": consult.id, "consult_type_id": type_id, "host": host,
                          "status": "booked"}  # fmt: skip
    shown = page(madrid.get(f"/staff/leads/{lead_id}")).find(id="consult")
    facts = shown.find("dl").get_text(" ", strip=True)
    assert "Wed 4 Mar 2026, 15:00 CET" in facts and "Video consult" in facts
    assert "Dr Rivera" in facts and "Booked by staff" in facts
    assert "Consult scheduled" in text_of(madrid.get(f"/staff/leads/{lead_id}"))


def test_a_time_just_taken_is_answered_with_the_next_free_times(app, clock, offered, madrid):
    type_id, _ = offered
    lead_id = seeded_lead(app, status="contacted")
    madrid.get(f"/staff/leads/{lead_id}")  # the page listed FIRST as free...
    booked_elsewhere(app, type_id, FIRST)  # ...and then someone took it
    before = len(audit_rows(app))

    response = book(madrid, lead_id)

    assert response.status_code == 422
    error = page(response).find(id="consult-slot-error").get_text(" ", strip=True)
    assert "Someone has just taken that time" in error
    assert "The next free times: Wed 4 Mar 2026, 15:30 CET; Wed 4 Mar 2026, 16:00 CET" in error
    assert consults(app, lead_id) == []
    assert the_lead(app, lead_id).status == "contacted"
    rows = audit_rows(app)
    assert len(rows) == before + 2  # the GET inside post_action, and the failed booking
    assert (rows[-1].action, rows[-1].outcome) == ("lead.consult_booked", "failed")
    assert value(FIRST) not in {v for v, _ in radios(response)}


def test_a_consult_the_patient_booked_says_so(app, clock, offered, madrid):
    type_id, _ = offered
    booked_elsewhere(app, type_id, FIRST)
    with app.app_context():
        lead_id = db.session.scalar(select(Consult.lead_id))

    response = madrid.get(f"/staff/leads/{lead_id}")

    assert "Booked by the patient" in page(response).find(id="consult").get_text(" ", strip=True)
    assert "Consult scheduled (by the patient)" in text_of(response)


def test_a_booked_consult_moves_to_another_free_time(app, clock, offered, madrid):
    lead_id = seeded_lead(app, status="contacted")
    book(madrid, lead_id)
    later = FIRST + 2 * HALF_HOUR

    listed = radios(madrid.get(f"/staff/leads/{lead_id}"), "move-slot")
    response = post_action(madrid, lead_id, "consult/move", {"move-slot": value(later)})

    assert value(FIRST) not in {v for v, _ in listed}  # its own time is not offered
    assert response.status_code == 303
    [consult] = consults(app, lead_id)
    assert (consult.starts_at, consult.sequence, consult.status) == (later, 1, "booked")
    assert the_lead(app, lead_id).consult_at == later
    moved = [data for kind, data in events(app, lead_id) if kind == "consult_moved"]
    assert moved and moved[0]["at"] == later.isoformat()
    assert audit_rows(app)[-1].action == "lead.consult_moved"
    assert "Consult moved" in text_of(madrid.get(f"/staff/leads/{lead_id}"))


def test_cancelling_needs_the_tick_and_then_frees_the_lead(app, clock, offered, madrid):
    lead_id = seeded_lead(app, status="contacted")
    book(madrid, lead_id)

    unticked = post_action(madrid, lead_id, "consult/cancel", {})
    response = post_action(madrid, lead_id, "consult/cancel", {"cancel-confirm": "y"})

    assert unticked.status_code == 422
    assert "Tick the box" in page(unticked).find(id="cancel-confirm-error").get_text()
    assert response.status_code == 303
    [consult] = consults(app, lead_id)
    assert consult.status == "cancelled" and the_lead(app, lead_id).consult_at is None
    assert audit_rows(app)[-1].action == "lead.consult_cancelled"
    shown = text_of(madrid.get(f"/staff/leads/{lead_id}"))
    assert "Consult cancelled" in shown and "No consult booked." in shown


def test_an_outcome_before_the_consult_has_started_is_refused(app, clock, offered, madrid):
    lead_id = seeded_lead(app, status="contacted")
    book(madrid, lead_id)
    token = csrf_token(madrid, f"/staff/leads/{lead_id}")

    response = madrid.post(
        f"/staff/leads/{lead_id}/consult/outcome",
        data={"outcome-csrf_token": token, "outcome-outcome": "done"},
    )

    assert response.status_code == 422
    assert "has not started yet" in page(response).find(id="outcome-outcome-error").get_text()
    assert consults(app, lead_id)[0].status == "booked"
    assert page(response).find("button", attrs={"value": "done"}) is None


def test_done_after_its_time_moves_the_lead_to_consult_done(app, clock, offered, madrid):
    lead_id = seeded_lead(app, status="contacted")
    book(madrid, lead_id)
    clock.now = FIRST + timedelta(minutes=40)

    response = post_action(madrid, lead_id, "consult/outcome", {"outcome-outcome": "done"})

    assert response.status_code == 303
    assert consults(app, lead_id)[0].status == "done"
    assert the_lead(app, lead_id).status == "consult_done"
    assert audit_rows(app)[-1].detail["lead_status"] == "consult_done"
    assert "Consult held" in text_of(madrid.get(f"/staff/leads/{lead_id}"))


def test_a_no_show_plans_the_invitations_to_book_again(app, clock, offered, madrid):
    lead_id = seeded_lead(app, status="contacted")
    book(madrid, lead_id)
    clock.now = FIRST + timedelta(minutes=40)

    response = post_action(madrid, lead_id, "consult/outcome", {"outcome-outcome": "no_show"})

    assert response.status_code == 303
    [consult] = consults(app, lead_id)
    assert consult.status == "no_show"
    lead = the_lead(app, lead_id)
    assert lead.status == "consult_scheduled" and lead.consult_at is None
    with app.app_context():
        rebook = db.session.execute(
            select(Send.key, Send.due_at, Send.status)
            .where(Send.lead_id == lead_id, Send.cadence == "consult_rebook")
            .order_by(Send.step)
        ).all()
    assert [tuple(row) for row in rebook] == [
        (f"consult_rebook:{consult.id}:0", clock.now + timedelta(days=1), "scheduled"),
        (f"consult_rebook:{consult.id}:1", clock.now + timedelta(days=4), "scheduled"),
    ]
    assert "Consult missed: the patient did not come" in text_of(
        madrid.get(f"/staff/leads/{lead_id}")
    )


def test_a_patient_who_asked_not_to_be_contacted_cannot_be_booked(app, clock, offered, madrid):
    type_id, _ = offered
    lead_id = seeded_lead(app, status="do_not_contact")
    shown = madrid.get(f"/staff/leads/{lead_id}")
    token = csrf_token(madrid, f"/staff/leads/{lead_id}")

    response = madrid.post(f"/staff/leads/{lead_id}/consult", data={
        "consult-csrf_token": token, "consult-type": str(type_id), "consult-slot": value(FIRST),
    })  # fmt: skip

    assert radios(shown) == []
    assert response.status_code == 422
    assert "asked not to be contacted" in page(response).find(id="consult-slot-error").get_text()
    assert consults(app, lead_id) == []


def test_staff_who_cannot_work_the_lead_see_the_consult_but_no_action(
    app, clock, offered, madrid, staff_client
):
    lead_id = seeded_lead(app, status="contacted")
    book(madrid, lead_id)

    response = staff_client("clinician").get(f"/staff/leads/{lead_id}")

    section = page(response).find(id="consult")
    assert "Dr Rivera" in section.get_text()
    assert section.find("form", method="post") is None
    assert radios(response) == [] and radios(response, "move-slot") == []


# The free times of the type offered: its hosts (1), and their time zones, weekly hours, day
# changes and bookings (4), whatever the number of hosts, times or pages.
FREE_TIMES_QUERIES = 5


@pytest.mark.parametrize("booked", [False, True], ids=["free-times", "booked"])
def test_the_lead_page_with_consults_runs_a_fixed_number_of_queries(
    app, clock, make_staff, madrid, booked
):
    hosts = [make_staff("clinician", name=f"Dr {n}") for n in range(3)]
    with app.app_context():
        make_consult_type(hosts=hosts, name="Video consult")
        make_consult_type(hosts=hosts[:1], name="Phone call")
        db.session.commit()
    lead_id = seeded_lead(app, status="contacted")
    if booked:
        assert book(madrid, lead_id).status_code == 303
    url = f"/staff/leads/{lead_id}?consult-host={hosts[1]}&consult-after={value(FIRST)}"
    madrid.get(url)

    with QueryCounter(app) as counter:
        response = madrid.get(url)

    assert response.status_code == 200
    assert len(radios(response, "move-slot" if booked else "consult-slot")) == 12
    expected = LEAD_PAGE_QUERIES + FREE_TIMES_QUERIES
    assert counter.count == expected, "\n---\n".join(s[:200] for s in counter.statements)


def test_a_host_who_does_not_hold_the_consult_type_is_refused(app, clock, offered, madrid):
    type_id, _ = offered
    outsider = make_staff_with_hours(app)
    lead_id = seeded_lead(app, status="contacted")

    chosen = {"consult-slot": value(FIRST), "consult-host": str(outsider)}
    response = post_action(madrid, lead_id, "consult", chosen)

    assert response.status_code == 422
    error = page(response).find(id="consult-slot-error").get_text()
    assert "does not hold this kind of consult" in error
    assert consults(app, lead_id) == []


def make_staff_with_hours(app) -> int:
    """A clinician with weekly hours, holding another kind of consult only."""
    with app.app_context():
        other = make_staff("clinician", time_zone="America/New_York")
        make_consult_type(hosts=[other.id], name="Phone call")
        db.session.commit()
        return other.id
