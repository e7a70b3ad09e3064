"""P11 the REST API's lead list at pages 1, 100 and 2,000, beside P3's staff queue.

The project side is the real API call (``GET /api/v1/leads``) through the Flask test client
with a ``leads:read`` key made for the run, filtered as P3 filters the queue (the same statuses
and team, in first-contact deadline order), each deeper page reached with the ``next_cursor``
the API itself hands out. The floor is P3's: the same page's keyset SELECT through psycopg. One
RESULT line per depth (p95, target < 50 ms) with the statements per call, counted by the
suite's own counter (the audit row every call writes is among them). Then the lead page with
a thread, the patient's booking page and the staff calendar's week (``pages.py``).
"""

from __future__ import annotations

import psycopg

from bench import pages
from bench.harness import bench_app, interleave, p95, psycopg_url, result
from bench.p3_list import PAGE_SIZE, STATUSES, TEAM, _cursor_rows, _floor, _floor_first_id
from tests.staff.conftest import QueryCounter

TARGET_MS = 50.0
DEPTHS = (1, 100, 2000)


def _api_token(app) -> str:
    from intake.accounts.api_keys import create_api_key
    from intake.extensions import db
    from intake.models.types import utcnow

    with app.app_context():
        made = create_api_key(
            name="benchmark P11", scopes=["leads:read"], created_by_id=None, now=utcnow()
        )
        db.session.commit()
        return made.token


def _cursors_by_walking(client, url: str, headers: dict, depths: tuple[int, ...]) -> dict:
    """The API's own cursor for the start of each page in ``depths``, walking page by page with
    the largest page size (setup, not timed)."""
    wanted = {depth: (depth - 1) * PAGE_SIZE for depth in depths}  # rows before each page
    cursors, seen, cursor = {}, 0, None
    step = 200
    for depth, before in sorted(wanted.items()):
        while seen + step <= before:
            page = client.get(url + f"&limit={step}" + (f"&cursor={cursor}" if cursor else ""),
                              headers=headers).get_json()  # fmt: skip
            if not page.get("next_cursor"):
                return cursors
            cursor, seen = page["next_cursor"], seen + step
        rest = before - seen
        if rest:
            page = client.get(url + f"&limit={rest}" + (f"&cursor={cursor}" if cursor else ""),
                              headers=headers).get_json()  # fmt: skip
            if not page.get("next_cursor"):
                return cursors
            cursor, seen = page["next_cursor"], seen + rest
        cursors[depth] = cursor
    return cursors


def run(args) -> None:
    rounds = 15 if args.quick else 80
    depths = (1, 5, 20) if args.quick else DEPTHS
    app = bench_app(args.database_url)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {_api_token(app)}"}
    status_query = "".join(f"&status={status}" for status in STATUSES)
    base = f"/api/v1/leads?sort=sla&team={TEAM}{status_query}"
    api_cursors = _cursors_by_walking(client, base, headers, depths)
    with psycopg.connect(psycopg_url(args.database_url), autocommit=True) as connection:
        floor_cursors = _cursor_rows(connection, depths)
        for depth in depths:
            if depth not in api_cursors or depth not in floor_cursors:
                print(f"# P11: too few matching leads for page {depth}", flush=True)
                continue
            cursor, after = api_cursors[depth], floor_cursors[depth]
            url = base + f"&limit={PAGE_SIZE}" + (f"&cursor={cursor}" if cursor else "")
            expected = _floor_first_id(connection, after)

            def project(url=url, expected=expected) -> None:
                response = client.get(url, headers=headers)
                assert response.status_code == 200, response.status_code
                assert response.get_json()["items"][0]["id"] == expected

            project()  # warm-up, and the check that both sides show the same page
            floor_samples, project_samples = interleave(_floor(connection, after), project, rounds)
            value, floor = p95(project_samples) * 1000, p95(floor_samples) * 1000
            with QueryCounter(app) as counter:
                project()
            result(
                f"P11.api_leads.page{depth}",
                value,
                floor,
                f"p95<{TARGET_MS:.0f}ms",
                value < TARGET_MS,
                unit="ms",
                note=f"p95 of {rounds}; {counter.count} statements, the audit row's included",
            )
    pages.run(args, app)
