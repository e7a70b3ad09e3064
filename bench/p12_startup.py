"""P12: ``intake serve`` from a synced checkout to the first page answering, against a minimal
Flask server started the same way.

Project: ``uv run intake serve --port P`` as a new user runs it (no DATABASE_URL, REDIS_URL or
secrets in the environment, a fresh temporary instance folder, so the SQLite database, secrets
and admin are created on the way), timed from the launch to the first ``200`` from ``GET
/inquiry`` (polled over loopback) and to the "intake is running" line; then stopped by its pid
(SIGTERM to its process group). A warm restart (the same folder again: migrations already at
head) is timed the same way. Floor: ``uv run gunicorn`` (the same server, two workers) of a
minimal Flask app answering ``/inquiry`` (``bench/minimal_page.py``): the least a Flask page
served from this checkout costs. Rounds alternate floor, project, warm restart. The value is
the median cold start; the target is absolute (QUALITY.md P12: < 8 s), the ratio shows the
machine's load.
"""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.request
from contextlib import suppress

from bench.harness import result
from bench.load import REPO
from tests.live import free_port

TARGET_SECONDS = 8.0
LIMIT_SECONDS = 180.0
# What a new user's shell does not have: the checkout's own defaults apply.
UNSET = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "INTAKE_ENCRYPTION_KEYS", "INTAKE_ENV")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (loopback)
            return response.status == 200
    except OSError:
        return False


def launch(command: list[str], env: dict[str, str], port: int) -> tuple[float, float | None]:
    """Start ``command``; seconds until ``/inquiry`` answers 200 and until the running line
    (None if it never printed one); then stop it by its pid."""
    started = time.monotonic()
    process = subprocess.Popen(  # noqa: S603 (uv and our own arguments)
        command,
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    running: list[float] = []

    def read() -> None:
        for line in process.stdout:
            if "intake is running" in line and not running:
                running.append(time.monotonic() - started)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        while not _answers(f"http://127.0.0.1:{port}/inquiry"):
            if process.poll() is not None or time.monotonic() - started > LIMIT_SECONDS:
                raise RuntimeError(f"{command[2:4]} did not answer (exit {process.poll()})")
            time.sleep(0.05)
        page = time.monotonic() - started
        deadline = time.monotonic() + 10  # the line follows its own probe's answer
        while not running and time.monotonic() < deadline and command[2] == "intake":
            time.sleep(0.05)
        return page, (running[0] if running else None)
    finally:
        with suppress(ProcessLookupError):  # it may have ended on its own
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        reader.join(timeout=5)


def run(args) -> None:
    rounds = 2 if args.quick else 5
    env = {key: value for key, value in os.environ.items() if key not in UNSET}
    floors, colds, runnings, warms = [], [], [], []
    for _ in range(rounds):
        port = free_port()
        floor_command = ["uv", "run", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}"]
        floors.append(launch([*floor_command, "bench.minimal_page:create_app()"], env, port)[0])
        instance = tempfile.mkdtemp(prefix="intake-bench-p12-")
        try:
            serve_env = {**env, "INTAKE_INSTANCE_PATH": instance}
            for cold in (True, False):
                port = free_port()
                command = ["uv", "run", "intake", "serve", "--port", str(port)]
                page, line = launch(command, serve_env, port)
                (colds if cold else warms).append(page)
                if cold:
                    runnings.append(line)
        finally:
            shutil.rmtree(instance, ignore_errors=True)
    value, floor = statistics.median(colds), statistics.median(floors)
    said = [line for line in runnings if line is not None]
    note = (
        f"median of {rounds} cold starts (fresh instance folder: SQLite created and migrated, "
        f"admin made), first 200 from /inquiry; each: {', '.join(f'{s:.1f}' for s in colds)}s; "
        f"'running' printed at {', '.join(f'{s:.1f}' for s in said) or 'never'}s; "
        f"warm restart median {statistics.median(warms):.1f}s; floor: uv run gunicorn -w 2 of a "
        f"one-page Flask app"
    )
    passed = value < TARGET_SECONDS and len(said) == rounds
    result("P12", value, floor, f"<{TARGET_SECONDS:.0f}s", passed, unit="s", note=note)
