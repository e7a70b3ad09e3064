"""One command, nothing else installed: ``intake serve`` runs the web app, a worker and the
scheduler on SQLite with a local broker, and mail lands in the local outbox."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.conftest import DEPLOYMENT_SETTINGS, complete_inquiry
from tests.live import LiveClient, free_port, wait_for

pytestmark = pytest.mark.timeout(240)


def captured(database: str, columns: str = "recipient, subject") -> list[tuple[str, ...]]:
    with sqlite3.connect(database) as connection:
        try:
            return connection.execute(f"SELECT {columns} FROM captured_emails").fetchall()
        except sqlite3.OperationalError:
            return []


def test_serve_alone_confirms_an_inquiry_into_the_local_outbox(tmp_path):
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in DEPLOYMENT_SETTINGS}
    env["INTAKE_INSTANCE_PATH"] = str(tmp_path)
    env["INTAKE_MIN_FILL_SECONDS"] = "0"  # this client types faster than any person
    process = subprocess.Popen(
        [sys.executable, "-m", "intake.cli", "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/readyz", time.monotonic() + 60)
        complete_inquiry(LiveClient(f"http://127.0.0.1:{port}"))

        deadline = time.monotonic() + 90
        while not captured(str(tmp_path / "intake.sqlite3")) and time.monotonic() < deadline:
            time.sleep(0.5)
        mail = captured(str(tmp_path / "intake.sqlite3"))
        bodies = captured(str(tmp_path / "intake.sqlite3"), "text_body")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    assert ("ada.byron@example.org", "We have received your inquiry") in mail
    # With INTAKE_BASE_URL unset, the email's links follow --port.
    assert f"http://127.0.0.1:{port}/unsubscribe/" in bodies[0][0]
    assert (tmp_path / "broker.sqlite3").exists()  # the local broker carried the work
