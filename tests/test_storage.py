"""Storage guarantees, checked on SQLite and PostgreSQL: the schema the migrations build is the
one the models describe, health answers never reach the disk in plaintext, and the final submit
costs a fixed number of queries."""

from __future__ import annotations

import shutil
import subprocess
from contextlib import contextmanager

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import event, make_url, text

from intake.extensions import db
from intake.models import EligibilityResult, Inquiry
from tests.conftest import (
    ABOUT_MS,
    CONSENT,
    CONTACT,
    HEALTH,
    form_data,
    hidden_fields,
    send_step,
)
from tests.live import wait_until

CANARIES = {
    "dmt_name": "Zebraflumab-CANARY-7731",
    "symptoms_other": "Glowing-left-thumb-CANARY-9142",
    "prior_stem_cell_when": "Narnia-clinic-CANARY-5520",
}


# SQLite's reflection cannot read the expression index for name search (it exists there too).
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
def test_the_migrated_schema_matches_the_models(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


@contextmanager
def counting_queries(app):
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()[:4]))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_the_final_submit_costs_exactly_seven_queries(app, client):
    send_step(client, "/inquiry", CONTACT)
    send_step(client, "/inquiry/about_ms", ABOUT_MS)
    send_step(client, "/inquiry/health", HEALTH)
    shown = client.get("/inquiry/consent")

    with counting_queries(app) as statements:
        response = client.post("/inquiry/consent", data=form_data(hidden_fields(shown), CONSENT))

    assert response.status_code == 303
    # load the draft with its lead; save the consent answers; claim the draft (UPDATE ... WHERE
    # status = 'draft'); insert consents, eligibility and the event; update the lead.
    assert len(statements) == 7, "\n".join(statements)


def test_the_first_step_of_a_new_person_costs_one_write(app, client, backend):
    shown = client.get("/inquiry")

    with counting_queries(app) as statements:
        response = client.post("/inquiry", data=form_data(hidden_fields(shown), CONTACT))

    assert response.status_code == 302
    # The lead, the inquiry, its contact details and the outbox event: on PostgreSQL one INSERT
    # with CTEs, on the condition that no lead holds the email or phone (no lookup first); on
    # SQLite the dedupe lookup, then one INSERT a table. Nothing is read back.
    assert len(statements) == (1 if backend == "postgresql" else 5), "\n".join(statements)


def test_the_first_step_of_someone_known_costs_a_lookup_and_a_write(app, backend):
    send_step(app.test_client(), "/inquiry", CONTACT)
    client = app.test_client()  # the same person again, from another browser
    shown = client.get("/inquiry")

    with counting_queries(app) as statements:
        response = client.post("/inquiry", data=form_data(hidden_fields(shown), CONTACT))

    assert response.status_code == 302
    # PostgreSQL: the conditional INSERT, which writes nothing; the lookup of the lead with its
    # details; the INSERT that joins the inquiry to it (its consents checked against the ones in
    # force). SQLite: the lookup, the lead's update, then the inquiry's rows a table each.
    assert len(statements) == (3 if backend == "postgresql" else 5), "\n".join(statements)
    with app.app_context():
        inquiries = db.session.scalars(db.select(Inquiry)).all()
        assert len(inquiries) == 2 and inquiries[0].lead_id == inquiries[1].lead_id


def test_a_known_person_from_a_browser_whose_draft_is_gone_joins_their_lead(app):
    # The browser's session names a draft that no longer exists: looking for it opens the
    # request's transaction before the first step is saved, which then runs inside it.
    send_step(app.test_client(), "/inquiry", CONTACT)
    client = app.test_client()
    shown = client.get("/inquiry")
    with client.session_transaction() as session:
        session["inquiry"] = "a-draft-that-is-gone"

    response = client.post("/inquiry", data=form_data(hidden_fields(shown), CONTACT))

    assert response.status_code == 302
    with app.app_context():
        inquiries = db.session.scalars(db.select(Inquiry)).all()
        assert len(inquiries) == 2 and inquiries[0].lead_id == inquiries[1].lead_id


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("consent", [{}, {"consent_resume": "y"}], ids=["plain", "consent"])
def test_the_first_steps_statement_stays_within_psycopgs_cache(app, client, consent):
    # psycopg converts a statement's placeholders once and keeps the result, but only for a
    # statement of at most 4,096 bytes and 50 parameters: beyond them it parses the whole
    # statement again on every request (about a tenth of a millisecond here).
    from psycopg._queries import MAX_CACHED_STATEMENT_LENGTH, MAX_CACHED_STATEMENT_PARAMS

    sent = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append((len(statement.encode()), len(parameters)))

    shown = client.get("/inquiry")
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        response = client.post("/inquiry", data=form_data(hidden_fields(shown), CONTACT | consent))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 302
    [(length, parameters)] = sent
    assert length <= MAX_CACHED_STATEMENT_LENGTH and parameters <= MAX_CACHED_STATEMENT_PARAMS


@contextmanager
def libpq_trace(app, path):
    """The messages between the app and PostgreSQL while the block runs, as libpq traces them
    (on a pool of connections opened before the block)."""
    with app.app_context():
        engine = db.engine
    engine.dispose()
    traced = []

    def start(dbapi_connection, record):
        traced.append(dbapi_connection.pgconn)

    event.listen(engine, "connect", start)
    try:
        with engine.connect():  # opened, then back in the pool before the block
            pass
        with open(path, "w") as trace:
            opened = list(traced)
            for pgconn in opened:
                pgconn.trace(trace.fileno())
            yield
            for pgconn in opened:
                pgconn.untrace()  # flushes libpq's own buffer
        assert traced == opened, "a connection opened inside the block was not traced"
    finally:
        event.remove(engine, "connect", start)
        engine.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # a server's round trips
def test_the_first_step_waits_on_postgresql_once(app, client, tmp_path):
    shown = client.get("/inquiry")
    data = form_data(hidden_fields(shown), CONTACT)
    trace = tmp_path / "libpq.trace"

    with libpq_trace(app, trace):
        response = client.post("/inquiry", data=data)

    assert response.status_code == 302
    # A wait ends with the server's ReadyForQuery: the one INSERT, which is also the dedupe
    # lookup (outside an explicit transaction, so no BEGIN or COMMIT). No liveness ping: the
    # pool finds a connection the server ended by its socket (the next test).
    waits = [line for line in trace.read_text().splitlines() if "\tReadyForQuery" in line]
    assert len(waits) == 1, trace.read_text()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_connection_the_server_ended_is_replaced_before_a_request_uses_it(app, client):
    def backend() -> int:
        with app.app_context():
            pid = db.session.scalar(text("SELECT pg_backend_pid()"))
            db.session.remove()  # back into the pool
            return pid

    first = backend()
    assert backend() == first  # a live connection is kept, from request to request
    with outside_the_pool(app) as other:  # the pool's one connection stays idle in it
        other.execute("SELECT pg_terminate_backend(%s)", (first,))
        wait_until(
            lambda: (
                not other.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (first,)
                ).fetchone()[0]
            ),
            timeout=10,
        )

    shown = client.get("/inquiry")  # no error: the ended connection is never handed out
    response = client.post("/inquiry", data=form_data(hidden_fields(shown), CONTACT))
    assert shown.status_code == 200 and response.status_code == 302
    assert backend() != first


def outside_the_pool(app) -> psycopg.Connection:
    with app.app_context():
        url = db.engine.url.set(drivername="postgresql")
    return psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)


def _database_bytes(app, database_url: str) -> bytes:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        with app.app_context(), db.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        with open(url.database, "rb") as handle:
            return handle.read()
    if shutil.which("pg_dump") is None:
        pytest.fail("pg_dump is needed to inspect the PostgreSQL database")
    dump = subprocess.run(
        [
            "pg_dump",
            "--data-only",
            "--dbname",
            url.set(drivername="postgresql").render_as_string(hide_password=False),
        ],
        capture_output=True,
        check=True,
    )
    return dump.stdout


def test_health_answers_are_never_stored_in_plaintext(app, client, database_url):
    send_step(client, "/inquiry", CONTACT)
    send_step(
        client,
        "/inquiry/about_ms",
        {
            **ABOUT_MS,
            "dmt_name": CANARIES["dmt_name"],
            "symptoms": ["fatigue", "other"],
            "symptoms_other": CANARIES["symptoms_other"],
            "prior_stem_cell": "yes",
            "prior_stem_cell_when": CANARIES["prior_stem_cell_when"],
        },
    )
    send_step(client, "/inquiry/health", {**HEALTH, "blood_thinners": "yes"})
    assert send_step(client, "/inquiry/consent", CONSENT).status_code == 303

    stored = _database_bytes(app, database_url)
    with app.app_context():
        assert db.session.scalar(db.select(Inquiry.answers_sealed)).startswith("v1.")
        assert db.session.scalar(db.select(EligibilityResult.triggered_sealed)).startswith("v1.")
    for canary in CANARIES.values():
        assert canary.encode() not in stored
    # the triggered rule and its reason are health information too
    assert b"blood_thinners" not in stored and b"bleeding disorder" not in stored
    assert CONTACT["last_name"].encode() in stored  # the dump really holds the data
