"""Shared fixtures: the app on SQLite and on PostgreSQL, a client, service switches, an app
context, staff accounts and signed-in clients, and the inquiry driven through its forms.

Storage tests run once per backend. PostgreSQL comes from INTAKE_TEST_DATABASE_URL (a fresh
database is created beside it for the run and dropped after); without it those tests skip,
unless INTAKE_REQUIRE_SERVICES=1 (CI), which turns every such skip into a failure.
"""

from __future__ import annotations

import os
import uuid
from datetime import date
from functools import partial
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from flask import Flask
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import OperationalError
from werkzeug.datastructures import MultiDict
from werkzeug.routing import Rule

from intake import create_app
from intake.accounts.sessions import open_session
from intake.config import normalise_database_url
from intake.extensions import db
from intake.models import StaffUser
from intake.models.types import utcnow
from tests import factories

REQUIRE_SERVICES = os.environ.get("INTAKE_REQUIRE_SERVICES") == "1"
# The deployment settings: with none of them set, intake runs as the embedded default.
DEPLOYMENT_SETTINGS = (
    "DATABASE_URL",
    "REDIS_URL",
    "SMTP_URL",
    "SECRET_KEY",
    "INTAKE_ENCRYPTION_KEYS",
    "INTAKE_ENV",
    "INTAKE_BASE_URL",
)


class LazyBuilderRule(Rule):
    """Werkzeug's rule, with its URL builders compiled when first used instead of when the rule
    is added. The suite builds an app for nearly every test, and compiling the builders of its
    ~800 rules (two each) was more than half of that; a test builds URLs for a handful. The
    builder is Werkzeug's own, unchanged: only the moment it is compiled moves."""

    def _compile_builder(self, append_unknown: bool = True):
        compiled = None

        def build(rule, **values):
            nonlocal compiled
            if compiled is None:
                compiled = Rule._compile_builder(rule, append_unknown)
            return compiled(rule, **values)

        return build


Flask.url_rule_class = LazyBuilderRule  # the test process only: processes it starts keep Rule


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


@pytest.fixture
def ctx(app):
    """The app, with its context pushed for the test (service tests call services directly)."""
    with app.app_context():
        yield app


# Staff accounts, committed, and clients signed in through a real session row ---------------


@pytest.fixture
def make_staff(app):
    """A staff account (``tests.factories.make_staff``), committed: returns its id."""

    def make(role: str = "coordinator", **fields) -> int:
        with app.app_context():
            user = factories.make_staff(role, **fields)
            db.session.commit()
            return user.id

    return make


@pytest.fixture
def sign_in(app):
    """Sign a test client in as a staff account, through a real session row."""

    def sign(client, user_id: int):
        with app.app_context():
            user = db.session.get(StaffUser, user_id)
            token = open_session(user=user, now=utcnow(), ip="127.0.0.1")
            db.session.commit()
        with client.session_transaction() as session:
            session["_user_id"] = token
            session["_fresh"] = True
        return client

    return sign


@pytest.fixture
def staff_client(app, make_staff, sign_in):
    """A client signed in as a new account of the given role."""

    def build(role: str = "coordinator", **fields):
        return sign_in(app.test_client(), make_staff(role, **fields))

    return build


@pytest.fixture
def seed(app):
    """Insert a lead (factory defaults, no consents, with overrides) and return its id."""
    return partial(factories.saved_lead, app)


# Driving the inquiry like a browser would: read the page's form, fill it in, send it. ------------

CONTACT = {
    "filled_by": "self",
    "first_name": "Ada",
    "last_name": "Byron",
    "email": "Ada.Byron@Example.org",
    "phone": "(202) 555-0143",
    "preferred_contact_method": "email",
    "preferred_contact_time": "morning",
    "country": "US",
    "region": "Virginia",
    "postal_code": "22201",
    "heard_about": "article",
}
ABOUT_MS = {
    "diagnosed": "yes",
    "ms_type": "RRMS",
    "diagnosis_year": "2015",
    "mobility": "cane",
    "edss_known": "yes",
    "edss": "4.5",
    "on_dmt": "yes",
    "dmt_name": "Ocrevus",
    "relapse_12m": "no",
    "symptoms": ["fatigue", "vision"],
    "prior_stem_cell": "no",
}
HEALTH = {
    "date_of_birth": date(1980, 4, 2),
    "cancer_5y": "no",
    "pregnancy": "no",
    "active_infection": "no",
    "blood_thinners": "no",
    "organ_disease": "no",
    "able_to_travel": "yes",
}
CONSENT = {
    "privacy_notice": "y",
    "consent_email": "y",
    "consent_follow_up": "y",
    "not_medical_advice": "y",
}
STEPS = (
    ("/inquiry", CONTACT),
    ("/inquiry/about_ms", ABOUT_MS),
    ("/inquiry/health", HEALTH),
    ("/inquiry/consent", CONSENT),
)


def page(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def text_of(response) -> str:
    """The page's words, whitespace collapsed, as a person reads them."""
    return " ".join(page(response).get_text(" ").split())


def hidden_fields(response) -> dict[str, str]:
    form = page(response).find("form", method="post")
    return {
        field["name"]: field.get("value", "")
        for field in form.find_all("input", type="hidden")
        if field.get("name")
    }


def date_parts(name: str, value: date) -> dict[str, str]:
    """A date as a person types it in the day, month and year boxes."""
    return {
        f"{name}-day": str(value.day),
        f"{name}-month": str(value.month),
        f"{name}-year": str(value.year),
    }


def form_data(hidden: dict, answers: dict, action: str = "continue") -> MultiDict:
    """The posted form; a ``date`` answer is typed into its three boxes."""
    data = MultiDict(hidden)
    for key, value in answers.items():
        if isinstance(value, date):
            data.update(date_parts(key, value))
            continue
        for single in value if isinstance(value, list) else [value]:
            data.add(key, single)
    data["action"] = action
    return data


def send_step(client, url: str, answers: dict, action: str = "continue"):
    """GET the step, then POST its form with these answers, as a person would."""
    shown = client.get(url)
    assert shown.status_code == 200, shown.status_code
    return client.post(url, data=form_data(hidden_fields(shown), answers, action))


def complete_inquiry(client, **changes: dict):
    """All four steps; ``changes`` maps a step URL's last part to answers to override."""
    response = None
    for url, answers in STEPS:
        step = url.rsplit("/", 1)[-1]
        response = send_step(client, url, {**answers, **changes.get(step, {})})
        assert response.status_code in (302, 303), page(response).get_text()[:2000]
    return response


def shown_values(soup) -> MultiDict:
    """What the re-rendered form holds: text values, ticked boxes, checked radios, selections."""
    form = soup.find("form", method="post")
    shown = MultiDict()
    for field in form.find_all("input"):
        name, kind = field.get("name"), field.get("type", "text")
        if not name or kind in ("submit", "button", "hidden"):
            continue
        if kind in ("radio", "checkbox"):
            if field.has_attr("checked"):
                shown.add(name, field.get("value", "on"))
        else:
            shown.add(name, field.get("value", ""))
    for area in form.find_all("textarea"):
        shown.add(area["name"], area.get_text().removeprefix("\r\n").removeprefix("\n"))
    for choice in form.find_all("select"):
        for option in choice.find_all("option", selected=True):
            shown.add(choice["name"], option.get("value", ""))
    return shown


def wire_header(raw: bytes, name: str) -> bytes:
    """One header of an email as it crossed the wire (its bytes, folded lines joined back)."""
    head = raw.split(b"\r\n\r\n", 1)[0].replace(b"\r\n ", b" ").replace(b"\r\n\t", b" ")
    prefix = name.encode("ascii").lower() + b":"
    [line] = [line for line in head.split(b"\r\n") if line.lower().startswith(prefix)]
    return line[len(prefix) :].strip()
