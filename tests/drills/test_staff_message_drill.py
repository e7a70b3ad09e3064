"""R8's first half (QUALITY.md): messages staff write to patients, by email and by text, through
real Celery worker processes, real PostgreSQL and Redis, the drills' SMTP sink and a loopback
HTTP server taking the official Twilio library's real requests; each test prints one ``DRILL``
line.

R8: a batch of staff-written emails and texts through a worker killed with ``kill -9`` twice
(as R1 kills it: new messages held back at the sink and the provider, every accepted one given
time to be recorded, then the whole process group killed); each message arrives at most once,
and all of them arrive, none dead. The rows a killed worker left mid-send come back through the
ledger once their claim is older than ``INTAKE_SEND_CLAIM_TIMEOUT`` (scaled down as R1 does).

R8-stops: messages queued in the ledger and already handed to the broker, then an unsubscribe,
a STOP through the signed webhook or a withdrawal of text consent before any worker runs, and a
STOP for rows a killed worker left mid-send: none of those messages arrives anywhere, every
other one arrives once.

A drill with a real worker runs on the real clock: the leads live in a fixed-offset zone where
it is now early afternoon, so no text waits for the patient's daytime.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
from sqlalchemy import func
from twilio.request_validator import RequestValidator

from intake.conversations import outgoing
from intake.extensions import db
from intake.messaging.unsubscribe import unsubscribe_lead
from intake.models import Lead, Send
from intake.models.types import utcnow
from tests.drills.conftest import (
    drive_through_kills,
    duplicates,
    kill_while_every_message_is_recorded,
    queues_idle,
    restore_orphans,
    unacked,
)
from tests.drills.provider import TOKEN
from tests.factories import add_patient, make_staff, record_consent
from tests.live import poll
from tests.workers.conftest import zone_where_it_is
from workers.tasks import sweep_sends

pytestmark = [pytest.mark.drill, pytest.mark.timeout(240)]

LEADS = 200  # each is written one email and one text: 400 messages
KILL_AT = (0.30, 0.60)
DELAY = 0.02  # seconds the sink and the provider take to accept each message
SWEEP_EVERY = 3.0
DEADLINE = 150.0
# R1's scaled-down timeouts (production: 300 s, 300 s, 3,600 s), in the same order.
TIMEOUTS = {
    "INTAKE_SEND_CLAIM_TIMEOUT": 10,
    "INTAKE_SEND_REENQUEUE_AFTER": 10,
    "INTAKE_BROKER_VISIBILITY_TIMEOUT": 20,
}
SUBJECT = "About your inquiry"
HOOK = "/hooks/texts/twilio"


def worker_env(provider) -> dict:
    return {"SMS_URL": provider.url, **{name: str(value) for name, value in TIMEOUTS.items()}}


def phone(number: int) -> str:
    return f"+1202555{number:04d}"


def words(number: int, channel: str) -> str:
    """What staff write: the patient's first name and a mark of its own on every message."""
    return (
        f"Hello Pat{number}, this is Cora from the clinic. When may we call? ({channel} {number})"
    )


def write_to_patients(app, numbers, channels: dict[int, tuple[str, ...]]) -> dict[int, int]:
    """Leads ``numbers`` (consent to email and texts, daytime now), each written a message on
    each of its channels by a coordinator, committed; {lead number: lead id}."""
    zone = zone_where_it_is(13)
    with app.app_context():
        coordinator = make_staff("coordinator", name="Cora Drill")
        leads = {}
        for number in numbers:
            inquiry = add_patient(
                number=number,
                time_zone=zone,
                purposes=("contact_email", "contact_text"),
                now=utcnow(),
            )
            inquiry.lead.phone = phone(number)
            db.session.flush()
            leads[number] = inquiry.lead
        for number, lead in leads.items():
            for channel in channels[number]:
                draft = outgoing.draft(
                    lead=lead,
                    channel=channel,
                    subject=SUBJECT if channel == "email" else None,
                    body=words(number, channel),
                )
                outgoing.queue_message(lead=lead, message=draft, actor=coordinator, now=utcnow())
        db.session.commit()
        ids = {number: lead.id for number, lead in leads.items()}
        db.session.remove()
    return ids


def rows(app) -> list[tuple[int, str, str, str | None, int, str | None]]:
    """Every staff message's ledger row: (lead, channel, status, reason, attempts, message id)."""
    with app.app_context():
        found = db.session.execute(
            db.select(
                Send.lead_id,
                Send.channel,
                Send.status,
                Send.finished_reason,
                Send.attempts,
                Send.message_id,
            ).where(Send.cadence == outgoing.CADENCE)
        ).all()
        db.session.remove()
    return [tuple(row) for row in found]


def statuses(app) -> Counter:
    return Counter(status for _lead, _channel, status, *_rest in rows(app))


def email_ids(sink) -> Counter:
    """How many times the sink accepted each Message-ID."""
    with sink.lock:
        return Counter(str(message["Message-ID"]).strip() for message in sink.messages)


def emailed(sink) -> Counter:
    with sink.lock:
        return Counter(str(message["To"]) for message in sink.messages)


def settle(redis_url: str, orphans: int) -> None:
    """Anything still to come (a second copy from a re-swept row) arrives before we count."""
    poll(lambda: queues_idle(redis_url, orphans=orphans), timeout=30)
    time.sleep(2)


# ---------------------------------------------------------------------------------------------
# R8: kill -9 the worker twice during 200 staff emails and 200 staff texts


def test_r8_a_killed_worker_sends_no_staff_message_twice_and_loses_none(
    worker_app, worker_settings, smtp_sink, text_provider, killable_workers, drill_report
):
    sink, _ = smtp_sink
    redis_url = worker_settings["REDIS_URL"]
    worker_app.config["SMS_URL"] = text_provider.url
    total = 2 * LEADS
    write_to_patients(worker_app, range(LEADS), dict.fromkeys(range(LEADS), ("email", "text")))
    assert statuses(worker_app) == {"scheduled": total}
    sink.delay = text_provider.delay = DELAY
    workers = killable_workers(worker_env(text_provider))

    batch = drive_through_kills(
        app=worker_app,
        workers=workers,
        thresholds=[int(total * fraction) for fraction in KILL_AT],
        landed=lambda: sink.accepted + text_provider.accepted,
        kill=lambda *args: kill_while_every_message_is_recorded(sink, *args, also=(text_provider,)),
        done=lambda: statuses(worker_app).get("sent") == total,
        deadline=DEADLINE,
        sweep_every=SWEEP_EVERY,
    )
    orphans = unacked(redis_url)
    if len(batch.kills) == len(KILL_AT):  # put the killed workers' messages back: no effect
        _worker, orphans = restore_orphans(
            redis_url=redis_url,
            workers=workers,
            worker=batch.worker,
            last_kill=batch.started + batch.kills[-1].at_seconds,
            visibility=TIMEOUTS["INTAKE_BROKER_VISIBILITY_TIMEOUT"],
        )
    settle(redis_url, orphans)

    ledger = rows(worker_app)
    counts = Counter(status for _lead, _channel, status, *_rest in ledger)
    emails, texts = email_ids(sink), text_provider.counts()
    recorded_ids = {
        message_id for _l, channel, _s, _r, _a, message_id in ledger if channel == "email"
    }
    expected_texts = {(phone(number), words(number, "text")) for number in range(LEADS)}
    figures = {
        "messages": total,
        "sent": counts.get("sent", 0),
        "emails_accepted": sum(emails.values()),
        "distinct_message_ids": len(emails),
        "email_duplicates": duplicates(emails),
        "texts_taken": sum(texts.values()),
        "distinct_texts": len(texts),
        "text_duplicates": duplicates(texts),
        "dead": counts.get("dead", 0),
        "kills": len(batch.kills),
        "kill_points": "/".join(f"{k.at_accepted}@{k.at_seconds}s" for k in batch.kills),
        "held_requests_dropped": text_provider.dropped,
        "reclaimed": sum(1 for *_rest, attempts, _id in ledger if attempts > 1),
        "orphans_put_back": orphans,
        "timeouts": "/".join(str(value) for value in TIMEOUTS.values()),
        "seconds": round(batch.seconds, 1),
    }
    drill_report("R8", **figures)
    assert figures["kills"] == 2, f"the batch ended before both kills: {figures}"
    assert figures["email_duplicates"] == 0 and figures["text_duplicates"] == 0, figures
    assert figures["dead"] == 0, figures
    assert counts == {"sent": total}, [row for row in ledger if row[2] != "sent"]
    assert set(emails) == recorded_ids and len(emails) == LEADS
    assert set(texts) == expected_texts


# ---------------------------------------------------------------------------------------------
# R8-stops: an unsubscribe or a STOP that arrived while the message was queued

EMAIL_LEADS, TEXT_LEADS = range(0, 20), range(20, 40)
UNSUBSCRIBED = range(0, 10)
STOPPED_BY_TEXT, CONSENT_WITHDRAWN = range(20, 25), range(25, 30)
CONCURRENCY = 4


def stop_by_text(app, number: int) -> None:
    """The patient texts STOP: the provider's signed request to the webhook."""
    form = {"MessageSid": f"SM{number:032d}", "AccountSid": "AC1", "From": phone(number),
            "To": "+15550100", "Body": "STOP", "NumMedia": "0"}  # fmt: skip
    url = app.config["INTAKE_BASE_URL"] + HOOK
    signature = RequestValidator(TOKEN).compute_signature(url, form)
    answer = app.test_client().post(HOOK, data=form, headers={"X-Twilio-Signature": signature})
    assert answer.status_code == 200, answer.status_code


def handed_over(app) -> int:
    """How many staff messages the sweep has handed to the broker and are still waiting."""
    with app.app_context():
        count = db.session.scalar(
            db.select(func.count(Send.id)).where(
                Send.cadence == outgoing.CADENCE,
                Send.status == "scheduled",
                Send.enqueued_at.is_not(None),
            )
        )
        db.session.remove()
    return count


def test_r8_no_staff_message_goes_after_an_unsubscribe_or_stop_that_came_while_it_waited(
    worker_app, worker_settings, smtp_sink, text_provider, killable_workers, drill_report
):
    sink, _ = smtp_sink
    redis_url = worker_settings["REDIS_URL"]
    worker_app.config["SMS_URL"] = text_provider.url
    channels = {n: ("email",) for n in EMAIL_LEADS} | {n: ("text",) for n in TEXT_LEADS}
    leads = write_to_patients(worker_app, [*EMAIL_LEADS, *TEXT_LEADS], channels)
    started = time.monotonic()
    with worker_app.app_context():  # the sweep, as a worker runs it: every row to the broker
        assert sweep_sends.run() == len(leads)
        db.session.remove()
    assert handed_over(worker_app) == len(leads)

    # While they wait on Redis, before any worker runs:
    with worker_app.app_context():
        for number in UNSUBSCRIBED:
            unsubscribe_lead(lead_id=leads[number], now=utcnow(), source="one_click")
        for number in CONSENT_WITHDRAWN:
            lead = db.session.get(Lead, leads[number])
            record_consent(lead, "contact_text", granted=False, at=utcnow())
        db.session.commit()
        db.session.remove()
    for number in STOPPED_BY_TEXT:
        stop_by_text(worker_app, number)

    # A worker takes them with the provider holding every text back; killed with four texts
    # mid-send, two of those patients text STOP while their rows wait for the claim timeout.
    text_provider.paused = True
    workers = killable_workers(worker_env(text_provider))
    worker = workers.start(concurrency=CONCURRENCY)
    in_flight = poll(
        lambda: (
            text_provider.held == CONCURRENCY and statuses(worker_app).get("sending") == CONCURRENCY
        ),
        timeout=60,
        every=0.1,
    )
    assert in_flight, (text_provider.held, statuses(worker_app))
    workers.kill(worker)
    killed_at = time.monotonic() - started
    mid_send = sorted(
        lead for lead, _channel, status, *_rest in rows(worker_app) if status == "sending"
    )
    numbers = {lead_id: number for number, lead_id in leads.items()}
    stopped_mid_send = [numbers[lead_id] for lead_id in mid_send[:2]]
    for number in stopped_mid_send:
        stop_by_text(worker_app, number)
    time.sleep(0.5)
    text_provider.paused = False

    batch = drive_through_kills(
        app=worker_app,
        workers=workers,
        thresholds=[],
        landed=lambda: 0,
        kill=None,
        done=lambda: not {"scheduled", "sending"} & set(statuses(worker_app)),
        deadline=60,
        sweep_every=SWEEP_EVERY,
    )
    all_final_at = time.monotonic() - started
    settle(redis_url, unacked(redis_url))

    ledger = rows(worker_app)
    reasons = Counter(
        f"{channel}:{status}:{reason}" if reason else f"{channel}:{status}"
        for _lead, channel, status, reason, *_rest in ledger
    )
    stopped = {*UNSUBSCRIBED, *STOPPED_BY_TEXT, *CONSENT_WITHDRAWN, *stopped_mid_send}
    to_stopped = sum(emailed(sink)[f"patient{n:04d}@example.org"] for n in stopped) + sum(
        count for (number, _body), count in text_provider.counts().items()
        if number in {phone(n) for n in stopped}
    )  # fmt: skip
    drill_report(
        "R8-stops",
        queued=len(leads),
        handed_to_broker=len(leads),
        unsubscribed=len(UNSUBSCRIBED),
        stop_by_webhook=len(STOPPED_BY_TEXT),
        text_consent_withdrawn=len(CONSENT_WITHDRAWN),
        stop_while_mid_send=len(stopped_mid_send),
        arrived_for_stopped=to_stopped,
        emails_accepted=sink.accepted,
        texts_taken=text_provider.accepted,
        held_requests_dropped=text_provider.dropped,
        ledger="/".join(f"{key}={count}" for key, count in sorted(reasons.items())),
        killed_at=round(killed_at, 1),
        all_final_at=round(all_final_at, 1),
        seconds=round(time.monotonic() - started, 1),
    )
    assert to_stopped == 0
    by_lead = {lead: (channel, status, reason) for lead, channel, status, reason, *_r in ledger}
    for number, lead_id in leads.items():
        channel = channels[number][0]
        if number in STOPPED_BY_TEXT:  # the STOP itself cancelled the queued text
            assert by_lead[lead_id] == ("text", "cancelled", "text_stop"), number
        elif number in UNSUBSCRIBED:  # the unsubscribe itself cancelled the queued email
            assert by_lead[lead_id] == ("email", "cancelled", "unsubscribed"), number
        elif number in stopped:  # found at send time
            assert by_lead[lead_id] == (channel, "cancelled", "no_consent"), number
        else:
            assert by_lead[lead_id] == (channel, "sent", None), number
    assert emailed(sink) == Counter(
        f"patient{n:04d}@example.org" for n in EMAIL_LEADS if n not in stopped
    )
    assert text_provider.counts() == Counter(
        (phone(n), words(n, "text")) for n in TEXT_LEADS if n not in stopped
    )
    assert text_provider.dropped == CONCURRENCY and batch.kills == []
