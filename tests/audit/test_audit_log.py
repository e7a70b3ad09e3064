"""The audit log: a hash chain that shows any edit or removal, intact under concurrent writers,
and on PostgreSQL append-only for the application's own database role."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, make_url, select, text
from sqlalchemy.exc import ProgrammingError

from intake.audit.service import record_audit, verify_audit_chain
from intake.extensions import db
from intake.models import AuditEvent
from intake.models.types import utcnow


def write_rows(app, count: int, *, actor_id: int | None = None) -> None:
    with app.app_context():
        for number in range(count):
            record_audit(
                action="lead.viewed",
                now=utcnow() + timedelta(microseconds=number),
                actor_id=actor_id,
                actor_role="coordinator",
                lead_ids=[number + 1],
                detail={"number": number},
                ip="127.0.0.1",
            )
            db.session.commit()


def check(app):
    with app.app_context():
        return verify_audit_chain()


def test_an_untouched_log_verifies_and_numbers_its_rows_in_order(app):
    write_rows(app, 5)
    result = check(app)
    assert result.intact and result.rows == 5
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [row.seq for row in rows] == [1, 2, 3, 4, 5]
        links = zip(rows, rows[1:], strict=False)
        assert all(row.prev_hash == before.hash for before, row in links)


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE audit_events SET outcome = 'denied' WHERE seq = 3",
        "UPDATE audit_events SET lead_ids = '[99]' WHERE seq = 3",
        "UPDATE audit_events SET actor_role = 'admin' WHERE seq = 3",
        "DELETE FROM audit_events WHERE seq = 3",
    ],
    ids=["outcome", "lead_ids", "actor", "deleted"],
)
def test_a_changed_or_removed_row_breaks_the_chain_at_that_row(app, tamper):
    write_rows(app, 5)
    with app.app_context():
        db.session.execute(text(tamper))
        db.session.commit()
    result = check(app)
    assert not result.intact
    assert result.first_broken_seq in (3, 4)  # 4 when row 3 is gone: its successor's link fails


def test_cutting_rows_off_the_end_is_detected_too(app):
    write_rows(app, 4)
    with app.app_context():
        db.session.execute(text("DELETE FROM audit_events WHERE seq = 4"))
        db.session.commit()
    assert check(app).first_broken_seq == 4


def test_concurrent_writers_leave_one_unbroken_chain(app):
    threads = [threading.Thread(target=write_rows, args=(app, 15)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = check(app)
    assert result.intact and result.rows == 60


def test_the_cli_says_whether_the_chain_holds(app):
    write_rows(app, 2)
    ok = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert ok.exit_code == 0 and "intact (2 rows)" in ok.output
    with app.app_context():
        db.session.execute(text("UPDATE audit_events SET ip = '10.0.0.1' WHERE seq = 1"))
        db.session.commit()
    broken = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert broken.exit_code == 1 and "breaks at row 1" in broken.output


@pytest.fixture(params=["intake db upgrade", "intake audit grant-app-role"])
def app_role(request, app, app_factory):
    """A throwaway login role given the app's grants, by the migration (as docker-compose's
    migrate service does, with INTAKE_DB_APP_ROLE) or by the explicit command."""
    role = f"intake_app_{uuid.uuid4().hex[:8]}"
    with app.app_context():
        owner_url = make_url(db.engine.url)
        db.session.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        db.session.commit()
    if request.param == "intake db upgrade":
        owner_app = app_factory(INTAKE_DB_APP_ROLE=role)
        result = owner_app.test_cli_runner().invoke(args=["db", "upgrade"])
    else:
        result = app.test_cli_runner().invoke(args=["audit", "grant-app-role", role])
    assert result.exit_code == 0, result.output
    engine = create_engine(owner_url.set(username=role, password=None))
    yield engine
    engine.dispose()
    with app.app_context():
        db.session.execute(text(f'DROP OWNED BY "{role}"'))
        db.session.execute(text(f'DROP ROLE "{role}"'))
        db.session.commit()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # roles: PostgreSQL only
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET outcome = 'ok'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    ],
)
def test_the_apps_postgresql_role_can_append_to_the_log_but_never_change_it(
    app, app_role, statement
):
    write_rows(app, 1)
    with app_role.begin() as connection:  # the app's role reads, appends and works elsewhere
        assert connection.execute(text("SELECT count(*) FROM audit_events")).scalar() == 1
        connection.execute(text("UPDATE audit_head SET seq = seq WHERE id = 1"))
        connection.execute(text("SELECT count(*) FROM leads"))
    with pytest.raises(ProgrammingError, match="permission denied"), app_role.begin() as connection:
        connection.execute(text(statement))
    assert check(app).intact
