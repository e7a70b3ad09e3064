"""The floor app: the least a Flask web worker can do for a form submit, so a benchmark can say
how much the project's forms, ORM, dedupe and outbox cost on top of it (QUALITY.md P1, P8, P9).

``POST /submit`` reads the posted form, runs one raw ``INSERT`` (psycopg, autocommit, one
connection per thread) and one queue push (Redis ``LPUSH``), and answers with a redirect as the
inquiry does; ``GET /`` returns a small page. Run it like the project, under the same gunicorn:

    gunicorn -w 2 --threads 4 "bench.floor_app:create_floor_app('postgresql://…', 'redis://…')"
"""

from __future__ import annotations

import json
import os
import threading

import psycopg
import redis
from flask import Flask, redirect, request

QUEUE = "bench:floor:queue"
TABLE = "bench_floor_submissions"
PAGE = "<!doctype html><title>floor</title><form method=post action=/submit></form>"


def create_floor_app(database_url: str | None = None, redis_url: str | None = None) -> Flask:
    """The floor as a WSGI app; URLs default to ``FLOOR_DATABASE_URL`` and ``FLOOR_REDIS_URL``."""
    database_url = (database_url or os.environ["FLOOR_DATABASE_URL"]).replace(
        "postgresql+psycopg://", "postgresql://"
    )
    queue = redis.Redis.from_url(redis_url or os.environ["FLOOR_REDIS_URL"])
    local = threading.local()
    with psycopg.connect(database_url) as connection:  # one transaction; workers take turns
        connection.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (TABLE,))
        connection.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} "
            "(id bigserial PRIMARY KEY, email text, payload text NOT NULL, "
            "created_at timestamptz NOT NULL DEFAULT now())"
        )

    def connection() -> psycopg.Connection:
        if getattr(local, "connection", None) is None or local.connection.closed:
            local.connection = psycopg.connect(database_url, autocommit=True)
        return local.connection

    app = Flask(__name__)

    @app.get("/")
    def page():
        return PAGE

    @app.post("/submit")
    def submit():
        form = request.form
        row = connection().execute(
            f"INSERT INTO {TABLE} (email, payload) VALUES (%s, %s) RETURNING id",  # noqa: S608
            (form.get("email"), json.dumps(form.to_dict(flat=False))),
        )
        submission_id = row.fetchone()[0]
        queue.lpush(QUEUE, submission_id)
        return redirect("/next", 302)

    return app


def drop_floor_table(database_url: str) -> None:
    """Remove the floor's rows and table (after a run), and its queue is the caller's Redis."""
    with psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
