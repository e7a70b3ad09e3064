"""Shared pieces of the benchmarks: the RESULT line, p95, interleaved timing, and the app
configured as a benchmark needs it (quiet logs, no rate limits, the real Redis and PostgreSQL).

Floor and project run alternately in the same process and minute, so a noisy neighbour on a
shared machine slows both sides alike and the ratio stays meaningful.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from flask import Flask

BENCH_DATABASE_URL = os.environ.get(
    "INTAKE_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/intake_bench"
)
BENCH_REDIS_URL = os.environ.get("INTAKE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
# A fixed key and secret, so the generated data set's ciphertext opens in every later run.
# Benchmark data only: synthetic leads, never a deployment's key.
BENCH_ENCRYPTION_KEY = "YmVuY2gtb25seS1rZXktbm90LWEtc2VjcmV0LTEyMzQ"
BENCH_SECRET_KEY = "bench-only-secret-key-0123456789-abcdefghijkl"  # noqa: S105


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "ms":
        return f"{value:.2f}ms"
    if abs(value) >= 1000:
        return f"{value:.0f}{unit}"
    return f"{value:.3g}{unit}"


def result(
    scenario: str,
    value: float,
    floor: float | None,
    target: str,
    passed: bool,
    unit: str = "",
    note: str = "",
) -> None:
    """Print ``RESULT P3 value=12.3ms floor=8.1ms ratio=1.52 target=p95<50ms PASS  [note]``.

    The ratio is value/floor (for a throughput, the caller says in the target which way is
    better)."""
    ratio = f"{value / floor:.2f}" if floor else "-"
    line = (
        f"RESULT {scenario} value={_fmt(value, unit)} floor={_fmt(floor, unit)} "
        f"ratio={ratio} target={target} {'PASS' if passed else 'FAIL'}"
    )
    if note:
        line += f"  [{note}]"
    print(line, flush=True)


def p95(samples: list[float]) -> float:
    """The nearest-rank 95th percentile (the value 95 % of samples do not exceed)."""
    if not samples:
        raise ValueError("p95 of no samples")
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def median(samples: list[float]) -> float:
    ordered = sorted(samples)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def _timed(call: Callable[[], float | None]) -> float:
    started = time.perf_counter()
    value = call()
    elapsed = time.perf_counter() - started
    return elapsed if value is None else value


def interleave(
    floor: Callable[[], float | None],
    project: Callable[[], float | None],
    rounds: int,
) -> tuple[list[float], list[float]]:
    """Call floor and project alternately, ``rounds`` times each, the side going first
    swapping every round (AB BA AB …) so neither always runs on a warm cache.

    Each sample is the call's wall time in seconds, or what the callable returned if not None
    (a throughput, a byte count …). Returns (floor samples, project samples)."""
    floor_samples: list[float] = []
    project_samples: list[float] = []
    for round_number in range(rounds):
        if round_number % 2 == 0:
            floor_samples.append(_timed(floor))
            project_samples.append(_timed(project))
        else:
            project_samples.append(_timed(project))
            floor_samples.append(_timed(floor))
    return floor_samples, project_samples


def quiet_logging() -> None:
    """Request logs to stderr would dominate a benchmark: keep only warnings."""
    logging.getLogger().setLevel(logging.WARNING)
    for name in ("intake", "celery", "kombu", "werkzeug", "gunicorn.access"):
        logging.getLogger(name).setLevel(logging.WARNING)


def bench_app(database_url: str = BENCH_DATABASE_URL, **config) -> Flask:
    """The project's app as a benchmark runs it: PostgreSQL, the real Redis (broker and limiter
    store, DB from INTAKE_BENCH_REDIS_URL), quiet logging, rate limits off, a fixed encryption
    key (the generated data set is sealed with it) and a fixed secret key. ``config`` wins."""
    from intake import create_app
    from intake.config import celery_settings, normalise_database_url

    redis_url = config.pop("REDIS_URL", BENCH_REDIS_URL)
    instance = Path(os.environ.get("INTAKE_INSTANCE_PATH") or tempfile.gettempdir())
    settings = {
        "INTAKE_ENV": "testing",
        "TESTING": False,
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "SECRET_KEY": BENCH_SECRET_KEY,
        "INTAKE_ENCRYPTION_KEYS": [BENCH_ENCRYPTION_KEY],
        "REDIS_URL": redis_url,
        "CELERY": celery_settings(redis_url, instance),
        "RATELIMIT_ENABLED": False,
        "RATELIMIT_STORAGE_URI": redis_url,
        "INTAKE_INQUIRY_RATE_LIMIT": "1000000 per minute",
        "INTAKE_SIGNIN_RATE_LIMIT": "1000000 per minute",
        "INTAKE_MIN_FILL_SECONDS": 0,
        "LOG_LEVEL": "WARNING",
    }
    settings.update(config)
    app = create_app(settings)
    quiet_logging()
    return app


def psycopg_url(database_url: str = BENCH_DATABASE_URL) -> str:
    """A libpq connection string for psycopg from a SQLAlchemy-style URL."""
    return database_url.replace("postgresql+psycopg://", "postgresql://")


def analyze_if_no_autovacuum(*database_urls: str) -> bool:
    """Run ``ANALYZE`` on each database if the server's autovacuum is off (as on this machine's
    shared server); whether it did. Between rounds of a benchmark whose tables grow from empty:
    a production server analyzes a growing table by itself, and without statistics the planner
    keeps treating it as empty (P1's dedupe lookup became a scan, slower every round)."""
    import psycopg

    for url in database_urls:
        with psycopg.connect(psycopg_url(url), autocommit=True) as connection:
            if connection.execute("SHOW autovacuum").fetchone()[0] == "on":
                return False
            connection.execute("ANALYZE")
    return True


def machine_header(lead_count: int | None = None, database_url: str = BENCH_DATABASE_URL) -> str:
    """Date, machine (cores, RAM, PostgreSQL version) and lead count, for the run's header."""
    import platform
    from datetime import UTC, datetime

    import psutil
    import psycopg

    try:
        with psycopg.connect(psycopg_url(database_url), connect_timeout=3) as connection:
            version = connection.execute("SHOW server_version").fetchone()[0]
    except psycopg.Error as exc:
        version = f"unavailable ({type(exc).__name__})"
    memory = psutil.virtual_memory().total / 2**30
    lines = [
        f"# intake benchmarks {datetime.now(UTC):%Y-%m-%d %H:%M UTC}",
        f"# machine: {platform.machine()} {os.cpu_count()} cores, {memory:.1f} GiB RAM, "
        f"Python {platform.python_version()}, PostgreSQL {version}",
    ]
    if lead_count is not None:
        lines.append(f"# leads in {database_url.rsplit('/', 1)[-1]}: {lead_count:,}")
    return "\n".join(lines)


def signed_in_client(app: Flask, email: str):
    """A test client signed in as the staff account ``email`` through a real server-side
    session row (as tests/staff/conftest.py's ``sign_in`` does), skipping password and TOTP."""
    from sqlalchemy import select

    from intake.accounts.sessions import open_session
    from intake.extensions import db
    from intake.models import StaffUser
    from intake.models.types import utcnow

    client = app.test_client()
    with app.app_context():
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
        token = open_session(user=user, now=utcnow(), ip="127.0.0.1")
        db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = token
        session["_fresh"] = True
    return client
