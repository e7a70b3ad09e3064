"""Worker drills (QUALITY.md R1, R6, R7): real PostgreSQL, the Redis test database, Celery worker
(and beat) processes running ``workers.app``, and an SMTP sink; each prints one ``DRILL`` line.

What a ``kill -9`` of the whole worker (main process and pool children) leaves behind: nothing
acks, rejects or restores its messages, so they stay in kombu's ``unacked`` hash until some
consumer's ``restore_visible`` scan (at start-up, then about every 100 s) finds them older than
the broker's visibility timeout; they then come back marked ``redelivered``.
``task_reject_on_worker_lost`` plays no part: it acts only when a pool child dies under a living
main process. Before that, the ledger brings the rows back itself: the sweep hands a ``sending``
row whose claim is older than ``INTAKE_SEND_CLAIM_TIMEOUT`` (and a ``scheduled`` one handed over
longer ago than ``INTAKE_SEND_REENQUEUE_AFTER``) to a worker again. In production those are
300 s, 300 s and 3,600 s, so the ledger's way back comes first, about five minutes after a kill.
R1 keeps that order and those mechanisms, scaled down through the same environment settings
(10 s, 10 s and 20 s); everything else is the production code and configuration.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func

from intake.config import celery_settings
from intake.extensions import db
from intake.inquiries import starting
from intake.messaging.cadences import load_cadences
from intake.messaging.followups import cadence_key
from intake.messaging.sends import schedule_send
from intake.models import Inquiry, Lead, OutboxEvent, Send
from intake.models.types import utcnow
from intake.public import views
from intake.questionnaire.definition import load_definition
from tests.conftest import ABOUT_MS, CONSENT, CONTACT, HEALTH, form_data, hidden_fields
from tests.drills.conftest import (
    Kill,
    drive_through_kills,
    duplicates,
    kill_while_every_message_is_recorded,
    queues_idle,
    restore_orphans,
    unacked,
)
from tests.factories import add_patient, schedule_step
from tests.live import NoRedirect, Rendezvous, poll, serving

pytestmark = [pytest.mark.drill, pytest.mark.timeout(240)]

REPO = Path(__file__).resolve().parents[2]
SESSION_COOKIE = "intake_session"
QUESTIONNAIRE = load_definition("ms_inquiry").questionnaire


def publish(app, task: str, **kwargs) -> None:
    app.extensions["celery"].send_task(task, kwargs=kwargs)


def ledger(app, cadence: str) -> dict[str, int]:
    """How many of this cadence's ledger rows are in each status."""
    with app.app_context():
        rows = db.session.execute(
            db.select(Send.status, func.count(Send.id))
            .where(Send.cadence == cadence)
            .group_by(Send.status)
        ).all()
        db.session.remove()
    return dict(rows)


def unsent(app, cadence: str) -> list[dict]:
    """The rows of this cadence not sent, with what the ledger knows of them."""
    fields = ("id", "status", "attempts", "last_error", "due_at", "enqueued_at", "claimed_at")
    with app.app_context():
        rows = db.session.scalars(
            db.select(Send).where(Send.cadence == cadence, Send.status != "sent")
        ).all()
        return [{name: getattr(row, name) for name in fields} for row in rows]


# ---------------------------------------------------------------------------------------------
# R1: kill -9 the worker twice during 500 confirmations

R1_EMAILS = 500
R1_WINDOW_EMAILS = 200  # enough to show the window; the full 500 run is the one below
R1_KILL_AT = (0.30, 0.60)
R1_SINK_DELAY = 0.02
R1_SWEEP_EVERY = 3.0  # as beat would, only more often
R1_DEADLINE = 150.0
# The production timeouts (300 s, 300 s, 3,600 s) scaled down, in the same order.
R1_TIMEOUTS = {
    "INTAKE_SEND_CLAIM_TIMEOUT": 10,
    "INTAKE_SEND_REENQUEUE_AFTER": 10,
    "INTAKE_BROKER_VISIBILITY_TIMEOUT": 20,  # task_time_limit follows: 10 s (soft 8 s)
}
R1_ENV = {name: str(value) for name, value in R1_TIMEOUTS.items()}


def seed_confirmations(app, count: int) -> None:
    """``count`` completed inquiries with email consent, each with its confirmation due now."""
    now = utcnow()
    with app.app_context():
        inquiries = [
            add_patient(number=n, time_zone="UTC", purposes=("contact_email",), now=now)
            for n in range(count)
        ]
        db.session.flush()
        for inquiry in inquiries:
            schedule_step("confirmation", inquiry, step=1, due_at=now, now=now)
        db.session.commit()
        db.session.remove()
    assert ledger(app, "confirmation") == {"scheduled": count}


def kill_while_a_message_is_unrecorded(sink, workers, worker, kills: list[Kill], started):
    """The sink has accepted message N and is slow to answer its QUIT: its worker has had the
    ``250`` and is saying goodbye. Kill -9 now: the row must already say "sent"."""
    held = poll(lambda: sink.goodbyes_held > len(kills), timeout=10, every=0.01)
    assert held, "the worker never reached its slow goodbye"
    # The other processes are kept out of their own few-millisecond gap between the server's
    # 250 and the ledger commit (new messages held, accepted ones given time to be recorded),
    # so this kill tests the goodbye alone.
    sink.paused = True
    time.sleep(0.5)
    workers.kill(worker)
    kills.append(Kill(sink.accepted, round(time.monotonic() - started, 1)))
    time.sleep(0.5)
    sink.paused = False


def run_r1(*, app, redis_url, sink, workers, kill, restore: bool, emails: int) -> dict:
    """Send ``emails`` confirmations through a worker killed twice; the figures seen."""
    seed_confirmations(app, emails)
    sink.delay = R1_SINK_DELAY
    thresholds = [int(emails * fraction) for fraction in R1_KILL_AT]
    if kill is kill_while_a_message_is_unrecorded:
        sink.slow_goodbyes = set(thresholds)
    batch = drive_through_kills(
        app=app,
        workers=workers,
        thresholds=thresholds,
        landed=lambda: sink.accepted,
        kill=lambda *args: kill(sink, *args),
        done=lambda: ledger(app, "confirmation").get("sent") == emails,
        deadline=R1_DEADLINE,
        sweep_every=R1_SWEEP_EVERY,
    )
    worker, kills, started, batch_seconds = batch.worker, batch.kills, batch.started, batch.seconds
    orphans = unacked(redis_url)
    if restore and len(kills) == len(thresholds):
        worker, orphans = restore_orphans(
            redis_url=redis_url,
            workers=workers,
            worker=worker,
            last_kill=started + kills[-1].at_seconds,
            visibility=R1_TIMEOUTS["INTAKE_BROKER_VISIBILITY_TIMEOUT"],
        )
    # Anything still to come (a second copy from a re-swept row) arrives before we count.
    poll(lambda: queues_idle(redis_url, orphans=orphans), timeout=30)
    time.sleep(2)
    counts, keys = ledger(app, "confirmation"), sink.keys()
    with app.app_context():
        reclaimed = db.session.scalar(
            db.select(func.count(Send.id)).where(Send.cadence == "confirmation", Send.attempts > 1)
        )
    return {
        "sent": counts.get("sent", 0),
        "accepted": sum(keys.values()),
        "distinct_message_ids": len(sink.message_ids()),
        "duplicates": duplicates(keys),
        "dead": counts.get("dead", 0),
        "emails": emails,
        "unsent": emails - counts.get("sent", 0),
        "kills": len(kills),
        "kill_points": "/".join(f"{k.at_accepted}@{k.at_seconds}s" for k in kills),
        "reclaimed": reclaimed,
        "orphans": orphans,
        "orphans_put_back": "yes" if restore else "no",
        "timeouts": "/".join(str(v) for v in R1_TIMEOUTS.values()),
        "seconds": round(batch_seconds, 1),
    }


def assert_r1_holds(figures: dict, app) -> None:
    emails = figures["emails"]
    assert figures["kills"] == 2, f"the batch ended before both kills: {figures}"
    assert figures["dead"] == 0, figures
    assert figures["sent"] == emails, unsent(app, "confirmation")
    assert figures["distinct_message_ids"] == emails, figures
    if figures["duplicates"]:
        raise AssertionError(f"{figures['duplicates']} emails accepted twice by the SMTP sink")
    assert figures["accepted"] == emails, figures


@pytest.mark.parametrize(
    ("drill_id", "kill", "restore", "emails"),
    [
        # A kill -9 while the worker says goodbye after the SMTP server accepted: no repeat.
        ("R1-window", kill_while_a_message_is_unrecorded, False, R1_WINDOW_EMAILS),
        # Two kill -9s with every accepted message recorded: 500 emails, once each, none dead.
        ("R1", kill_while_every_message_is_recorded, True, R1_EMAILS),
    ],
    ids=["kill_during_the_goodbye", "two_kills_outside_the_acceptance_window"],
)
def test_r1_a_killed_worker_sends_nothing_twice_and_loses_nothing(
    drill_id,
    kill,
    restore,
    emails,
    worker_app,
    worker_settings,
    smtp_sink,
    killable_workers,
    drill_report,
):
    sink, _ = smtp_sink
    figures = run_r1(
        app=worker_app,
        redis_url=worker_settings["REDIS_URL"],
        sink=sink,
        workers=killable_workers(R1_ENV),
        kill=kill,
        restore=restore,
        emails=emails,
    )
    drill_report(drill_id, kill_during=kill.__name__.removeprefix("kill_while_"), **figures)
    assert_r1_holds(figures, worker_app)


# ---------------------------------------------------------------------------------------------
# R6: a follow-up due in the future goes once, at its time, from the ledger and beat

R6_DUE_IN = 10.0  # seconds; beat's relay sweeps every 10 s, its own sweep every 30 s
R6_WAIT = 60.0
ETA_LIKE = re.compile(
    r"\bcountdown\s*=|\beta\s*=|\.apply_async\s*\(|\.retry\s*\(|default_retry_delay|retry_backoff"
)


def daytime_zone() -> str:
    """A fixed-offset zone where it is now early afternoon, far from the patient's quiet hours."""
    hour = utcnow().hour
    offset = next(o for o in range(-12, 15) if 12 <= (hour + o) % 24 <= 14)
    return f"Etc/GMT{'-' if offset >= 0 else '+'}{abs(offset)}"


def test_r6_a_follow_up_due_in_the_future_is_sent_once_at_its_time_by_beat(
    worker_app, worker_settings, smtp_sink, start_worker, drill_report
):
    sink, _ = smtp_sink
    redis_url = worker_settings["REDIS_URL"]
    started = time.monotonic()
    start_worker(beat=True)
    publish(worker_app, "periodic.sweep_sends")  # returns once the worker is consuming
    assert poll(lambda: queues_idle(redis_url), timeout=60), "the worker did not start"

    now = utcnow()
    due = now + timedelta(seconds=R6_DUE_IN)
    with worker_app.app_context():
        inquiry = add_patient(
            number=1,
            time_zone=daytime_zone(),
            purposes=("contact_email", "follow_up_emails"),
            now=now,
        )
        db.session.flush()
        schedule_step("nurture", inquiry, step=1, due_at=due, now=now)
        db.session.commit()
        row = db.session.scalars(db.select(Send)).one()
        key, row_id = row.key, row.id
    header = hashlib.sha256(key.encode()).hexdigest()
    publish(worker_app, "periodic.sweep_sends")  # a sweep while the row is not yet due
    assert poll(lambda: queues_idle(redis_url), timeout=R6_DUE_IN, every=0.05)
    early_sweep_done = utcnow()
    assert early_sweep_done < due and sink.accepted == 0

    sink.wait_for(lambda m: str(m["X-Intake-Idempotency-Key"]).strip() == header, R6_WAIT)
    arrived = sink.received_at[0]
    for _ in range(2):  # two more sweeps, as two beats would publish them
        publish(worker_app, "periodic.sweep_sends")
    assert poll(lambda: queues_idle(redis_url), timeout=30)
    time.sleep(2)
    with worker_app.app_context():
        sent = db.session.get(Send, row_id)
    drill_report(
        "R6",
        copies=sink.keys()[header],
        due_in=R6_DUE_IN,
        sent_after_due=round((arrived - due).total_seconds(), 1),
        early_sweep_before_due=round((due - early_sweep_done).total_seconds(), 1),
        status=sent.status,
        seconds=round(time.monotonic() - started, 1),
    )
    assert sink.keys() == {header: 1}
    assert arrived >= due and sent.sent_at >= due
    assert (arrived - due).total_seconds() < R6_WAIT
    assert (sent.status, sent.attempts) == ("sent", 1)


def eta_like_calls() -> list[tuple[str, int, str]]:
    """Every countdown, eta, apply_async or retry in the app and worker code."""
    found = []
    for path in sorted([*REPO.glob("intake/**/*.py"), *REPO.glob("workers/**/*.py")]):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if ETA_LIKE.search(line.split("#", 1)[0]):
                found.append((str(path.relative_to(REPO)), number, line.strip()))
    return found


def test_r6_no_countdown_or_eta_in_the_code_outlives_the_brokers_visibility_timeout(
    drill_report,
):
    settings = celery_settings("redis://127.0.0.1:6379/0", None)
    visibility = settings["broker_transport_options"]["visibility_timeout"]
    found = eta_like_calls()
    too_long = []
    for where in found:  # any that appear must name a literal number of seconds within it
        literal = re.search(r"(?:countdown|eta|retry_delay)\s*=\s*(\d+)", where[2])
        if literal is None or int(literal.group(1)) >= visibility:
            too_long.append(where)
    drill_report(
        "R6-static",
        files=len([*REPO.glob("intake/**/*.py"), *REPO.glob("workers/**/*.py")]),
        eta_like_calls=len(found),
        beyond_visibility_or_unknown=len(too_long),
        visibility_timeout=visibility,
        task_time_limit=settings["task_time_limit"],
    )
    assert too_long == [], too_long
    assert found == [], "far-future work belongs in the ledger with a due_at, not on Redis"
    assert settings["task_time_limit"] < visibility


# ---------------------------------------------------------------------------------------------
# R7: the same form twice at once and five times in a row, with a real worker


@dataclass
class Reply:
    status: int
    location: str | None
    cookie: str | None
    text: str

    def get_data(self, as_text: bool = False):
        return self.text if as_text else self.text.encode()


def fetch(base: str, path: str, *, cookie: str, data=None) -> Reply:
    """One request as a browser would make it, redirects not followed; the session it sets."""
    body = urllib.parse.urlencode(list(data.items(multi=True))).encode() if data else None
    request = urllib.request.Request(base + path, data=body, headers={"Cookie": cookie})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        response = opener.open(request, timeout=30)
    except urllib.error.HTTPError as error:
        response = error
    with response:
        cookies = [c.split(";", 1)[0] for c in response.headers.get_all("Set-Cookie") or []]
        session = next((c for c in cookies if c.startswith(f"{SESSION_COOKIE}=")), None)
        return Reply(
            response.status, response.headers.get("Location"), session, response.read().decode()
        )


def fetch_together(base: str, path: str, *, cookie: str, data, copies: int = 2) -> list[Reply]:
    """The same form sent ``copies`` times at the same moment."""
    start, replies = threading.Barrier(copies), [None] * copies

    def send(index: int) -> None:
        start.wait(timeout=10)
        replies[index] = fetch(base, path, cookie=cookie, data=data)

    threads = [threading.Thread(target=send, args=(index,)) for index in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return replies


def thank_you_page(base: str, reply: Reply, cookie: str) -> str:
    assert reply.status == 303, (reply.status, reply.text[:300])
    assert urlsplit(reply.location).path == "/inquiry/sent"
    page = fetch(base, "/inquiry/sent", cookie=reply.cookie or cookie)
    assert page.status == 200
    return page.text


def count(app, model, **where) -> int:
    with app.app_context():
        return db.session.scalar(db.select(func.count()).select_from(model).filter_by(**where))


def test_r7_one_form_sent_twice_at_once_then_five_times_makes_one_lead_and_one_email(
    worker_app, worker_settings, smtp_sink, start_worker, monkeypatch, drill_report
):
    sink, _ = smtp_sink
    start_worker()
    # Both requests of each pair are inside the same step at once, not one after the other.
    monkeypatch.setattr(starting, "find_overlaps", Rendezvous().after(starting.find_overlaps))
    monkeypatch.setattr(views, "complete_inquiry", Rendezvous().before(views.complete_inquiry))
    started = time.monotonic()
    with serving(worker_app) as base:
        shown = fetch(base, "/inquiry", cookie="")
        cookie = shown.cookie
        first = fetch_together(
            base, "/inquiry", cookie=cookie, data=form_data(hidden_fields(shown), CONTACT)
        )
        assert [(r.status, urlsplit(r.location).path) for r in first] == [
            (302, "/inquiry/about_ms")
        ] * 2
        cookie = first[0].cookie or cookie
        for path, answers in (("/inquiry/about_ms", ABOUT_MS), ("/inquiry/health", HEALTH)):
            step = fetch(base, path, cookie=cookie)
            saved = fetch(base, path, cookie=cookie, data=form_data(hidden_fields(step), answers))
            assert saved.status == 302, saved.text[:300]
            cookie = saved.cookie or cookie
        final = form_data(hidden_fields(fetch(base, "/inquiry/consent", cookie=cookie)), CONSENT)

        together = fetch_together(base, "/inquiry/consent", cookie=cookie, data=final)
        pages = [thank_you_page(base, reply, cookie) for reply in together]
        cookie = together[0].cookie or cookie
        for _ in range(5):
            again = fetch(base, "/inquiry/consent", cookie=cookie, data=final)
            pages.append(thank_you_page(base, again, cookie))
            cookie = again.cookie or cookie

    publish(worker_app, "outbox.relay")  # as beat would, should a nudge have been skipped
    patient = CONTACT["email"].lower()
    sink.wait_for(lambda m: m["To"] == patient, timeout=60)
    publish(worker_app, "outbox.relay")  # the relay and a sweep again: nothing more to send
    publish(worker_app, "periodic.sweep_sends")
    assert poll(lambda: queues_idle(worker_settings["REDIS_URL"]), timeout=30)
    time.sleep(2)
    emails = sink.to(patient)
    drill_report(
        "R7",
        posts=7,
        leads=count(worker_app, Lead),
        inquiries=count(worker_app, Inquiry),
        completed_events=count(worker_app, OutboxEvent, topic="inquiry.completed"),
        confirmations=len(emails),
        distinct_thank_you_pages=len(set(pages)),
        seconds=round(time.monotonic() - started, 1),
    )
    assert len(set(pages)) == 1 and "Thank you, your inquiry has been sent" in pages[0]
    assert count(worker_app, Lead) == count(worker_app, Inquiry) == 1
    assert count(worker_app, OutboxEvent, topic="inquiry.started") == 1
    assert count(worker_app, OutboxEvent, topic="inquiry.completed") == 1
    assert [m["Subject"] for m in emails] == ["We have received your inquiry"]
    assert ledger(worker_app, "confirmation") == {"sent": 1}


# ---------------------------------------------------------------------------------------------
# Found while writing the drills: schedule_send said False on PostgreSQL for a row it added (an
# INSERT's rowcount is -1 there), so plan_followups and plan_digests reported 0 planned. Fixed
# in intake/messaging/sends.py (RETURNING the id) while the drills were written; kept as a pin.


def test_schedule_send_says_true_when_it_adds_a_row_on_postgresql(worker_app, drill_report):
    now = utcnow()
    with worker_app.app_context():
        inquiry = add_patient(number=1, time_zone="UTC", purposes=("contact_email",), now=now)
        db.session.flush()
        cadence = load_cadences()["confirmation"]
        fields = {
            "key": cadence_key(cadence, lead_id=inquiry.lead_id, inquiry_id=inquiry.id, step=1),
            "cadence": cadence.name,
            "template": cadence.template,
            "due_at": now,
            "now": now,
            "lead_id": inquiry.lead_id,
        }
        first, second = schedule_send(**fields), schedule_send(**fields)
        rows = db.session.scalar(db.select(func.count(Send.id)))
        db.session.rollback()
    drill_report("schedule_send", dialect="postgresql", first=first, second=second, rows=rows)
    assert rows == 1 and second is False
    assert first is True
