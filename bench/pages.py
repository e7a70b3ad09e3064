"""P11 three more pages at 1 M leads: the lead page with a conversation thread, the patient's
booking page and the staff calendar's week, each beside the raw SQL of what it must read.

The data set has no consult types, hours, consults or messages, so the scenario adds them and
removes them afterwards (the data set stays as it was; a run that crashed is cleaned up by the
next): one video consult type held by six team-1 coordinators (New York, weekdays 09:00–12:00
and 13:00–17:00), 25 booked consults each in next week (150 leads), and a thread of 60 messages
(email and text, out and in, each reply answering the message before it) on another lead.

The project side is the real request through the Flask test client, as P3 and P11 time it:
``GET /staff/leads/<id>`` and ``GET /staff/calendar/week?staff=all&week=…`` signed in as the
bench admin, and ``GET /consult/<token>`` with the link's own signed token (choosing a time).
The floors are the reads through psycopg: the lead row and its thread (messages with ledger
state and attachments: what ``build_thread`` reads; not the page's inquiries, timeline or audit
row); the lead with the type and its booked consult, the hosts with their hours, their day
changes, their bookings in the 28-day horizon; the week's consults with type and host names and
the staff to choose from. Neither side's floor opens sealed text or renders HTML. One RESULT
line per page (p95, target < 50 ms) with the statements per request (event listener).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import psycopg

from bench.data import ADMIN_EMAIL
from bench.harness import bench_app, interleave, p95, psycopg_url, result, signed_in_client
from tests.staff.conftest import QueryCounter

TARGET_MS = 50.0
MARK = "bench-p11:"  # consult uids, send keys and incoming message ids the scenario adds
TYPE_NAME = "bench P11 first talk"
HOSTS = tuple(range(1, 7))  # team 1's first six coordinators (America/New_York)
PER_HOST = 25  # a week of consults: five a day, Monday to Friday
HOURS = (time(9), time(10), time(11), time(14), time(15))
MESSAGES = 60
OPEN = ("contacted", "attempting_contact", "screening")

THREAD_FLOOR = (
    """SELECT id, status, first_name, last_name, time_zone, language, team_id, owner_id
    FROM leads WHERE id = %(lead)s""",
    """SELECT m.id, m.at, m.direction, m.channel, m.kind, m.staff_user_id, m.subject_sealed,
           m.body_sealed, m.in_reply_to_id, m.read_at, s.status, s.finished_reason,
           a.id, a.content_type, a.size, a.refused
    FROM conversation_messages AS m
    LEFT JOIN sends AS s ON s.id = m.send_id
    LEFT JOIN message_attachments AS a ON a.message_id = m.id
    WHERE m.lead_id = %(lead)s ORDER BY m.at, m.id, a.id""",
)
BOOKING_FLOOR = (
    """SELECT l.id, l.status, l.erased_at, l.time_zone, l.language, t.name, t.kind,
           t.duration_minutes, t.active, c.id, c.starts_at
    FROM leads AS l JOIN consult_types AS t ON t.id = %(type)s
    LEFT JOIN consults AS c ON c.lead_id = l.id AND c.status = 'booked'
    WHERE l.id = %(lead)s""",
    """SELECT s.id, s.time_zone, w.weekday, w.start_time, w.end_time
    FROM consult_type_hosts AS h JOIN staff_users AS s ON s.id = h.staff_user_id AND s.active
    LEFT JOIN availability_windows AS w ON w.staff_user_id = s.id
    WHERE h.consult_type_id = %(type)s""",
    """SELECT staff_user_id, day, available, start_time, end_time FROM availability_exceptions
    WHERE staff_user_id = ANY(%(hosts)s)
      AND day BETWEEN %(start)s::date - 2 AND %(end)s::date + 2""",
    """SELECT staff_user_id, starts_at, ends_at FROM consults
    WHERE staff_user_id = ANY(%(hosts)s) AND status = 'booked'
      AND starts_at < %(end)s + interval '1 day' AND ends_at > %(start)s - interval '1 day'""",
)
CALENDAR_FLOOR = (
    """SELECT c.id, c.lead_id, c.starts_at, c.ends_at, c.status, t.name, s.name
    FROM consults AS c JOIN consult_types AS t ON t.id = c.consult_type_id
    JOIN staff_users AS s ON s.id = c.staff_user_id
    WHERE c.starts_at >= %(start)s AND c.starts_at < %(end)s ORDER BY c.starts_at, c.id""",
    "SELECT id, name FROM staff_users WHERE active ORDER BY name",
)


def _clean(connection) -> None:
    """Remove every row an earlier run added (the data set has none of these of its own)."""
    like = MARK + "%"
    connection.execute(
        """DELETE FROM conversation_messages WHERE external_id LIKE %(like)s
        OR send_id IN (SELECT id FROM sends WHERE key LIKE %(like)s)""",
        {"like": like},
    )
    connection.execute("DELETE FROM sends WHERE key LIKE %s", (like,))
    connection.execute("DELETE FROM consults WHERE uid LIKE %s", (like,))
    types = "SELECT id FROM consult_types WHERE name = %s"
    connection.execute(
        f"DELETE FROM consult_type_hosts WHERE consult_type_id IN ({types})",  # noqa: S608
        (TYPE_NAME,),
    )
    connection.execute(
        "DELETE FROM availability_windows WHERE staff_user_id = ANY(%s)", (list(HOSTS),)
    )
    connection.execute("DELETE FROM consult_types WHERE name = %s", (TYPE_NAME,))


def _leads(connection, count: int) -> list[int]:
    """Open team-1 leads with no consult (the newest first): thread, booking, then calendar."""
    rows = connection.execute(
        """SELECT id FROM leads WHERE team_id = 1 AND NOT incomplete AND erased_at IS NULL
        AND status = ANY(%s) ORDER BY id DESC LIMIT %s""",
        (list(OPEN), count),
    ).fetchall()
    return [row[0] for row in rows]


def _add_consults(connection, leads: list[int], monday) -> int:
    """The consult type, its hosts' weekly hours, and 25 booked consults per host in the week
    of ``monday``; returns the type's id."""
    type_id = connection.execute(
        """INSERT INTO consult_types (name, kind, duration_minutes, video_url, active, created_at)
        VALUES (%s, 'video', 30, 'https://meet.example/bench', true, now()) RETURNING id""",
        (TYPE_NAME,),
    ).fetchone()[0]
    zone, rows, windows = ZoneInfo("America/New_York"), [], []
    for number, host in enumerate(HOSTS):
        connection.execute(
            "INSERT INTO consult_type_hosts (consult_type_id, staff_user_id) VALUES (%s, %s)",
            (type_id, host),
        )
        for weekday in range(5):
            windows += [(host, weekday, "09:00", "12:00"), (host, weekday, "13:00", "17:00")]
        for n in range(PER_HOST):
            day = monday + timedelta(days=n // len(HOURS))
            starts = datetime.combine(day, HOURS[n % len(HOURS)], tzinfo=zone).astimezone(UTC)
            lead = leads[number * PER_HOST + n]
            rows.append(
                (f"{MARK}{lead}", lead, type_id, host, starts, starts + timedelta(minutes=30))
            )
    with connection.cursor() as cursor:
        cursor.executemany(
            """INSERT INTO availability_windows (staff_user_id, weekday, start_time, end_time)
            VALUES (%s, %s, %s, %s)""",
            windows,
        )
        cursor.executemany(
            """INSERT INTO consults (uid, sequence, lead_id, consult_type_id, staff_user_id,
                starts_at, ends_at, status, booked_by, created_at, updated_at)
            VALUES (%s, 0, %s, %s, %s, %s, %s, 'booked', 'staff', now(), now())""",
            rows,
        )
    connection.execute("ANALYZE consults")
    return type_id


def _add_thread(app, lead_id: int, now: datetime) -> str:
    """60 messages over the past month, sealed as the app seals them; returns the newest
    message's words, which the page must show."""
    from intake.conversations.inbound import seal_text
    from intake.conversations.outgoing import CADENCE
    from intake.extensions import db
    from intake.models import ConversationMessage, Send

    words = ""
    with app.app_context():
        previous = None
        for n in range(MESSAGES):
            at = now - timedelta(days=30) + timedelta(hours=12 * n)
            channel = "email" if n % 4 < 2 else "text"
            outgoing = n % 2 == 0
            words = f"Message {n} of the bench thread: " + "a line a person might write. " * 6
            row = ConversationMessage(
                lead_id=lead_id,
                at=at,
                channel=channel,
                direction="out" if outgoing else "in",
                kind="message" if outgoing else "reply",
                read_at=None if n == MESSAGES - 1 else at,
            )
            if outgoing:
                send = Send(
                    key=f"{MARK}{lead_id}:{n}",
                    lead_id=lead_id,
                    cadence=CADENCE,
                    template=CADENCE,
                    channel=channel,
                    status="sent",
                    due_at=at,
                    created_at=at,
                    sent_at=at,
                    attempts=1,
                    staff_user_id=HOSTS[0],
                )
                db.session.add(send)
                db.session.flush()
                row.staff_user_id, row.send_id = HOSTS[0], send.id
                row.segments = 2 if channel == "text" else None
            else:
                row.external_id, row.in_reply_to_id = f"{MARK}{lead_id}:{n}", previous
            db.session.add(row)
            db.session.flush()
            if channel == "email":
                row.subject_sealed = seal_text(row, "subject", "About your inquiry")
            row.body_sealed = seal_text(row, "body", words)
            previous = row.id
        db.session.commit()
    return words.split(":")[0]


def _floor(connection, statements: tuple[str, ...], params: dict):
    def call() -> None:
        for sql in statements:
            connection.execute(sql, params).fetchall()

    return call


def _measure(app, name: str, call, floor, rounds: int, note: str) -> None:
    call()  # warm-up (and the page's one-off writes: a reply marked read, the language)
    floor_samples, project_samples = interleave(floor, call, rounds)
    value, floor_ms = p95(project_samples) * 1000, p95(floor_samples) * 1000
    with QueryCounter(app) as counter:
        call()
    result(
        f"P11.{name}",
        value,
        floor_ms,
        f"p95<{TARGET_MS:.0f}ms",
        value < TARGET_MS,
        unit="ms",
        note=f"p95 of {rounds}; {counter.count} statements; {note}",
    )


def run(args, app=None) -> None:
    from intake.consults.links import invitation_token
    from intake.models.types import utcnow

    rounds = 15 if args.quick else 80
    app = app or bench_app(args.database_url)
    admin = signed_in_client(app, ADMIN_EMAIL)
    now = utcnow()
    with psycopg.connect(psycopg_url(args.database_url), autocommit=True) as connection:
        _clean(connection)
        leads = _leads(connection, 2 + len(HOSTS) * PER_HOST)
        if len(leads) < 2 + len(HOSTS) * PER_HOST:
            print("# P11: too few open team-1 leads for the pages", flush=True)
            return
        thread_lead, booking_lead, calendar_leads = leads[0], leads[1], leads[2:]
        try:
            newest = _add_thread(app, thread_lead, now)

            def thread() -> None:
                response = admin.get(f"/staff/leads/{thread_lead}")
                assert response.status_code == 200, response.status_code
                assert newest in response.text

            floor = _floor(connection, THREAD_FLOOR, {"lead": thread_lead})
            _measure(
                app,
                "thread",
                thread,
                floor,
                rounds,
                f"lead page, {MESSAGES} messages, no consult type yet",
            )

            today = now.astimezone(ZoneInfo("America/New_York")).date()
            monday = today - timedelta(days=today.weekday()) + timedelta(days=7)
            type_id = _add_consults(connection, calendar_leads, monday)
            patient = app.test_client()
            with app.app_context():
                url = "/consult/" + invitation_token(
                    lead_id=booking_lead, consult_type_id=type_id, now=now
                )

            def booking() -> None:
                response = patient.get(url)
                assert response.status_code == 200, response.status_code
                assert 'name="slot"' in response.text

            params = {
                "lead": booking_lead,
                "type": type_id,
                "hosts": list(HOSTS),
                "start": now + timedelta(hours=12),
                "end": now + timedelta(days=28),
            }
            floor = _floor(connection, BOOKING_FLOOR, params)
            _measure(
                app,
                "booking",
                booking,
                floor,
                rounds,
                f"choosing a time; {len(HOSTS)} hosts, {len(calendar_leads)} booked",
            )

            week = f"/staff/calendar/week?staff=all&week={monday.isoformat()}"

            def calendar() -> None:
                response = admin.get(week)
                assert response.status_code == 200, response.status_code
                assert response.text.count(f"/staff/leads/{calendar_leads[0]}") >= 1

            zone = ZoneInfo("America/New_York")
            start = datetime.combine(monday, time(0), tzinfo=zone).astimezone(UTC)
            end = datetime.combine(monday + timedelta(days=7), time(0), tzinfo=zone)
            params = {"start": start, "end": end.astimezone(UTC)}
            floor = _floor(connection, CALENDAR_FLOOR, params)
            _measure(
                app,
                "calendar",
                calendar,
                floor,
                rounds,
                f"week, everyone's: {len(calendar_leads)} consults",
            )
        finally:
            _clean(connection)
