"""The ``intake`` command: the Flask CLI with this app's commands added.

``intake serve`` is the command a new user runs first, so it starts the web server before it
builds the app itself: this module imports only what starting processes needs (click, Flask,
the supervisor); the models and everything else load inside the commands."""

from __future__ import annotations

import ipaddress
import os
import sys
import time
import urllib.request
from pathlib import Path

import click
from flask import Flask, current_app, has_app_context
from flask.cli import FlaskGroup, with_appcontext

from intake.supervisor import Child, Supervisor

READY_WITHIN = 120.0  # seconds `intake serve` waits for the first page before it warns


def main() -> None:
    """Entry point of the ``intake`` console script."""
    if sys.argv[1:2] == ["serve"]:  # straight to it: the web server starts before the app loads
        serve.main(sys.argv[2:], prog_name="intake serve")
    from intake import create_app

    FlaskGroup(create_app=lambda: create_app(), help="intake: patient inquiries and leads.")(
        prog_name="intake"
    )


def register(app: Flask) -> None:
    from intake.commands import audit, create_admin, crypto, fhir

    for command in (serve, worker, beat, create_admin, crypto, fhir, audit):
        app.cli.add_command(command)


def _create_first_admin() -> None:
    """On first run, an admin account with a one-time password, printed once."""
    from intake.accounts.staff import create_staff_user, has_staff
    from intake.extensions import db
    from intake.models.types import utcnow

    if has_staff():
        return
    email = current_app.config["INTAKE_FIRST_ADMIN_EMAIL"]
    user, password = create_staff_user(
        email=email, name="Administrator", role="admin", now=utcnow()
    )
    db.session.commit()
    click.secho("First run: an admin account was created.", fg="green", bold=True)
    click.echo(f"  sign-in email:      {user.email}")
    click.echo(f"  one-time password:  {password}   (shown once; change it at first sign-in)")


def _celery_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "workers.app", *args]


def worker_command(concurrency: int) -> list[str]:
    return _celery_command(
        "worker",
        "--loglevel=INFO",
        f"--concurrency={concurrency}",
        "--queues=default,email,routing,periodic",
        "--without-gossip",
        "--without-mingle",
    )


def beat_command(instance_path: str) -> list[str]:
    schedule = os.path.join(instance_path, "celerybeat-schedule")
    return _celery_command("beat", "--loglevel=INFO", f"--schedule={schedule}")


def local_url(host: str, port: int) -> str:
    """The address of a server bound to ``host``: one listening everywhere is reached at
    127.0.0.1 from this machine."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:  # a name, such as localhost
        return f"http://{host}:{port}"
    if address.is_unspecified:
        return f"http://127.0.0.1:{port}"
    return f"http://[{host}]:{port}" if address.version == 6 else f"http://{host}:{port}"


def page_answers(url: str, *, timeout: float = 2.0) -> bool:
    """Whether ``url`` (our own server, over loopback) answers 200 now."""
    try:
        # bandit B310: an http URL built by `intake serve` from its own host and port.
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310  # nosec B310
            return response.status == 200
    except OSError:  # refused while the workers start, reset, timed out, an HTTP error
        return False


def _announce(base_url: str, broker: str) -> None:
    click.secho(f"intake is running: {base_url}/inquiry  (Ctrl+C to stop)", bold=True)
    click.echo(f"  staff sign in at {base_url}/staff/")
    click.echo(f"  web, a worker and the scheduler, on {broker}")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="web processes")
@click.option("--demo", is_flag=True, help="add a sample month of leads (once)")
def serve(host: str, port: int, workers: int, demo: bool) -> None:
    """Run everything on this machine: the web app, a worker and the scheduler."""
    app = current_app._get_current_object() if has_app_context() else None  # type: ignore[attr-defined]
    instance_path = app.instance_path if app else _instance_path()
    os.makedirs(instance_path, exist_ok=True)
    # Links in pages and emails follow --port unless INTAKE_BASE_URL says otherwise.
    base_url = (os.environ.get("INTAKE_BASE_URL", "").strip() or local_url(host, port)).rstrip("/")
    first_page = local_url(host, port) + "/inquiry"
    ready_file = os.path.join(instance_path, f".database-ready-{os.getpid()}")
    # Running means the first page answers (the answer also warms it). The worker and the
    # scheduler start after that, so they do not slow the web workers' start on a small machine.
    supervisor = Supervisor(
        [
            Child("web", _web_command(host, port, workers), restart=False),
            Child("worker", worker_command(2), restart=True, after_ready=True),
            Child("beat", beat_command(instance_path), restart=True, after_ready=True),
        ],
        {**_child_env(instance_path, base_url), "INTAKE_SERVE_READY_FILE": ready_file},
        poll=0.1,
        # A long timeout: a connection accepted while the workers load waits in the queue.
        probe=lambda: page_answers(first_page, timeout=30.0),
        on_ready=lambda: _announce(base_url, broker),
        on_timeout=lambda: click.secho(
            f"{first_page} has not answered within {READY_WITHIN:.0f} s; see the log above.",
            fg="yellow",
        ),
        ready_within=READY_WITHIN,
    )
    # The web server loads the app while this process loads it too and makes the database
    # ready; it opens its port once told the database is (intake.api.gunicorn_conf).
    supervisor.start(time.monotonic())
    try:
        if app is None:
            from intake import create_app

            app = create_app()
        broker = "Redis" if app.config.get("REDIS_URL") else "a local broker (no Redis needed)"
        with app.app_context():
            _prepare_database(demo)
    except BaseException:
        supervisor.stop()
        raise
    Path(ready_file).touch()
    try:
        code = supervisor.run()  # stops every child however it ends
    finally:
        Path(ready_file).unlink(missing_ok=True)
    if code > 0:
        sys.exit(code)


def _instance_path() -> str:
    """The instance folder the app will use, known before the app is built (as ``create_app``
    chooses it, for the same package)."""
    from intake import chosen_instance_path

    return Flask("intake", instance_path=chosen_instance_path()).instance_path


def _prepare_database(demo: bool) -> None:
    """Migrations, the first admin, default routing and, if asked, the sample leads."""
    from flask_migrate import upgrade

    from intake.demo.seed import add_demo_leads
    from intake.extensions import db
    from intake.models.types import utcnow
    from intake.routing.service import ensure_default_routing

    upgrade()
    _create_first_admin()
    ensure_default_routing(now=utcnow())
    db.session.commit()
    if demo:
        click.echo(f"Added {add_demo_leads(now=utcnow())} sample leads.")
        db.session.commit()
    db.engine.dispose()  # the children open their own connections


def _web_command(host: str, port: int, workers: int) -> list[str]:
    """gunicorn for the app with the Dockerfile's settings (its config preloads the app: one
    import, then forked; nothing in create_app opens a connection or starts a thread, and jobs'
    nudge thread starts per process)."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        "python:intake.api.gunicorn_conf",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--threads",
        "4",
        "intake.wsgi:app",
    ]


def _child_env(instance_path: str, base_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "INTAKE_INSTANCE_PATH": instance_path,
        "INTAKE_BASE_URL": base_url,
        # The web processes add up their request metrics through files here (README: Metrics).
        "PROMETHEUS_MULTIPROC_DIR": os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        or os.path.join(instance_path, "metrics"),
    }


@click.command("worker")
@click.option("--concurrency", default=4, show_default=True, type=int)
def worker(concurrency: int) -> None:
    """Run a Celery worker (production: as many as the load needs)."""
    # bandit B606: this interpreter with a fixed argument list; no shell, no outside input.
    os.execvp(sys.executable, worker_command(concurrency))  # noqa: S606  # nosec B606


@click.command("beat")
@with_appcontext
def beat() -> None:
    """Run the scheduler (production: exactly one)."""
    # bandit B606: this interpreter with a fixed argument list; no shell, no outside input.
    os.execvp(sys.executable, beat_command(current_app.instance_path))  # noqa: S606  # nosec B606


if __name__ == "__main__":
    main()
