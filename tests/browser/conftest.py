"""Fixtures for the browser tests: Debian's Chromium, a live server and a fresh context per test.

These tests run on SQLite only. The shared ``app_factory`` depends on the session's
``database_url``, which is parametrized over SQLite and PostgreSQL; this directory overrides
``app_factory`` with one that copies a migrated SQLite file into the test's ``tmp_path``, so the
parametrization never reaches these tests and nothing here skips (or fails) for want of PostgreSQL.

Chromium itself is the session's one ``chromium`` fixture in tests/conftest.py, shared with the
security probes (Playwright's sync API allows one running instance a thread).
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

from intake.extensions import db
from tests.conftest import make_app

# A phone, as many patients use; the time zone differs from the clinic's and from the one a
# US phone number implies, so a stored "Europe/Lisbon" can only have come from the browser.
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
# Every key, since new_context lays these over PHONE: without them a "desktop" was a touch phone.
DESKTOP = {
    "viewport": {"width": 1280, "height": 900},
    "device_scale_factor": 1,
    "is_mobile": False,
    "has_touch": False,
}
BROWSER_TIME_ZONE = "Europe/Lisbon"
LOOPBACK = frozenset({"127.0.0.1", "localhost"})


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Path:
    """A migrated, empty SQLite file, made once and copied for each test."""
    from flask_migrate import upgrade

    path = tmp_path_factory.mktemp("browser-db") / "template.sqlite3"
    app = make_app(f"sqlite:///{path}")
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return path


@pytest.fixture
def app_factory(migrated_sqlite, tmp_path):
    """Overrides tests.conftest.app_factory: apps on this test's own SQLite file (no PostgreSQL
    parameter, so each browser test runs once)."""
    path = tmp_path / "intake.sqlite3"
    shutil.copyfile(migrated_sqlite, path)
    made = []

    def build(**overrides):
        made.append(make_app(f"sqlite:///{path}", **overrides))
        return made[-1]

    yield build
    for app in made:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def live_server(app):
    """``app`` (from app_factory) served on 127.0.0.1 at a free port; yields the base URL, which
    is also the app's INTAKE_BASE_URL (its links in pages and emails)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.config["INTAKE_BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def _loopback_only(route) -> None:
    if urlsplit(route.request.url).hostname in LOOPBACK:
        route.continue_()
    else:
        route.abort("blockedbyclient")


@pytest.fixture
def new_context(chromium):
    """Make fresh browser contexts (no shared cookies); all are closed after the test."""
    contexts = []

    def make(**options):
        context = chromium.new_context(
            **{"locale": "en-US", "timezone_id": BROWSER_TIME_ZONE, **PHONE, **options}
        )
        context.set_default_timeout(15_000)
        context.route("**/*", _loopback_only)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def context(new_context):
    """A phone-sized context with JavaScript on."""
    return new_context()


@pytest.fixture
def script_errors() -> list[str]:
    """Uncaught exceptions and console errors (a CSP violation is one) seen by ``page``."""
    return []


def _watch(page, script_errors: list[str]):
    def console(message) -> None:
        # A step sent with errors comes back as 422 on purpose; Chromium logs that as an error.
        if message.type == "error" and "status of 422" not in message.text:
            script_errors.append(f"console: {message.text}")

    page.on("pageerror", lambda error: script_errors.append(f"uncaught: {error}"))
    page.on("console", console)
    return page


@pytest.fixture
def page(context, script_errors):
    return _watch(context.new_page(), script_errors)


@pytest.fixture
def desktop_page(new_context, script_errors):
    """A desktop-sized page with JavaScript on."""
    return _watch(new_context(**DESKTOP).new_page(), script_errors)


@pytest.fixture
def page_without_js(new_context, script_errors):
    """A phone-sized page with JavaScript turned off, as some privacy tools or old phones do."""
    return _watch(new_context(java_script_enabled=False).new_page(), script_errors)
