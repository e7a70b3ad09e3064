"""P5 due follow-up sweep with 1 M leads and 1,000 sends due, vs one raw UPDATE … RETURNING.

The project side is ``intake.messaging.sends.due_send_ids`` — the database work of the beat
job ``periodic.sweep_sends`` — called at its own page size (500) until a call comes back short,
each call committed, as the job does over consecutive ticks. The job's publish of one
``email.deliver`` per row to Redis is left out on purpose: no worker runs here, and tasks left
in the broker would be taken by another benchmark's workers. The floor is the same selection
(due, not handed over lately, oldest first, SKIP LOCKED) as one UPDATE … RETURNING per 500.

Between rounds the 1,000 rows are handed back (enqueued_at cleared) and ``sends`` vacuumed,
outside the timing. To show
the work grows with due rows and not with the table, the project is also timed with 100 due, and
the plan of its SELECT is printed (which index, how many rows it reads).
"""

from __future__ import annotations

import json
import time

import psycopg

from bench.harness import bench_app, interleave, median, p95, psycopg_url, result

TARGET_MS = 100.0
DUE = 1000
KEY_PREFIX = "bench-due:"
FLOOR_SQL = """
UPDATE sends SET enqueued_at = now()
WHERE id IN (
    SELECT id FROM sends
    WHERE ((status = 'scheduled' AND due_at <= now())
           OR (status = 'sending' AND claimed_at < now() - interval '300 seconds'))
      AND (enqueued_at IS NULL OR enqueued_at < now() - interval '300 seconds')
    ORDER BY due_at LIMIT 500 FOR UPDATE SKIP LOCKED)
RETURNING id
"""


def _add_due(connection, count: int) -> list[int]:
    """``count`` nurture sends due a minute ago, on the newest complete leads."""
    connection.execute("DELETE FROM sends WHERE key LIKE %s", (KEY_PREFIX + "%",))
    # The data set's own scheduled steps fall due as the clock moves on since it was made:
    # move those into the next hours, so exactly ``count`` rows are due.
    connection.execute(
        """UPDATE sends SET due_at = greatest(due_at, now()) + interval '2 hours'
        WHERE status = 'scheduled' AND due_at <= now() + interval '1 hour'"""
    )
    inserted = connection.execute(
        """INSERT INTO sends (key, lead_id, inquiry_id, cadence, step, template, status, due_at,
            created_at, attempts)
        SELECT %(prefix)s || id, id, id, 'nurture', 9, 'nurture', 'scheduled',
            now() - interval '1 minute' - interval '1 second' * (id %% 600), now(), 0
        FROM (SELECT id FROM leads WHERE NOT incomplete ORDER BY id DESC LIMIT %(count)s) AS l
        RETURNING id""",
        {"prefix": KEY_PREFIX, "count": count},
    )
    ids = [row[0] for row in inserted.fetchall()]
    connection.execute("ANALYZE sends")
    return ids


def _hand_back(connection, ids: list[int]) -> None:
    """Make the rows due again, and vacuum away the versions the sweep left: without it each
    round's dead index entries would slow the next round (the benchmark measuring itself)."""
    connection.execute("UPDATE sends SET enqueued_at = NULL WHERE id = ANY(%s)", (ids,))
    connection.execute("VACUUM sends")


def _plan_summary(app) -> str:
    """Index and rows read by the project's SELECT, from EXPLAIN (ANALYZE, FORMAT JSON)."""
    from sqlalchemy import and_, or_, select

    from intake.extensions import db
    from intake.models import Send
    from intake.models.types import utcnow

    with app.app_context():
        now = utcnow()
        query = (
            select(Send.id)
            .where(
                or_(
                    and_(Send.status == "scheduled", Send.due_at <= now),
                    and_(Send.status == "sending", Send.claimed_at < now),
                ),
                or_(Send.enqueued_at.is_(None), Send.enqueued_at < now),
            )
            .order_by(Send.due_at)
            .limit(500)
        )
        compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
        plan = db.session.execute(db.text(f"EXPLAIN (ANALYZE, FORMAT JSON) {compiled}")).scalar()
        db.session.rollback()
    plan = plan if isinstance(plan, list) else json.loads(plan)
    nodes = []

    def walk(node) -> None:
        if "Relation Name" in node or "Index Name" in node:
            nodes.append(
                f"{node['Node Type']} {node.get('Index Name', node.get('Relation Name'))} "
                f"rows={node.get('Actual Rows')}"
            )
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return "; ".join(nodes)


def run(args) -> None:
    from intake.extensions import db
    from intake.messaging.sends import due_send_ids
    from intake.models.types import utcnow

    rounds = 5 if args.quick else 15
    app = bench_app(args.database_url)
    with psycopg.connect(psycopg_url(args.database_url), autocommit=True) as connection:
        sends = connection.execute("SELECT count(*) FROM sends").fetchone()[0]

        def project() -> float:
            started = time.perf_counter()
            with app.app_context():
                taken = 0
                while True:
                    ids = due_send_ids(now=utcnow())
                    db.session.commit()
                    taken += len(ids)
                    if len(ids) < 500:
                        break
            elapsed = time.perf_counter() - started
            _hand_back(connection, due_ids)  # not timed
            assert taken == expected, taken
            return elapsed

        def floor() -> float:
            started = time.perf_counter()
            taken = 0
            while True:
                ids = connection.execute(FLOOR_SQL).fetchall()
                taken += len(ids)
                if len(ids) < 500:
                    break
            elapsed = time.perf_counter() - started
            _hand_back(connection, due_ids)
            assert taken == expected, taken
            return elapsed

        try:
            timings = {}
            for expected in (100, DUE):
                due_ids = _add_due(connection, expected)
                project()
                floor_samples, project_samples = interleave(floor, project, rounds)
                timings[expected] = (p95(project_samples), p95(floor_samples))
                timings[expected, "median"] = median(project_samples)
            plan = _plan_summary(app)
        finally:
            connection.execute("DELETE FROM sends WHERE key LIKE %s", (KEY_PREFIX + "%",))
    value, floor_value = (t * 1000 for t in timings[DUE])
    result(
        "P5",
        value,
        floor_value,
        f"p95<{TARGET_MS:.0f}ms",
        value < TARGET_MS,
        unit="ms",
        note=f"{DUE} due among {sends:,} sends, {args.leads:,} leads; p95 of {rounds} sweeps",
    )
    small = timings[100][0] * 1000
    print(
        f"# P5 growth: 100 due p95={small:.1f}ms median={timings[100, 'median'] * 1000:.1f}ms; "
        f"1000 due p95={value:.1f}ms median={timings[DUE, 'median'] * 1000:.1f}ms; "
        f"plan: {plan}",
        flush=True,
    )
