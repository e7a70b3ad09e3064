"""P2: submit latency with N (1 M) leads in the table against none.

The same project server (gunicorn, as production runs it) twice: once on the benchmark's data
set of ``args.leads`` leads, once on an empty migrated database. One client sends the submit of
P1 (``POST /inquiry``: dedupe lookup, lead, inquiry and outbox event) one request at a time, so
each sample is a request's own latency, never a queue; the two sides alternate in short rounds
(A B B A …) so a busy moment on the shared machine hits both. Each post has a new email and
phone (in an exchange no lead of the large database holds, which outlives the run), so the
dedupe lookup searches the whole table and finds nothing, its worst case.
"""

from __future__ import annotations

from bench.harness import median, p95, result
from bench.load import drive, gunicorn, harness_spec
from bench.p1_submit import REDIS_URL, Patients, drop_database, fresh_database, unused_exchange

EMPTY = "intake_bench_empty"
TARGET = 1.2


def run(args) -> None:
    rounds, per_round = (4, 12) if args.quick else (16, 40)
    full_url = args.database_url
    empty_url = fresh_database(EMPTY)
    # The large database outlives the run: its posts take numbers no earlier run sent.
    patients = Patients("p2", exchange=unused_exchange(full_url))
    try:
        with (
            gunicorn(harness_spec(full_url, REDIS_URL), probe="/healthz") as (full_base, _),
            gunicorn(harness_spec(empty_url, REDIS_URL), probe="/healthz") as (empty_base, _),
        ):
            sides = {"full": full_base, "empty": empty_base}
            samples: dict[str, list[float]] = {"full": [], "empty": []}
            failed = 0
            for thread, name in enumerate(sides):
                patients.open_form(sides[name], thread)

            def once(name: str, count: int, keep: bool) -> None:
                nonlocal failed
                thread = list(sides).index(name)
                load = drive(
                    sides[name],
                    lambda _, thread=thread: patients.post("/inquiry")(thread),
                    threads=1,
                    seconds=120,
                    max_requests=count,
                )
                failed += load.failed
                if keep:
                    samples[name].extend(load.latencies)

            once("full", 5, keep=False)  # warm both: imports, pools, caches
            once("empty", 5, keep=False)
            for number in range(rounds):
                order = ("full", "empty") if number % 2 == 0 else ("empty", "full")
                for name in order:
                    once(name, per_round, keep=True)
    finally:
        drop_database(EMPTY)
    value, floor = p95(samples["full"]) * 1000, p95(samples["empty"]) * 1000
    ratio = value / floor
    note = (
        f"POST /inquiry p95, {args.leads:,} leads vs empty DB, 1 client, "
        f"{rounds}x{per_round} posts a side alternating; "
        f"p50 full={median(samples['full']) * 1000:.1f}ms "
        f"empty={median(samples['empty']) * 1000:.1f}ms; failed={failed}"
    )
    result("P2", value, floor, f"p95_ratio<={TARGET}", ratio <= TARGET and failed == 0, "ms", note)
