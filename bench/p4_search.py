"""P4 search by name, email and phone at 1 M leads, vs raw trigram SQL.

The project side is the real search flow, signed in as a coordinator: the term is posted to
``/staff/search`` (outside the timing, once per term, as a user does) and the results page it
redirects to (``GET /staff/?view=all&search=<id>``) is timed, one RESULT line per kind of term.
The floor is the same lookup, with the same visibility scope, order and page size, through
psycopg: ILIKE on the trigram-indexed expression for a name and an email, equality on the
B-tree-indexed column for a whole phone number (as the app looks one up).
"""

from __future__ import annotations

import re

import psycopg

from bench.data import COORDINATOR_EMAIL
from bench.harness import bench_app, interleave, p95, psycopg_url, result, signed_in_client

TARGET_MS = 50.0
PAGE_SIZE = 50
CONDITIONS = {
    "name": "lower((l.first_name || ' ') || l.last_name) ILIKE %(pattern)s",
    "email": "l.email ILIKE %(pattern)s",
    "phone": "l.phone = %(value)s",
}
FLOOR_SQL = """
SELECT l.id, l.first_name, l.last_name, l.status, l.owner_id, s.name, l.sla_due_at
FROM leads AS l LEFT JOIN staff_users AS s ON s.id = l.owner_id
WHERE {condition}
  AND (l.owner_id = %(me)s OR l.team_id IS NULL
       OR l.team_id IN (SELECT team_id FROM team_members WHERE staff_user_id = %(me)s))
ORDER BY l.sla_due_at NULLS LAST, l.id
LIMIT {limit}
"""


def _terms(connection, count: int) -> dict[str, str]:
    """A surname, a whole email and a phone number of leads the coordinator can see."""
    lead_id = connection.execute(
        "SELECT id FROM leads WHERE team_id = 1 AND id >= %s ORDER BY id LIMIT 1", (count // 2,)
    ).fetchone()[0]
    last_name, email, phone = connection.execute(
        "SELECT last_name, email, phone FROM leads WHERE id = %s", (lead_id,)
    ).fetchone()
    return {"name": last_name, "email": email, "phone": phone}


def _csrf(client) -> str:
    text = client.get("/staff/?view=all").text
    return re.search(r'name="csrf_token" value="([^"]+)"', text).group(1)


def run(args) -> None:
    rounds = 15 if args.quick else 80
    app = bench_app(args.database_url)
    client = signed_in_client(app, COORDINATOR_EMAIL)
    token = _csrf(client)
    with psycopg.connect(psycopg_url(args.database_url), autocommit=True) as connection:
        me = connection.execute(
            "SELECT id FROM staff_users WHERE email = %s", (COORDINATOR_EMAIL,)
        ).fetchone()[0]
        for kind, term in _terms(connection, args.leads).items():
            posted = client.post("/staff/search", data={"term": term, "csrf_token": token})
            assert posted.status_code == 302, (kind, posted.status_code)
            url = posted.headers["Location"]
            value = term.casefold() if kind == "name" else term
            params = {"pattern": f"%{value}%", "value": value, "me": me}
            sql = FLOOR_SQL.format(condition=CONDITIONS[kind], limit=PAGE_SIZE + 1)
            matches = connection.execute(sql, params).fetchall()
            first = matches[0][0]

            def floor(sql=sql, params=params) -> None:
                assert connection.execute(sql, params).fetchall()

            def project(url=url, first=first) -> None:
                response = client.get(url)
                assert response.status_code == 200
                assert f'href="/staff/leads/{first}"' in response.text

            project()
            floor_samples, project_samples = interleave(floor, project, rounds)
            value_ms, floor_ms = p95(project_samples) * 1000, p95(floor_samples) * 1000
            result(
                f"P4.{kind}",
                value_ms,
                floor_ms,
                f"p95<{TARGET_MS:.0f}ms",
                value_ms < TARGET_MS,
                unit="ms",
                note=f"p95 of {rounds} results pages; {len(matches)} rows on page 1",
            )
