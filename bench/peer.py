"""The peer for P13: DjangoCRM (PyPI ``django-crm-admin``) in its own environment, its own
settings and its own database, run under the same gunicorn as the project (``bench/p13_peer.py``).

Nothing of it enters the project: ``uv`` installs it into ``~/.cache/intake-peer/venv`` (or
``$INTAKE_PEER_HOME``) with Python 3.12 (``$INTAKE_PEER_PYTHON``, else one found on the machine,
never downloaded); ``pyproject.toml`` and ``uv.lock`` are not read or changed and none of its
code is committed. The settings module is written there at run time.
"""

# ruff: noqa: S603 - runs uv and the peer's interpreter on our own arguments

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import secrets
import shutil
import subprocess
import urllib.parse
from collections.abc import Callable
from pathlib import Path

import psycopg

from bench.load import Request
from bench.p1_submit import ADMIN_URL, database_url, drop_database

HOME = Path(os.environ.get("INTAKE_PEER_HOME") or Path.home() / ".cache" / "intake-peer")
PYTHON = HOME / "venv" / "bin" / "python"
# gunicorn and psycopg at the project's versions (uv.lock); Pillow because its admin imports it
# at start-up and its requirements leave it out.
PACKAGES = ("django-crm-admin==3.1.0", "gunicorn==27.0.1", "psycopg[binary]==3.3.9", "pillow")
# Its MySQL driver is a C build against libmysqlclient, unused on PostgreSQL: left out.
OVERRIDES = "mysqlclient; sys_platform == 'never'\n"
DATABASE = "intake_bench_peer"
FORM_UUID = "206f5c03-3f16-4341-851e-d446dce45aa0"  # its fixture's "website form (iframe)"
FORM_PATH = f"/en/contact-form/{FORM_UUID}/"
RECIPIENT = "sales@example.com"
APP = "webcrm.wsgi:application"
SETTINGS = '''"""DjangoCRM's own settings as shipped, for intake's benchmark P13 (bench/peer.py
writes this file): PostgreSQL on 127.0.0.1, DEBUG off, CONN_MAX_AGE from the environment."""
import os

from webcrm.settings import *  # noqa: F403

DEBUG = False
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ["INTAKE_PEER_DATABASE"],
        "USER": "postgres",
        "HOST": "127.0.0.1",
        "PORT": "5432",
        "CONN_MAX_AGE": int(os.environ["INTAKE_PEER_CONN_MAX_AGE"]),
    }
}
'''


def _run(command: list[str], *, timeout: float = 900, **options) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, **options)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command[:4])} failed: {done.stderr[-2000:]}")
    return done.stdout


def _is_312(python: str) -> bool:
    check = "import sys; sys.exit(sys.version_info[:2] != (3, 12))"
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        return (
            subprocess.run([python, "-c", check], capture_output=True, timeout=30).returncode == 0
        )
    return False


def python312(uv: str) -> str:
    """Python 3.12 for the peer: ``$INTAKE_PEER_PYTHON`` or one on this machine."""
    found = subprocess.run(
        [uv, "python", "find", "--no-python-downloads", "3.12"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    pyenv = glob.glob(str(Path.home() / ".pyenv/versions/3.12*/bin/python3.12"))
    candidates = [
        os.environ.get("INTAKE_PEER_PYTHON"),
        found.stdout.strip() if found.returncode == 0 else None,
        "/usr/bin/python3.12",
        shutil.which("python3.12"),
        *sorted(pyenv, reverse=True),
    ]
    for candidate in filter(None, candidates):
        if _is_312(candidate):
            return candidate
    raise RuntimeError("P13 needs Python 3.12 for the peer: set INTAKE_PEER_PYTHON")


def ensure_env() -> str:
    """The peer's environment, installed or brought up to date (a no-op when it is), and its
    settings module written; a line saying what runs."""
    uv = shutil.which("uv")
    if uv is None:
        raise RuntimeError("P13 installs the peer with uv, which is not on PATH")
    (HOME / "tmp").mkdir(parents=True, exist_ok=True)
    if not PYTHON.exists():
        _run([uv, "venv", "--quiet", "--python", python312(uv), str(PYTHON.parents[1])], cwd=HOME)
    overrides = HOME / "overrides.txt"
    overrides.write_text(OVERRIDES)
    install = [uv, "pip", "install", "--quiet", "--python", str(PYTHON)]
    _run([*install, "--override", str(overrides), *PACKAGES], cwd=HOME)
    (HOME / "intake_peer_settings.py").write_text(SETTINGS)
    versions = _run(
        [
            str(PYTHON),
            "-c",
            "import django, platform; from importlib.metadata import version; "
            "print(version('django-crm-admin'), django.__version__, platform.python_version())",
        ]
    ).split()
    return (
        f"django-crm-admin {versions[0]} (Django {versions[1]}, Python {versions[2]}) "
        f"in {PYTHON.parents[1]}"
    )


def env(conn_max_age: int) -> dict[str, str]:
    """The peer's environment variables: its settings module, database and CONN_MAX_AGE."""
    return {
        "DJANGO_SETTINGS_MODULE": "intake_peer_settings",
        "PYTHONPATH": str(HOME),
        "INTAKE_PEER_DATABASE": DATABASE,
        "INTAKE_PEER_CONN_MAX_AGE": str(conn_max_age),
        "TMPDIR": str(HOME / "tmp"),  # its background threads' single-instance lock files
    }


def fresh_database() -> str:
    """A new ``intake_bench_peer`` set up by the peer's own ``setupdata`` command (migrations and
    fixtures), its public form's lead source given a recipient address (without one, or a user
    in its ``operators`` group, every POST fails with a 500); the database's URL."""
    drop_database(DATABASE)
    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{DATABASE}"')
    _run([str(PYTHON), "-m", "django", "setupdata"], cwd=HOME, env={**os.environ, **env(0)})
    url = database_url(DATABASE)
    with psycopg.connect(url, autocommit=True) as connection:
        updated = connection.execute(
            "UPDATE crm_leadsource SET email = %s WHERE uuid = %s", (RECIPIENT, FORM_UUID)
        ).rowcount
    if updated != 1:
        raise RuntimeError(f"the peer's fixtures have no lead source {FORM_UUID}")
    return url


def posts(label: str) -> Callable[[int], Request]:
    """The peer's public form as a visitor fills it, with a new email and phone each time."""
    numbers, label = itertools.count(), f"{label}.{secrets.token_hex(3)}"

    def build(thread: int) -> Request:
        number = next(numbers)
        fields = {
            "name": "Ada Byron",
            "email": f"{label}.{number}@example.org",
            "subject": "A question about the study",
            "phone": f"+1 202 555 {number % 10000:04d}",
            "company": "Self",
            "message": "",
            "leadsource_token": FORM_UUID,
        }
        body = urllib.parse.urlencode(fields).encode()
        return "POST", FORM_PATH, body, {"Content-Type": "application/x-www-form-urlencoded"}

    return build
