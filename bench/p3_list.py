"""P3 staff lead list, filtered (status + team), pages 1, 100 and 2,000, vs raw keyset SQL.

The project side is the real queue view (``GET /staff/``) through the Flask test client, signed
in as a coordinator, with the page's cursor made by the app's own ``encode_cursor`` (the token
its "next" link carries). The floor is the same page's keyset SELECT through psycopg, with the
row-value comparison a hand-written query would use. One RESULT line per depth, then the
deep/shallow ratio and the statements per page (counted by a SQLAlchemy event listener).
"""

from __future__ import annotations

import re

import psycopg

from bench.data import COORDINATOR_EMAIL
from bench.harness import (
    bench_app,
    interleave,
    p95,
    psycopg_url,
    result,
    signed_in_client,
)
from tests.staff.conftest import QueryCounter  # the suite's own statement counter

STATUSES = ("contacted", "not_eligible", "not_interested", "unreachable", "do_not_contact")
TEAM = 1
PAGE_SIZE = 50
DEPTHS = (1, 100, 2000)
TARGET_MS = 50.0
MAX_QUERIES = 5

FLOOR_SQL = """
SELECT l.id, l.first_name, l.last_name, l.status, l.owner_id, s.name, l.eligibility_outcome,
       l.ms_type, l.source, l.created_at, l.updated_at, l.sla_due_at, l.sla_breached_at,
       l.first_contacted_at, l.incomplete
FROM leads AS l LEFT JOIN staff_users AS s ON s.id = l.owner_id
WHERE l.status = ANY(%(statuses)s) AND l.team_id = %(team)s {after}
ORDER BY l.sla_due_at, l.id
LIMIT {limit}
"""
_LEAD_LINK = re.compile(r'href="/staff/leads/(\d+)"')


def _cursor_rows(connection, depths: tuple[int, ...]) -> dict[int, tuple | None]:
    """(sla_due_at, id) of the last row before each page, by OFFSET (setup, not timed)."""
    cursors: dict[int, tuple | None] = {}
    for depth in depths:
        if depth == 1:
            cursors[depth] = None
            continue
        row = connection.execute(
            FLOOR_SQL.format(after="", limit=f"1 OFFSET {(depth - 1) * PAGE_SIZE - 1}"),
            {"statuses": list(STATUSES), "team": TEAM},
        ).fetchone()
        if row is None:
            break
        cursors[depth] = (row[11], row[0])
    return cursors


def _floor(connection, after: tuple | None):
    clause = "AND (l.sla_due_at, l.id) > (%(value)s, %(last)s)" if after else ""
    sql = FLOOR_SQL.format(after=clause, limit=PAGE_SIZE + 1)
    params = {"statuses": list(STATUSES), "team": TEAM}
    if after:
        params.update(value=after[0], last=after[1])

    def call() -> None:
        rows = connection.execute(sql, params).fetchall()
        assert len(rows) > 1

    return call


def run(args) -> None:
    from intake.staff.leads.queue_forms import encode_cursor

    rounds = 15 if args.quick else 80
    depths = (1, 5, 20) if args.quick else DEPTHS
    app = bench_app(args.database_url)
    client = signed_in_client(app, COORDINATOR_EMAIL)
    status_query = "".join(f"&status={status}" for status in STATUSES)
    base = f"/staff/?view=all&sort=sla&team={TEAM}{status_query}"
    with psycopg.connect(psycopg_url(args.database_url), autocommit=True) as connection:
        cursors = _cursor_rows(connection, depths)
        worst = {}
        for depth, after in cursors.items():
            url = base
            if after is not None:
                url += "&after=" + encode_cursor(app.secret_key, "sla", after)
            expected = _floor_first_id(connection, after)

            def project(url=url, expected=expected) -> None:
                response = client.get(url)
                assert response.status_code == 200, response.status_code
                assert f'href="/staff/leads/{expected}"' in response.text

            project()  # warm-up, and the check that both sides show the same page
            _floor(connection, after)()
            floor_samples, project_samples = interleave(_floor(connection, after), project, rounds)
            value, floor = p95(project_samples) * 1000, p95(floor_samples) * 1000
            worst[depth] = value
            with QueryCounter(app) as counter:
                project()
            passed = value < TARGET_MS and counter.count <= MAX_QUERIES
            result(
                f"P3.page{depth}",
                value,
                floor,
                f"p95<{TARGET_MS:.0f}ms,queries<={MAX_QUERIES}",
                passed,
                unit="ms",
                note=f"p95 of {rounds}; {counter.count} queries; "
                f"{len(_LEAD_LINK.findall(client.get(url).text))} rows",
            )
        missing = [depth for depth in depths if depth not in cursors]
        if missing:
            print(f"# P3: too few matching leads for page(s) {missing}", flush=True)
        shallow, deep = worst[depths[0]], worst[max(cursors)]
        result(
            "P3.deep/shallow",
            deep / shallow,
            None,
            "<=1.5",
            deep / shallow <= 1.5,
            note=f"p95 page {max(cursors)} / page 1, project side",
        )


def _floor_first_id(connection, after: tuple | None) -> int:
    clause = "AND (l.sla_due_at, l.id) > (%(value)s, %(last)s)" if after else ""
    params = {"statuses": list(STATUSES), "team": TEAM}
    if after:
        params.update(value=after[0], last=after[1])
    return connection.execute(FLOOR_SQL.format(after=clause, limit=1), params).fetchone()[0]
