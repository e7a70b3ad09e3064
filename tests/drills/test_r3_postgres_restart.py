"""Drill R3 (QUALITY.md): PostgreSQL is restarted (fast mode) and crashed (immediate mode,
then started again) while patients press "Send" 20 times a second through the real gunicorn.
Every response is a success or a friendly 503; a patient shown the 503 sends the same form
again, as the page tells them to, and every inquiry ends up stored exactly once with its
outbox events. The drill's own PostgreSQL server and Redis; the shared ones are never touched.

A submission is the final POST: a two-core machine cannot also serve every patient's first
three steps at that rate. So the patients fill those in first (the server restarted once
meanwhile, so saving a step and starting a lead meet it too), then press "Send" on schedule.
CI: 10 s of sending (200 patients); ``INTAKE_DRILL_LONG=1``: 60 s."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
from flask_migrate import upgrade

from intake import create_app
from intake.config import normalise_database_url
from intake.extensions import db
from intake.models import Inquiry, Lead, OutboxEvent
from tests.conftest import STEPS, form_data, hidden_fields, send_step
from tests.drills.broker import (
    LONG,
    PatientClient,
    gunicorn,
    patient_address,
    patient_email,
    percentile,
)
from tests.drills.postgres import ThrowawayPostgres

pytestmark = pytest.mark.drill

R3_RATE = 20  # final POSTs a second (QUALITY.md)
R3_SECONDS = 60 if LONG else 10
R3_PREP_THREADS = 8  # patients filling in the first three steps at once
R3_THREADS = 64  # patients pressing "Send" at once, at most
# While "Send" is pressed: a fast restart, then a crash, down a second, and a start.
R3_RESTARTS = (("fast", 0.25), ("immediate", 0.6))
R3_DOWN_SECONDS = 1.0  # how long a crashed server stays down before it is started again
R3_RETRIES = 20  # a patient presses the button again at most this often after a 503
R3_RETRY_PAUSE = 0.5  # the page asks for a minute; a drill cannot wait that long
UNAVAILABLE_TITLE = "We are briefly unavailable"


@pytest.fixture
def throwaway_postgres():
    """The drill's own PostgreSQL server, migrated as a deploy does it; ended by its pid."""
    server = ThrowawayPostgres()
    try:
        server.start()
        app = create_app(
            {"INTAKE_ENV": "testing", "SQLALCHEMY_DATABASE_URI": normalise_database_url(server.url)}
        )
        with app.app_context():
            upgrade()
            db.engine.dispose()
        yield server
    finally:
        server.stop()


@pytest.fixture
def settings(settings, throwaway_postgres):
    """The broker drills' settings (and so their ``local_app``) on the drill's own server."""
    return {**settings, "DATABASE_URL": throwaway_postgres.url}


class PatientTryingAgain(PatientClient):
    """A patient who, shown the 503 page, waits a moment and sends the same form again (the
    page says the browser keeps what they typed). Every 503 is checked for being friendly:
    plain words, a Retry-After, no stack trace; ``unfriendly`` collects the others."""

    def __init__(self, base_url: str, address: str, unfriendly: list[str]) -> None:
        super().__init__(base_url, address, None)
        self.unfriendly = unfriendly  # shared by all patients (list.append is atomic)

    def _until_served(self, send):
        for _ in range(R3_RETRIES):
            response = send()
            if response.status_code != 503:
                return response
            text = response.get_data(as_text=True)
            retry_after = response.headers.get("Retry-After", "")
            if UNAVAILABLE_TITLE not in text or "Traceback" in text or not retry_after.isdigit():
                self.unfriendly.append(f"Retry-After={retry_after!r} {text[:200]!r}")
            time.sleep(R3_RETRY_PAUSE)
        return response

    def get(self, path: str):
        send = super().get
        return self._until_served(lambda: send(path))

    def post(self, path: str, data):
        send = super().post
        return self._until_served(lambda: send(path, data))


@dataclass
class Patient:
    index: int
    client: PatientTryingAgain
    consent: dict = field(default_factory=dict)  # the final step's hidden fields, once shown
    accepted: bool = False  # the final POST ended on the thank-you page
    submit_seconds: float | None = None  # the final POST, tries again included
    error: str | None = None


def _fill_in(patient: Patient) -> None:
    """The first three steps, then the final step shown, ready to send."""
    contact = {"email": patient_email(patient.index), "phone": f"(202) 555-{patient.index:04d}"}
    try:
        for url, answers in STEPS[:-1]:
            saved = send_step(
                patient.client, url, {**answers, **(contact if url == "/inquiry" else {})}
            )
            assert saved.status_code in (302, 303), saved.status_code
        shown = patient.client.get(STEPS[-1][0])
        assert shown.status_code == 200, shown.status_code
        patient.consent = hidden_fields(shown)
    except Exception as error:  # noqa: BLE001 (a drill counts failures; it never stops at one)
        patient.error = f"{type(error).__name__}: {str(error)[:200]}"


def _send(patient: Patient) -> None:
    """Press "Send" (and again after a 503)."""
    url, answers = STEPS[-1]
    started = time.perf_counter()
    try:
        response = patient.client.post(url, form_data(patient.consent, answers))
        patient.accepted = response.status_code == 303 and response.headers.get(
            "Location", ""
        ).endswith("/inquiry/sent")
    except Exception as error:  # noqa: BLE001 (a drill counts failures; it never stops at one)
        patient.error = f"{type(error).__name__}: {str(error)[:200]}"
    patient.submit_seconds = time.perf_counter() - started


def _restart(server: ThrowawayPostgres, mode: str, restarts: list) -> None:
    took = server.restart() if mode == "fast" else server.crash(R3_DOWN_SECONDS)
    restarts.append((mode, took))


def _load_with_restarts(base_url: str, server: ThrowawayPostgres):
    """Patients fill in three steps (a fast restart halfway through them), then press "Send"
    at R3_RATE a second for R3_SECONDS while the server is restarted and crashed. Returns the
    patients, the unfriendly 503s, the sending wall time and the restarts."""
    unfriendly: list[str] = []
    restarts: list[tuple[str, float]] = []
    patients = [
        Patient(index, PatientTryingAgain(base_url, patient_address(index), unfriendly))
        for index in range(R3_RATE * R3_SECONDS)
    ]
    halfway = threading.Thread(target=_restart, args=(server, "fast", restarts))

    def fill_in(patient: Patient) -> None:
        _fill_in(patient)
        if patient.index == len(patients) // 2:
            halfway.start()

    with ThreadPoolExecutor(max_workers=R3_PREP_THREADS) as pool:
        list(pool.map(fill_in, patients))
    halfway.join(timeout=120)

    def restarter(started: float) -> None:
        for mode, at in R3_RESTARTS:
            time.sleep(max(0.0, started + at * R3_SECONDS - time.monotonic()))
            _restart(server, mode, restarts)

    ready = [patient for patient in patients if patient.error is None]
    started = time.monotonic()
    thread = threading.Thread(target=restarter, args=(started,))
    thread.start()
    with ThreadPoolExecutor(max_workers=R3_THREADS) as pool:
        for number, patient in enumerate(ready):  # open loop: on time, busy server or not
            time.sleep(max(0.0, started + number / R3_RATE - time.monotonic()))
            pool.submit(_send, patient)
        sent_in = time.monotonic() - started
    thread.join(timeout=120)
    return patients, unfriendly, sent_in, restarts


def _stored(app) -> dict:
    """Leads per email, and the inquiries lacking their outbox events."""
    with app.app_context():
        per_email = Counter(db.session.scalars(db.select(Lead.email)).all())
        inquiries = db.session.execute(db.select(Inquiry.id, Inquiry.lead_id, Inquiry.status)).all()
        events = db.session.execute(db.select(OutboxEvent.topic, OutboxEvent.payload)).all()
        db.session.rollback()
    have = Counter((topic, payload.get("inquiry_id")) for topic, payload in events)
    leads_missing, inquiries_missing = set(), 0
    for inquiry_id, lead_id, status in inquiries:
        owed = ["inquiry.started"] + (["inquiry.completed"] if status == "complete" else [])
        if any(have[(topic, inquiry_id)] != 1 for topic in owed):
            leads_missing.add(lead_id)
            inquiries_missing += 1
    return {
        "per_email": per_email,
        "inquiries": len(inquiries),
        "complete": sum(status == "complete" for _, _, status in inquiries),
        "leads_missing_outbox": len(leads_missing),
        "inquiries_missing_outbox": inquiries_missing,
    }


@pytest.mark.timeout(300)
def test_r3_postgres_restarted_under_load_gives_successes_or_friendly_503s_and_loses_nothing(
    settings, throwaway_postgres, local_app, drill_report
):
    with gunicorn(settings) as base_url:
        patients, unfriendly, sent_in, restarts = _load_with_restarts(base_url, throwaway_postgres)
    stored = _stored(local_app)

    count = len(patients)
    statuses = Counter(status for p in patients for status in p.client.statuses)
    others = sum(n for status, n in statuses.items() if status not in (200, 302, 303, 503))
    accepted = [p for p in patients if p.accepted]
    shown_503 = [p for p in patients if 503 in p.client.statuses]
    failures = [p.error for p in patients if p.error]
    per_email = stored["per_email"]
    missing = {patient_email(p.index) for p in accepted} - set(per_email)
    duplicates = sum(n - 1 for n in per_email.values() if n > 1)
    strangers = set(per_email) - {patient_email(p.index) for p in patients}
    submits = [p.submit_seconds for p in patients if p.submit_seconds is not None]
    posts = [seconds for p in patients for seconds in p.client.post_seconds]
    drill_report(
        "R3",
        submissions=count,
        rate=f"{R3_RATE}/s",
        achieved=f"{len([p for p in patients if p.submit_seconds is not None]) / sent_in:.1f}/s",
        requests=sum(statuses.values()),
        successes=len(accepted),
        responses_503=statuses[503],
        patients_shown_503=len(shown_503),
        unfriendly_503=len(unfriendly),
        other_errors=others,
        failed_patients=len(failures),
        submit_p50=f"{percentile(submits, 0.5):.3f}s",
        submit_p95=f"{percentile(submits, 0.95):.3f}s",
        any_post_p95=f"{percentile(posts, 0.95):.3f}s",
        leads=sum(per_email.values()),
        inquiries=stored["inquiries"],
        complete=stored["complete"],
        missing=len(missing),
        duplicates=duplicates,
        leads_missing_outbox=stored["leads_missing_outbox"],
        restarts=",".join(f"{mode}:{took:.2f}s" for mode, took in restarts),
    )
    # The restarts happened, and patients met them.
    assert [mode for mode, _ in restarts] == ["fast"] + [mode for mode, _ in R3_RESTARTS]
    assert shown_503, "no patient met a restart: the drill did not test anything"
    # Every response a success or a friendly 503.
    assert others == 0, statuses
    assert not unfriendly, unfriendly[:3]
    assert not failures, failures[:3]
    # Every submission accepted in the end and stored exactly once, with its outbox events.
    assert len(accepted) == count
    assert not missing and duplicates == 0 and not strangers
    assert stored["inquiries"] == stored["complete"] == count
    assert stored["leads_missing_outbox"] == 0 and stored["inquiries_missing_outbox"] == 0
