"""Shared fixtures: the app on SQLite and on PostgreSQL, a client, and service switches.

Storage tests run once per backend. PostgreSQL comes from INTAKE_TEST_DATABASE_URL (a fresh
database is created beside it for the run and dropped after); without it those tests skip,
unless INTAKE_REQUIRE_SERVICES=1 (CI), which turns every such skip into a failure.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import OperationalError

from intake import create_app
from intake.config import normalise_database_url
from intake.extensions import db

REQUIRE_SERVICES = os.environ.get("INTAKE_REQUIRE_SERVICES") == "1"


def service_unavailable(reason: str) -> None:
    """Skip, saying why, or fail when the run requires every service."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason}, and INTAKE_REQUIRE_SERVICES=1 forbids skipping")
    pytest.skip(reason)


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium for the session, from the Debian package ``chromium``, never a
    Playwright download; the one instance for every directory (Playwright's sync API allows one
    running instance a thread). Without it browser tests skip, or fail in CI."""
    if not CHROMIUM.exists():
        service_unavailable("Chromium (Debian package chromium) is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def postgres_url():
    base = os.environ.get("INTAKE_TEST_DATABASE_URL")
    if not base:
        service_unavailable("PostgreSQL tests need INTAKE_TEST_DATABASE_URL")
    url = make_url(normalise_database_url(base))
    name = f"intake_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        service_unavailable(f"PostgreSQL at INTAKE_TEST_DATABASE_URL is unavailable: {exc.orig}")
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def redis_url():
    url = os.environ.get("INTAKE_TEST_REDIS_URL")
    if not url:
        service_unavailable("Redis tests need INTAKE_TEST_REDIS_URL")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        service_unavailable(f"Redis at INTAKE_TEST_REDIS_URL is unavailable: {exc}")
    return url


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory):
    """A migrated, empty database of each kind, shared by the session."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'intake.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_url")
    from flask_migrate import upgrade

    app = create_app({"INTAKE_ENV": "testing", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url


@pytest.fixture
def backend(database_url) -> str:
    return make_url(database_url).get_backend_name()


def make_app(database_url: str, **overrides):
    return create_app(
        {
            "INTAKE_ENV": "testing",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "INTAKE_INQUIRY_RATE_LIMIT": "10000 per minute",
            **overrides,
        }
    )


def empty_tables(app) -> None:
    with app.app_context():
        tables = [table.name for table in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as connection:
            if db.engine.dialect.name == "postgresql":
                connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    connection.execute(text(f"DELETE FROM {table}"))
            # The audit chain's head row, as the migration leaves it.
            connection.execute(
                text("INSERT INTO audit_head (id, seq, prev_hash, hash) VALUES (1, 0, :g, :g)"),
                {"g": "0" * 64},
            )
        db.engine.dispose()


@pytest.fixture
def app_factory(database_url):
    """Build apps with extra settings on the session's database; tables are emptied after."""
    made = []

    def build(**overrides):
        made.append(make_app(database_url, **overrides))
        return made[-1]

    yield build
    for app in made:
        empty_tables(app)


@pytest.fixture
def app(app_factory):
    return app_factory()


@pytest.fixture
def client(app):
    return app.test_client()
