"""P10 steps 2–4 of the inquiry (about MS, health, consent and send), server-side p95 each.

Each sample is a new patient on the benchmark's data set (1 M leads): through the Flask test
client, untimed, they open the form, send the contact step (a new email and phone, so a new
lead) and open each later step as a browser would; then each step's POST is timed on its own:
``/inquiry/about_ms`` and ``/inquiry/health`` open the sealed answers, add the step's and seal
them again; ``/inquiry/consent`` also completes the inquiry (the claim, consents, eligibility
sealed with its triggered rules, the outbox event). The floor is P1's: ``bench.floor_app``'s
``POST /submit`` (one raw INSERT, one Redis LPUSH) through its own test client, timed between
the project's samples, alternating which goes first. One RESULT line per step, target
p95 < 50 ms, with the statements one POST of that step runs (the suite's own counter).
"""

from __future__ import annotations

import itertools
import secrets
import time

from bench.floor_app import create_floor_app, drop_floor_table
from bench.harness import BENCH_REDIS_URL, bench_app, p95, result
from bench.p1_submit import unused_exchange
from tests.conftest import CONTACT, STEPS, form_data, hidden_fields, send_step
from tests.staff.conftest import QueryCounter  # the suite's own statement counter

TARGET_MS = 50.0


def _timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def _new_patient(app, number: int, label: str, exchange: int):
    """A client whose inquiry has its contact step saved (untimed), as a new person: the phone
    is in an exchange no lead held before the run (the 1 M database outlives it)."""
    client = app.test_client()
    contact = {
        **CONTACT,
        "email": f"p10.{label}.{number}@example.org",
        "phone": f"(212) {exchange}-{number % 10000:04d}",
    }
    response = send_step(client, "/inquiry", contact)
    assert response.status_code == 302, response.status_code
    return client


def _post(client, path: str, answers: dict):
    """The step's POST, ready to send: the form as the browser got it, with the answers."""
    data = form_data(hidden_fields(client.get(path)), answers)

    def send() -> None:
        response = client.post(path, data=data)
        assert response.status_code in (302, 303), (path, response.status_code)

    return send


def run(args) -> None:
    rounds = 15 if args.quick else 80
    app = bench_app(args.database_url)
    floor_client = create_floor_app(args.database_url, BENCH_REDIS_URL).test_client()
    label, numbers = secrets.token_hex(3), itertools.count()
    exchange = unused_exchange(args.database_url)

    def floor() -> None:
        response = floor_client.post("/submit", data={"email": "p10@example.org", **CONTACT})
        assert response.status_code == 302, response.status_code

    later_steps = STEPS[1:]
    samples: dict[str, list[float]] = {path: [] for path, _ in later_steps}
    floor_samples: list[float] = []
    statements: dict[str, int] = {}
    try:
        for number in range(rounds + 2):  # a warm-up patient, the rounds, one counted
            client = _new_patient(app, next(numbers), label, exchange)
            for path, answers in later_steps:
                send = _post(client, path, answers)
                if number == rounds + 1:
                    with QueryCounter(app) as counter:
                        send()
                    statements[path] = counter.count
                elif number % 2:
                    floor_samples.append(_timed(floor))
                    samples[path].append(_timed(send))
                else:
                    samples[path].append(_timed(send))
                    floor_samples.append(_timed(floor))
                if number == 0:  # warm-up: imports, templates, pools
                    samples[path].clear()
                    floor_samples.clear()
    finally:
        drop_floor_table(args.database_url)
    floor_ms = p95(floor_samples) * 1000
    for path, _ in later_steps:
        value = p95(samples[path]) * 1000
        step = path.rsplit("/", 1)[-1]
        result(
            f"P10.{step}",
            value,
            floor_ms,
            f"p95<{TARGET_MS:.0f}ms",
            value < TARGET_MS,
            unit="ms",
            note=f"POST {path}, p95 of {rounds} new patients at {args.leads:,} leads; "
            f"{statements[path]} statements; floor = P1's INSERT+LPUSH, test client",
        )
