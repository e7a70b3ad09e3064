"""A PostgreSQL server of the drill's own, so a drill may restart or crash it: ``initdb`` into
a temporary directory, ``pg_ctl`` on a free loopback port, trust authentication. Only this
server is ever signalled (by the pid in its ``postmaster.pid``); the shared one is never touched.

PostgreSQL refuses to run as root, so under root (as in CI) its programs run as the
``postgres`` account the server package creates, in a directory that account owns."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from tests.live import poll
from tests.workers.conftest import free_port


def _bin_dir() -> Path:
    """The newest installed server's programs (Debian puts them out of PATH)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4])
    )
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl is None:
        raise FileNotFoundError("no PostgreSQL server programs (initdb, pg_ctl) found")
    return Path(pg_ctl).parent


class ThrowawayPostgres:
    """``start()``, ``restart()`` (``pg_ctl restart``: fast mode by default), ``crash()`` and
    ``stop()``. ``url`` names a database ``intake`` that ``start()`` creates."""

    def __init__(self) -> None:
        self.bin = _bin_dir()
        self.port = free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="intake-drill-pg-"))
        self.data = self.workdir / "data"
        self.log = self.workdir / "postgres.log"
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/intake"
        self.account = None
        if os.geteuid() == 0:
            self.account = pwd.getpwnam("postgres")
            os.chown(self.workdir, self.account.pw_uid, self.account.pw_gid)

    def _run(self, program: str, *args: str, timeout: float = 60) -> None:
        extra = {"user": self.account.pw_uid, "group": self.account.pw_gid} if self.account else {}
        subprocess.run(
            [str(self.bin / program), *args],
            check=True,
            timeout=timeout,
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            **extra,
        )

    def start(self) -> None:
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
            "--locale=C", "--no-sync", "--no-instructions",
        )  # fmt: skip
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                f"port = {self.port}\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.workdir}'\n"
                "max_connections = 50\n"
                # Crash safety against the operating system failing is not under test here;
                # against the server process dying it is, so commits stay synchronous.
                "fsync = off\n"
                "full_page_writes = off\n"
            )
        self._pg_ctl("start")
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute("CREATE DATABASE intake")

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _pg_ctl(self, action: str, *args: str) -> None:
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", action, *args
        )

    def pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (FileNotFoundError, ValueError):
            return None

    def answers(self) -> bool:
        try:
            with psycopg.connect(self.url, connect_timeout=1) as connection:
                connection.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def restart(self, mode: str = "fast") -> float:
        """``pg_ctl restart -m <mode>``; the seconds until the server answered again."""
        started = time.monotonic()
        self._pg_ctl("restart", "-m", mode)
        poll(self.answers, timeout=60, every=0.05)
        return time.monotonic() - started

    def crash(self, down_for: float = 0.0) -> float:
        """Stop the server in immediate mode (no checkpoint: crash recovery on start), stay
        down ``down_for`` seconds, start again; the seconds until it answered again."""
        started = time.monotonic()
        self._pg_ctl("stop", "-m", "immediate")
        time.sleep(down_for)
        self._pg_ctl("start")
        poll(self.answers, timeout=60, every=0.05)
        return time.monotonic() - started

    def stop(self) -> None:
        """A fast shutdown of this server by its pid (SIGQUIT after 30 s); the files go."""
        pid = self.pid()
        if pid is not None:
            try:
                os.kill(pid, signal.SIGINT)
                if not poll(lambda: not _alive(pid), timeout=30, every=0.1):
                    os.kill(pid, signal.SIGQUIT)
                    poll(lambda: not _alive(pid), timeout=10, every=0.1)
            except ProcessLookupError:
                pass
        shutil.rmtree(self.workdir, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is not alive; our postmaster is pg_ctl's grandchild, so it is never ours to reap.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False
