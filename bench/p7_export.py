"""P7 CSV export of 200,000 leads, streamed, vs a plain psycopg cursor + csv.writer loop.

The project side is the real export view (``GET /staff/export.csv``, signed in as an admin,
filtered to the newest ~200,000 leads by creation date), its streamed body read chunk by chunk
through the test client. The floor is the same rows and columns (same joins, same order) read
through a psycopg server-side cursor in batches of 500 and written by ``csv.writer`` to a
discarded buffer, with no formula guard and times as ``str()`` writes them. Each run is its own
subprocess, so memory is the subprocess's own: growth is its peak RSS (sampled by a thread)
minus its RSS just before the export starts, after warm-up.
Throughput is rows per second of the export itself (process start-up excluded).

The export (``intake.leads.export``) reads plain tuples through the connection's streaming
cursor, gets its times as ISO 8601 text and yes/no from the database, and runs the formula
guard once per distinct text value of a batch; the rows go to ``csv.writer`` as they come.
Target (issue 16): at least 0.8 × the floor's rows per second.
"""

# ruff: noqa: S603, S607 - runs python, valgrind and callgrind_control on our own arguments

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psutil

from bench.harness import interleave, median, result

ROWS = 200_000
RATIO_TARGET = 0.8
MEMORY_TARGET_MB = 30.0
FLOOR_SQL = """
SELECT l.id, l.created_at, l.status, o.name, t.name, l.source, l.utm_campaign, l.country,
       l.region, l.ms_type, l.eligibility_outcome, l.incomplete, l.sla_due_at,
       l.first_contacted_at, l.first_name, l.last_name, l.email, l.phone, l.language
FROM leads AS l
LEFT JOIN staff_users AS o ON o.id = l.owner_id
LEFT JOIN teams AS t ON t.id = l.team_id
WHERE l.created_at >= %s
ORDER BY l.sla_due_at NULLS LAST, l.id
"""


def _created_from(leads: int) -> datetime:
    days = min(730, int(730 * ROWS / max(leads, 1)) + 1)
    day = (datetime.now(UTC) - timedelta(days=days)).date()
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC)


def _rss() -> int:
    return psutil.Process().memory_info().rss


class PeakRSS:
    """The process's peak RSS while the block runs, sampled every 5 ms by a thread.

    (``ru_maxrss`` would be simpler, but Linux carries it across exec from the parent that
    spawned this process, so it can report the parent's peak.)"""

    def __enter__(self):
        self.before = self.peak = _rss()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._done.wait(0.005):
            self.peak = max(self.peak, _rss())

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.before) / 2**20


def child_project(database_url: str, created_from: datetime) -> dict:
    from bench.data import ADMIN_EMAIL
    from bench.harness import bench_app, signed_in_client

    app = bench_app(database_url)
    client = signed_in_client(app, ADMIN_EMAIL)
    url = f"/staff/export.csv?view=all&sort=sla&created_from={created_from:%Y-%m-%d}"
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    warm = client.get(f"/staff/export.csv?created_from={tomorrow:%Y-%m-%d}", buffered=False)
    next(iter(warm.response), None)  # warm-up: imports, templates, connection
    warm.close()
    with PeakRSS() as memory:
        started = time.perf_counter()
        response = client.get(url, buffered=False)
        assert response.status_code == 200, response.status_code
        lines = 0
        for chunk in response.response:
            lines += chunk.count("\n") if isinstance(chunk, str) else chunk.count(b"\n")
        response.close()
        elapsed = time.perf_counter() - started
    return {"rows": lines - 1, "seconds": elapsed, "growth_mb": memory.growth_mb}


def child_floor(database_url: str, created_from: datetime) -> dict:
    import psycopg

    from bench.data import ADMIN_EMAIL
    from bench.harness import psycopg_url

    with psycopg.connect(psycopg_url(database_url)) as connection:
        # The export reads "created from" as a day in the reader's time zone (the admin's is
        # America/New_York): the floor starts at that same midnight, so both read the same rows.
        zone = connection.execute(
            "SELECT time_zone FROM staff_users WHERE email = %s", (ADMIN_EMAIL,)
        ).fetchone()[0]
        midnight = datetime.min.time()
        created_from = datetime.combine(created_from.date(), midnight, tzinfo=ZoneInfo(zone))
        with PeakRSS() as memory:
            started = time.perf_counter()
            rows = 0
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            with connection.cursor(name="export") as cursor:
                cursor.execute(FLOOR_SQL, (created_from,))
                while batch := cursor.fetchmany(500):
                    writer.writerows(batch)
                    rows += len(batch)
                    buffer.seek(0)
                    buffer.truncate()
            elapsed = time.perf_counter() - started
    return {"rows": rows, "seconds": elapsed, "growth_mb": memory.growth_mb}


def _spawn(side: str, database_url: str, created_from: datetime) -> dict:
    output = subprocess.run(
        [sys.executable, "-m", "bench.p7_export", side, database_url, created_from.isoformat()],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def run(args) -> None:
    rounds = 2 if args.quick else 4
    created_from = _created_from(args.leads)
    runs: dict[str, list[dict]] = {"floor": [], "project": []}

    def side(name: str):
        def call() -> float:
            measured = _spawn(name, args.database_url, created_from)
            runs[name].append(measured)
            return measured["rows"] / measured["seconds"]

        return call

    floor_samples, project_samples = interleave(side("floor"), side("project"), rounds)
    rows = {run["rows"] for run in runs["project"] + runs["floor"]}
    assert len(rows) == 1, f"the two sides exported different row counts: {rows}"
    value, floor = median(project_samples), median(floor_samples)
    result(
        "P7.throughput",
        value,
        floor,
        f">={RATIO_TARGET}x_floor",
        value >= RATIO_TARGET * floor,
        unit="rows/s",
        note=f"median of {rounds} runs each, {rows.pop():,} rows",
    )
    growth = max(run["growth_mb"] for run in runs["project"])
    floor_growth = max(run["growth_mb"] for run in runs["floor"])
    result(
        "P7.memory",
        growth,
        floor_growth,
        f"<{MEMORY_TARGET_MB:.0f}MB",
        growth < MEMORY_TARGET_MB,
        unit="MB",
        note="peak RSS growth during the export, worst run, sampled in each subprocess",
    )


if __name__ == "__main__":
    _side, _url, _from = sys.argv[1:4]
    _child = child_project if _side == "project" else child_floor
    print(json.dumps(_child(_url, datetime.fromisoformat(_from))))
