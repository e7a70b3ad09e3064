"""Extension objects, created unbound here and bound to an app in ``create_app``."""

from __future__ import annotations

import hashlib
import select

import click
from celery import Celery, Task
from flask import Flask, current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, event, exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import Pool

from intake.crypto import Keyring

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
login_manager = LoginManager()
babel = Babel()
# The staff guard rotates and checks sessions itself (intake.staff.access).
login_manager.session_protection = None


class Encryption:
    """Holds the app's keyring; services seal and open health answers through it."""

    def init_app(self, app: Flask) -> None:
        app.extensions["intake.keyring"] = Keyring.from_config(app.config["INTAKE_ENCRYPTION_KEYS"])

    @property
    def keyring(self) -> Keyring:
        return current_app.extensions["intake.keyring"]


encryption = Encryption()


class Migrations:
    """Flask-Migrate, loaded when something first uses it (``intake db …``, ``upgrade()``), so
    Alembic, Mako and Pygments stay out of the web workers, which never migrate."""

    def init_app(self, app: Flask, db: SQLAlchemy, **options) -> None:
        app.extensions["migrate"] = _DeferredMigrate(app, db, options)
        app.cli.add_command(_DeferredMigrationCommands(app, db, options))


def _load_migrate(app: Flask, db: SQLAlchemy, options: dict):
    """Set up Flask-Migrate for real: it replaces the stand-ins and adds its own ``db`` group."""
    from flask_migrate import Migrate

    Migrate(app, db, **options)
    return app.extensions["migrate"]


class _DeferredMigrate:
    """Stands in for Flask-Migrate's entry in ``app.extensions`` until an attribute is read."""

    def __init__(self, app: Flask, db: SQLAlchemy, options: dict) -> None:
        self._setup = (app, db, options)

    def __getattr__(self, name: str):
        return getattr(_load_migrate(*self._setup), name)


class _DeferredMigrationCommands(click.Group):
    """``db``: Flask-Migrate's command group, imported when the command runs."""

    def __init__(self, app: Flask, db: SQLAlchemy, options: dict) -> None:
        super().__init__("db", help="Perform database migrations (Flask-Migrate).")
        self._setup = (app, db, options)

    def make_context(self, info_name, args, parent=None, **extra):
        _load_migrate(*self._setup)
        from flask_migrate.cli import db as commands

        return commands.make_context(info_name, args, parent=parent, **extra)


migrate = Migrations()


def dialect_insert():
    """The bound database's own INSERT construct, for ``ON CONFLICT`` (PostgreSQL or SQLite)."""
    from sqlalchemy.dialects import postgresql, sqlite

    return (postgresql if db.engine.dialect.name == "postgresql" else sqlite).insert


def celery_init_app(app: Flask) -> Celery:
    """The Celery app, configured from the Flask app; each task runs in its own app context.

    The web process uses it only to publish by task name; ``workers/`` defines the tasks."""

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.import_name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config["CELERY"])
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app


@event.listens_for(Pool, "checkout")
def _not_ended_by_the_server(dbapi_connection, connection_record, connection_proxy) -> None:
    """PostgreSQL: a pooled connection the server has ended is replaced before it is used,
    without a round trip. A server that stops, restarts or ends a session sends it a last
    message and closes it, so such a connection's socket has something to read; a live idle
    one has nothing (the app never LISTENs). A readable socket or a broken connection is
    discarded (the pool connects anew): at worst one reconnect too many. SQLAlchemy's
    ``pool_pre_ping`` would send a query at every checkout instead: one more wait on the
    database for every request."""
    pgconn = getattr(dbapi_connection, "pgconn", None)
    if pgconn is None:  # SQLite: a file, nothing to end it
        return
    if dbapi_connection.closed or dbapi_connection.broken:
        raise exc.DisconnectionError("the connection is closed")
    poller = select.poll()
    poller.register(pgconn.socket, select.POLLIN)
    if poller.poll(0):
        raise exc.DisconnectionError("the server has ended the connection")


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """SQLite: enforce foreign keys, wait for locks, let reads run beside writes; and the
    SHA-256 function the audit chain computes inside the database, and the case fold staff search
    compares names in (SQLite's ``lower`` leaves "Á" as it is; PostgreSQL has its own of both)."""
    if type(dbapi_connection).__module__ != "sqlite3":
        return
    dbapi_connection.create_function(
        "intake_casefold",
        1,
        lambda text: text.casefold() if isinstance(text, str) else text,
        deterministic=True,
    )
    dbapi_connection.create_function(
        "intake_sha256",
        1,
        lambda text: hashlib.sha256(text.encode()).hexdigest(),
        deterministic=True,
    )
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()
